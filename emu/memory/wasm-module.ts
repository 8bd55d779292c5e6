import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

/** The exports of assembly/index.ts (see build/myriad.d.ts). */
export interface WasmExports {
  isZero(ptr: number, length: number): number;
  firstNonZeroPage(start: number, count: number, pageSize: number): number;
  /** binary16 (as the low 16 bits of a u32) to f32, exactly. */
  f16ToF32(h: number): number;
  /** f32 to binary16, round to nearest even. */
  f32ToF16(value: number): number;
  f16Add(a: number, b: number): number;
  f16Sub(a: number, b: number): number;
  f16Mul(a: number, b: number): number;
  f16Div(a: number, b: number): number;
  f16Sqrt(a: number): number;
  /** f64 to binary16 in one rounding. */
  f64ToF16(value: number): number;
  f16Rcp(a: number): number;
  f16Rsqrt(a: number): number;
  f16Exp(a: number): number;
  f16Log(a: number): number;
  f16Sin(a: number): number;
  f16Cos(a: number): number;
  // The SHAVE cores (assembly/shave/core.ts; emu/shave/cores.ts wraps them). Layout constants
  // are exported as WebAssembly globals besides these.
  shaveConfigure(cmxBus: number, cmxAlias: number, cmxOffset: number, cmxSize: number, ddrBus: number, ddrAlias: number, ddrOffset: number, ddrSize: number): void;
  shaveRun(core: number, budget: number): number;
  shaveReset(core: number): void;
  shaveStart(core: number, pc: number): void;
  shaveStop(core: number): void;
  shaveFault(core: number, cause: number, address: number): void;
  shaveTranslate(core: number, address: number, size: number): number;
  shaveDefine(core: number, pc: number, slots: number, cycles: number, next: number, peu: number, units: number): void;
  shaveFoldCounters(core: number): void;
  shaveDefineSlot(core: number, pc: number, index: number, op: number, a: number, b: number, c: number, unit: number, latency: number, imm: number, direct: number): void;
  shaveLoopCompiler(enabled: number): void;
}

let compiled: WebAssembly.Module | undefined;

function wasmPath(): string {
  const path = join(packageRoot(), 'build', 'myriad.wasm');
  if (!existsSync(path)) throw new Error(`${path} not found: run \`npm run build\` first`);
  return path;
}

/** Instantiates the AssemblyScript module on a machine's memory. Compiled once per process. */
export function instantiateWasm(memory: WebAssembly.Memory): WasmExports {
  compiled ??= new WebAssembly.Module(readFileSync(wasmPath()));
  const instance = new WebAssembly.Instance(compiled, {
    env: {
      memory,
      abort(_message: number, _file: number, line: number, column: number): never {
        throw new Error(`assembly aborted at ${line}:${column}`);
      },
    },
  });
  return instance.exports as unknown as WasmExports;
}
