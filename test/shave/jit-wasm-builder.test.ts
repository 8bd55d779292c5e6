import binaryen from 'binaryen';
import { describe, expect, it } from 'vitest';
import { buildModule, FunctionCode, I32, SIMD, V128, type SimdOp } from '../../emu/shave/jit/wasm-builder.js';

/** How many v128 and i32 operands each SIMD operation takes, and what it leaves. */
function shape(name: SimdOp): { v: number; i: number; result: typeof I32 | typeof V128; lane?: boolean } | null {
  if (/load|store|const|shuffle/.test(name)) return null;
  if (name.endsWith('splat')) return { v: 0, i: 1, result: V128 };
  if (name.includes('extract_lane')) return { v: 1, i: 0, result: I32, lane: true };
  if (name === 'v128.bitselect') return { v: 3, i: 0, result: V128 };
  if (/\.(shl|shr_s|shr_u)$/.test(name)) return { v: 1, i: 1, result: V128 };
  if (/not|abs|neg|extend|trunc|convert/.test(name)) return { v: 1, i: 0, result: V128 };
  return { v: 2, i: 0, result: V128 };
}

describe('the loop compiler\'s WebAssembly builder', () => {
  it('encodes every SIMD operation it names as binaryen reads it back', () => {
    for (const name of Object.keys(SIMD) as SimdOp[]) {
      const s = shape(name);
      if (!s) continue;
      const code = new FunctionCode([V128, V128, V128, I32]);
      for (let n = 0; n < s.v; n++) code.get(n);
      if (s.i) code.get(3);
      code.simd(name);
      if (s.lane) code.lanes(1);
      if (s.result === I32) code.op('drop').get(0);
      const bytes = buildModule(code, [V128], 1);
      const module = binaryen.readBinary(bytes);
      const text = module.emitText();
      module.dispose();
      expect(text, name).toContain(`(${name}`);
    }
  });

  it('builds a module that runs on a shared memory', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    const code = new FunctionCode([I32]);
    const t = code.local(I32);
    code.get(0).memory('i32.load', 8).i32(-5).op('i32.add').set(t);
    code.get(0).get(t).memory('i32.store', 12).get(t);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(buildModule(code, [I32], 4)), { env: { memory } });
    new DataView(memory.buffer).setInt32(108, 1000, true);
    expect((instance.exports.run as (base: number) => number)(100)).toBe(995);
    expect(new DataView(memory.buffer).getInt32(112, true)).toBe(995);
  });
});
