import type { RegisterBlockSpec } from '../models/model.js';
import { mergeRegisterBytes, registerBytes, type BusTarget } from './bus.js';

/**
 * A block of 32-bit registers without behaviour of its own yet: it keeps what is written and
 * returns it on reads, starting from the model's reset values. The bus logs every access.
 */
export class RegisterBlock implements BusTarget {
  readonly name: string;
  readonly size: number;
  private readonly words: Uint32Array;

  constructor(private readonly spec: RegisterBlockSpec) {
    this.name = spec.name;
    this.size = spec.size;
    this.words = new Uint32Array(spec.size / 4);
    this.reset();
  }

  reset(): void {
    this.words.fill(0);
    for (const [offset, value] of Object.entries(this.spec.resetValues ?? {})) this.words[Number(offset) / 4] = value;
  }

  read(offset: number, size: number): number {
    return registerBytes(this.words[offset >>> 2]!, offset, size);
  }

  write(offset: number, size: number, value: number): void {
    this.words[offset >>> 2] = mergeRegisterBytes(this.words[offset >>> 2]!, offset, size, value);
  }

  snapshot(): number[] {
    return Array.from(this.words);
  }

  restore(words: unknown): void {
    this.words.set(words as number[]);
  }
}
