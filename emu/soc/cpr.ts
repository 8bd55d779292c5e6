import { mergeRegisterBytes, registerBytes } from '../bus/bus.js';
import type { SocContext, SocDevice } from './device.js';

/** The chip-id registers host tools read (Luxonis reads them through a ROM call). */
export const CHIP_ID_LOW = 0x164;
export const CHIP_ID_HIGH = 0x16c;

/**
 * Clock and power reset: the chip id (read-only, per stick, stable), other registers keep what is
 * written. Their clock and power semantics are not public and not modelled.
 */
export class Cpr implements SocDevice {
  private readonly words: Uint32Array;

  constructor(
    readonly name: string,
    readonly size: number,
    private readonly ctx: SocContext,
  ) {
    this.words = new Uint32Array(size / 4);
  }

  read(offset: number, size: number): number {
    let word: number;
    if ((offset & ~3) === CHIP_ID_LOW) word = Number(this.ctx.chipId & 0xffffffffn);
    else if ((offset & ~3) === CHIP_ID_HIGH) word = Number(this.ctx.chipId >> 32n);
    else word = this.words[offset >>> 2]!;
    return registerBytes(word, offset, size);
  }

  write(offset: number, size: number, value: number): void {
    if ((offset & ~3) === CHIP_ID_LOW || (offset & ~3) === CHIP_ID_HIGH) return; // fuses
    this.words[offset >>> 2] = mergeRegisterBytes(this.words[offset >>> 2]!, offset, size, value);
  }

  reset(): void {
    this.words.fill(0);
  }

  snapshot(): number[] {
    return Array.from(this.words);
  }

  restore(snapshot: unknown): void {
    this.words.set(snapshot as number[]);
  }
}
