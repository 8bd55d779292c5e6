import { mergeRegisterBytes, registerBytes } from '../bus/bus.js';
import type { SocContext, SocDevice } from './device.js';

/**
 * The CPR's fuse-read port, as Luxonis' MX-ID reader drives it (myriad-facts.md section 2).
 * The offsets and the protocol are public; what the port does between them is the emulator's
 * design (docs/soc-devices.md).
 */
export const FUSE = {
  /** Bits 0-1: the port's enable; 0 ends a session. */
  ENABLE: 0x164,
  /** A write starts a command. */
  COMMAND: 0x168,
  /** Read-only: bits 0-1 busy while a command runs (the enabled bits). */
  STATUS: 0x16c,
  /** Read-only: the word a read command fetched. */
  DATA: 0x170,
} as const;

/** Commands 8, 9 and 0xA read words 0, 1 and 2 of the fuses' 72-bit id; others fetch nothing. */
export const FUSE_READ_FIRST = 0x8;

/** How long the port is busy after a command or after it is enabled (the emulator's choice). */
export const FUSE_BUSY_NS = 1000;

const ENABLE_BITS = 3;

/**
 * The 72-bit id in the fuses of a stick with this chip id: the chip id's eight bytes, most
 * significant first, then a check byte (the XOR of the eight). Word n of the port is bytes 4n to
 * 4n + 3 of it, little-endian, so that a reader storing the words in memory has the bytes in
 * this order. The mapping is the emulator's: the real fuse layout is not public.
 */
export function fuseId(chipId: bigint): Uint8Array {
  if (chipId < 0n || chipId >= 1n << 64n) throw new RangeError(`chip id 0x${chipId.toString(16)} is not 64 bits`);
  const id = new Uint8Array(9);
  for (let i = 0; i < 8; i++) {
    id[i] = Number((chipId >> BigInt(56 - 8 * i)) & 0xffn);
    id[8]! ^= id[i]!;
  }
  return id;
}

/**
 * The MX ID host libraries print (Luxonis, DepthAI): the nine fuse bytes in order as 18
 * upper-case hex digits, the low nibble of the last one cleared ("as in MDK").
 */
export function mxId(chipId: bigint): string {
  const id = fuseId(chipId);
  id[8]! &= 0xf0;
  return Buffer.from(id).toString('hex').toUpperCase();
}

interface CprState {
  readonly words: number[];
  readonly busyUntil: number;
}

/**
 * Clock and power reset: the fuse-read port at +0x164..+0x170, where the stick's id is read;
 * other registers keep what is written (their clock and power semantics are not public and not
 * modelled).
 *
 * The port is busy for FUSE_BUSY_NS of virtual time after it is enabled and after each
 * command; a read command's word is on DATA once the port is no longer busy. Busy is a
 * function of the virtual time only, so a replay sees the same.
 */
export class Cpr implements SocDevice {
  private readonly words: Uint32Array;
  /** Port words 0..2 (commands 8, 9, 0xA): fixed by the chip id. */
  private readonly fuseWords: Uint32Array;
  private busyUntil = 0;

  constructor(
    readonly name: string,
    readonly size: number,
    private readonly ctx: SocContext,
  ) {
    this.words = new Uint32Array(size / 4);
    const id = fuseId(ctx.chipId);
    const padded = new Uint8Array(12);
    padded.set(id);
    const view = new DataView(padded.buffer);
    this.fuseWords = Uint32Array.of(view.getUint32(0, true), view.getUint32(4, true), view.getUint32(8, true));
  }

  private get enabled(): number {
    return this.words[FUSE.ENABLE >>> 2]! & ENABLE_BITS;
  }

  private busy(): boolean {
    return this.ctx.scheduler.now < this.busyUntil;
  }

  read(offset: number, size: number): number {
    const register = offset & ~3;
    let word: number;
    if (register === FUSE.STATUS) word = this.busy() ? this.enabled : 0;
    else if (register === FUSE.DATA) word = this.data();
    else word = this.words[offset >>> 2]!;
    return registerBytes(word, offset, size);
  }

  /** What DATA reads: the word of a finished read command while the port is enabled, else 0. */
  private data(): number {
    if (!this.enabled || this.busy()) return 0;
    const index = this.words[FUSE.COMMAND >>> 2]! - FUSE_READ_FIRST;
    return index >= 0 && index < this.fuseWords.length ? this.fuseWords[index]! : 0;
  }

  write(offset: number, size: number, value: number): void {
    const register = offset & ~3;
    if (register === FUSE.STATUS || register === FUSE.DATA) return; // read-only
    const index = offset >>> 2;
    const word = mergeRegisterBytes(this.words[index]!, offset, size, value);
    if (register === FUSE.ENABLE) {
      this.words[index] = word & ENABLE_BITS;
      // Enabling powers the port up (busy); disabling ends the session and forgets its command.
      if (this.enabled) this.busyUntil = this.ctx.scheduler.now + FUSE_BUSY_NS;
      else {
        this.busyUntil = 0;
        this.words[FUSE.COMMAND >>> 2] = 0;
      }
      return;
    }
    if (register === FUSE.COMMAND) {
      if (!this.enabled) return; // a port that is off takes no commands
      this.busyUntil = this.ctx.scheduler.now + FUSE_BUSY_NS;
    }
    this.words[index] = word;
  }

  reset(): void {
    this.words.fill(0);
    this.busyUntil = 0;
  }

  snapshot(): CprState {
    return { words: Array.from(this.words), busyUntil: this.busyUntil };
  }

  restore(snapshot: unknown): void {
    // Snapshots from before the port was modelled are the bare words.
    const state = Array.isArray(snapshot) ? { words: snapshot as number[], busyUntil: 0 } : (snapshot as CprState);
    this.words.set(state.words);
    this.busyUntil = state.busyUntil;
  }
}
