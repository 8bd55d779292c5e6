/**
 * One kernel on one SHAVE, without a LEON: what `myriad-emu shave run` and the kernel tests
 * use. The program's code and data are copied in through the core's windows, registers are
 * set, and the core runs until `swih`, an exception, or the cycle budget.
 */
import { SharedMemory } from '../memory/shared-memory.js';
import type { ChipModel } from '../models/model.js';
import type { Program } from './assembler.js';
import { ShaveCores, type CoreCounters, type RunResult } from './cores.js';

export const CMX_SLICE = 128 * 1024;

/**
 * Where the windows of core n point when nothing else says: A at the core's own CMX slice,
 * B (where code runs) 64 KB into it, C and D at the start of DDR and 16 MB into it.
 */
function defaultWindows(model: ChipModel, core: number): number[] {
  const cmx = model.memory.find((m) => m.name === 'cmx')!.base;
  const ddr = model.memory.find((m) => m.name === 'ddr')!.base;
  const slice = cmx + core * CMX_SLICE;
  return [slice, slice + CMX_SLICE / 2, ddr, ddr + 0x100_0000];
}

export class AddressError extends Error {}

/** A machine's memory and its SHAVEs, for running kernels directly. */
export class KernelBench {
  readonly memory: SharedMemory;
  readonly cores: ShaveCores;

  constructor(readonly model: ChipModel) {
    this.memory = new SharedMemory(model.memory);
    this.cores = new ShaveCores(this.memory, model.shave.count);
    for (let core = 0; core < this.cores.count; core++) this.resetCore(core);
  }

  /** A core back to power-on, with the default windows. */
  resetCore(core: number): void {
    this.cores.reset(core);
    defaultWindows(this.model, core).forEach((address, n) => this.cores.setWindow(core, n, address));
  }

  /** The memory offset of `length` bytes at `address` as `core` sees it (committing DDR). */
  private offsetOf(core: number, address: number, length: number): number {
    const wasm = this.memory.wasmExports;
    const translate = (at: number) => {
      const offset = wasm.shaveTranslate(core, at >>> 0, 1);
      if (offset > -2) return offset;
      this.memory.commit(-2 - offset, 1);
      return -2 - offset;
    };
    const first = translate(address);
    const last = length > 0 ? translate(address + length - 1) : first;
    if (first < 0 || last < 0 || last - first !== Math.max(0, length - 1)) {
      throw new AddressError(`0x${(address >>> 0).toString(16)}+${length} is not one stretch of RAM for SHAVE ${core}`);
    }
    return first;
  }

  write(core: number, address: number, bytes: Uint8Array): void {
    const offset = this.offsetOf(core, address, bytes.length); // may grow the memory: views after
    this.memory.bytes.set(bytes, offset);
  }

  read(core: number, address: number, length: number): Uint8Array {
    const offset = this.offsetOf(core, address, length);
    return this.memory.bytes.slice(offset, offset + length);
  }

  load(core: number, program: Program): void {
    this.write(core, program.codeBase, program.code);
    this.write(core, program.dataBase, program.data);
  }

  /** Starts `core` at the program's first bundle and runs it for up to `cycles`. */
  run(core: number, program: Program, cycles: number): { result: RunResult; counters: CoreCounters } {
    this.cores.start(core, program.codeBase);
    const result = this.cores.run(core, cycles);
    return { result, counters: this.cores.counters(core) };
  }
}
