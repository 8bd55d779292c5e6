import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The exports of assembly/index.ts (see build/myriad.d.ts). */
export interface WasmExports {
  isZero(ptr: number, length: number): number;
  firstNonZeroPage(start: number, count: number, pageSize: number): number;
}

let compiled: WebAssembly.Module | undefined;

/** The package root: the nearest folder above this file with build/myriad.wasm in it. */
function wasmPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'build', 'myriad.wasm');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('build/myriad.wasm not found: run `npm run build` first');
    dir = parent;
  }
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
