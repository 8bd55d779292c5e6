import type { MemorySpec } from '../models/model.js';
import { instantiateWasm, type WasmExports } from './wasm-module.js';

export const WASM_PAGE = 64 * 1024;
/** The start of the WebAssembly memory belongs to the AssemblyScript module (SHAVE state). */
export const RESERVED_BYTES = 16 * 1024 * 1024;
/** DDR is committed in steps of this size, on the first write that needs it. */
export const DDR_COMMIT_STEP = 16 * 1024 * 1024;
/** Granularity of memory snapshots. */
export const SNAPSHOT_PAGE = 4096;

/** A RAM placed in the WebAssembly memory. */
export interface RamRegion {
  readonly name: string;
  /** Bus address of the first byte. */
  readonly base: number;
  readonly size: number;
  /** Byte offset inside the WebAssembly memory. */
  readonly offset: number;
  readonly aliases: readonly number[];
  /** Committed lazily: bytes beyond `committedEnd` read as zero until written. */
  readonly lazy: boolean;
}

export interface MemorySnapshot {
  /** Non-zero pages: offset in the WebAssembly memory and the bytes. */
  readonly pages: readonly { readonly offset: number; readonly bytes: Uint8Array }[];
}

/**
 * CMX and DDR of one stick, in one WebAssembly.Memory that the WASM side (SHAVE) and the
 * TypeScript side (LEON, ROM, host) share. Layout: [reserved | CMX | DDR]; DDR grows on
 * demand so an idle stick does not cost 512 MB.
 */
export class SharedMemory {
  readonly wasm: WebAssembly.Memory;
  readonly regions: readonly RamRegion[];
  /**
   * Views of the whole current buffer, replaced when the memory grows. Views made earlier stay
   * valid for the bytes they cover (the memory is shared), but do not reach new DDR.
   */
  bytes: Uint8Array;
  view: DataView;
  /** The AssemblyScript module instantiated on this memory (memory scans, the SHAVE cores). */
  readonly wasmExports: WasmExports;

  constructor(specs: readonly MemorySpec[]) {
    let offset = RESERVED_BYTES;
    const regions: RamRegion[] = [];
    for (const spec of specs) {
      regions.push({ name: spec.name, base: spec.base, size: spec.size, offset, aliases: spec.aliases, lazy: spec.name === 'ddr' });
      offset += roundUp(spec.size, WASM_PAGE);
    }
    this.regions = regions;
    const eager = regions.filter((r) => !r.lazy).reduce((end, r) => Math.max(end, r.offset + roundUp(r.size, WASM_PAGE)), RESERVED_BYTES);
    // Shared, so that growing DDR does not detach the views cores hold on CMX.
    this.wasm = new WebAssembly.Memory({ initial: eager / WASM_PAGE, maximum: offset / WASM_PAGE, shared: true });
    this.bytes = new Uint8Array(this.wasm.buffer);
    this.view = new DataView(this.wasm.buffer);
    this.wasmExports = instantiateWasm(this.wasm);
  }

  /** Bytes of the WebAssembly memory that exist now. */
  get committedEnd(): number {
    return this.bytes.byteLength;
  }

  /**
   * Makes [offset, offset + length) of the WebAssembly memory exist, growing it in
   * DDR_COMMIT_STEP steps. Returns false when that is beyond the memory's maximum.
   */
  commit(offset: number, length: number): boolean {
    const end = offset + length;
    if (end <= this.bytes.byteLength) return true;
    const maximum = this.regions.reduce((m, r) => Math.max(m, r.offset + roundUp(r.size, WASM_PAGE)), RESERVED_BYTES);
    if (end > maximum) return false;
    const target = Math.min(maximum, roundUp(end, DDR_COMMIT_STEP));
    this.wasm.grow((target - this.bytes.byteLength) / WASM_PAGE);
    this.bytes = new Uint8Array(this.wasm.buffer);
    this.view = new DataView(this.wasm.buffer);
    return true;
  }

  /** Copies bytes out; the uncommitted part of a lazy region reads as zero. */
  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    const available = Math.max(0, Math.min(length, this.bytes.byteLength - offset));
    if (available > 0) out.set(this.bytes.subarray(offset, offset + available));
    return out;
  }

  /** Every byte of every region back to zero (power-on state). */
  clear(): void {
    for (const region of this.regions) {
      const end = Math.min(region.offset + region.size, this.bytes.byteLength);
      if (end > region.offset) this.bytes.fill(0, region.offset, end);
    }
  }

  snapshot(): MemorySnapshot {
    const pages: { offset: number; bytes: Uint8Array }[] = [];
    for (const region of this.regions) {
      const end = Math.min(region.offset + region.size, this.bytes.byteLength);
      let page = region.offset;
      while (page < end) {
        const count = Math.floor((end - page) / SNAPSHOT_PAGE);
        if (count === 0) break;
        const skip = this.wasmExports.firstNonZeroPage(page, count, SNAPSHOT_PAGE);
        page += skip * SNAPSHOT_PAGE;
        if (skip === count) break;
        pages.push({ offset: page, bytes: this.bytes.slice(page, page + SNAPSHOT_PAGE) });
        page += SNAPSHOT_PAGE;
      }
    }
    return { pages };
  }

  restore(snapshot: MemorySnapshot): void {
    this.clear();
    for (const page of snapshot.pages) {
      if (!this.commit(page.offset, page.bytes.length)) throw new RangeError(`snapshot page at ${page.offset} lies outside this memory`);
      this.bytes.set(page.bytes, page.offset);
    }
  }
}

function roundUp(value: number, step: number): number {
  return Math.ceil(value / step) * step;
}
