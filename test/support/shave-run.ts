/** Runs SHAVE source on core 0 of a bare machine (no LEON) for the semantics and kernel tests. */
import { assemble, type Program } from '../../emu/shave/assembler.js';
import type { RunResult, CoreCounters } from '../../emu/shave/cores.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { ma2450 } from '../../emu/models/ma2450.js';
import type { ChipModel } from '../../emu/models/model.js';

export interface ShaveSetup {
  readonly model?: ChipModel;
  readonly core?: number;
  readonly cycles?: number;
  readonly irf?: Readonly<Record<number, number>>;
  readonly srf?: Readonly<Record<number, number>>;
  /** VRF registers as 16 bytes each. */
  readonly vrf?: Readonly<Record<number, Uint8Array>>;
  /** Bytes to place before the run, by address as the core sees it. */
  readonly memory?: readonly { readonly address: number; readonly bytes: Uint8Array }[];
}

export interface ShaveOutcome {
  readonly bench: KernelBench;
  readonly program: Program;
  readonly result: RunResult;
  readonly counters: CoreCounters;
  i(n: number): number;
  s(n: number): number;
  v(n: number): Uint8Array;
  /** Bytes as the core sees them (window addresses work). */
  read(address: number, length: number): Uint8Array;
  label(name: string): number;
}

let shared: { model: ChipModel; bench: KernelBench } | null = null;

/** One bench per model, reused: a machine's memory is 35 MB, and tests run hundreds of kernels. */
function benchFor(model: ChipModel): KernelBench {
  if (shared?.model !== model) shared = { model, bench: new KernelBench(model) };
  return shared.bench;
}

export function runShave(source: string, setup: ShaveSetup = {}): ShaveOutcome {
  const model = setup.model ?? ma2450;
  const core = setup.core ?? 0;
  const bench = benchFor(model);
  bench.memory.clear();
  const cores = bench.cores;
  bench.resetCore(core);
  const program = assemble(source);
  bench.load(core, program);
  for (const { address, bytes } of setup.memory ?? []) bench.write(core, address, bytes);
  for (const [n, value] of Object.entries(setup.irf ?? {})) cores.setIrf(core, Number(n), value);
  for (const [n, value] of Object.entries(setup.srf ?? {})) cores.setSrf(core, Number(n), value);
  for (const [n, bytes] of Object.entries(setup.vrf ?? {})) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, 16);
    for (let w = 0; w < 4; w++) cores.setVrfWord(core, Number(n), w, view.getUint32(4 * w, true));
  }
  const { result, counters } = bench.run(core, program, setup.cycles ?? 100_000);
  return {
    bench,
    program,
    result,
    counters,
    i: (n) => cores.irf(core, n),
    s: (n) => cores.srf(core, n),
    v: (n) => cores.vrf(core, n),
    read: (address, length) => bench.read(core, address, length),
    label: (name) => program.labels.get(name)!,
  };
}

export const u32s = (...words: number[]) => new Uint8Array(new Uint32Array(words.map((w) => w >>> 0)).buffer);
export const u16s = (...halves: number[]) => new Uint8Array(new Uint16Array(halves.map((h) => h & 0xffff)).buffer);
export const u8s = (...bytes: number[]) => new Uint8Array(bytes.map((b) => b & 0xff));
export const f32s = (...values: number[]) => new Uint8Array(new Float32Array(values).buffer);
export const words = (bytes: Uint8Array) => Array.from(new Uint32Array(bytes.slice().buffer));
export const halves = (bytes: Uint8Array) => Array.from(new Uint16Array(bytes.slice().buffer));
export const signedBytes = (bytes: Uint8Array) => Array.from(new Int8Array(bytes.slice().buffer));
