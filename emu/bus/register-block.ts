import type { RegisterBlockSpec } from '../models/model.js';
import type { BusTarget } from './bus.js';

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
    const word = this.words[offset >>> 2]!;
    if (size === 4) return word;
    const shift = (offset & 3) * 8; // little-endian byte lanes
    return (word >>> shift) & (size === 2 ? 0xffff : 0xff);
  }

  write(offset: number, size: number, value: number): void {
    const index = offset >>> 2;
    if (size === 4) {
      this.words[index] = value;
      return;
    }
    const shift = (offset & 3) * 8;
    const mask = (size === 2 ? 0xffff : 0xff) << shift;
    this.words[index] = (this.words[index]! & ~mask) | ((value << shift) & mask);
  }

  snapshot(): number[] {
    return Array.from(this.words);
  }

  restore(words: unknown): void {
    this.words.set(words as number[]);
  }
}
