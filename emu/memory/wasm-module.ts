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
