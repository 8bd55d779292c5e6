// The WebAssembly side of the emulator. It imports the machine's one memory (CMX and DDR live
// in it, see emu/memory/shared-memory.ts), so code here touches the same bytes the LEON sees.
// The SHAVE cores will run here; for now it holds the memory scans that snapshots use and the
// SHAVE f16 arithmetic.

/** True when `length` bytes from `ptr` are all zero. 64 bytes per step with SIMD. */
export function isZero(ptr: usize, length: usize): bool {
  let p = ptr;
  const end = ptr + length;
  while (p + 64 <= end) {
    const a = v128.or(v128.load(p), v128.load(p, 16));
    const b = v128.or(v128.load(p, 32), v128.load(p, 48));
    if (v128.any_true(v128.or(a, b))) return false;
    p += 64;
  }
  while (p < end) {
    if (load<u8>(p) != 0) return false;
    p++;
  }
  return true;
}

/**
 * Index of the first page of `pageSize` bytes in [start, start + count * pageSize) that is
 * not all zero, or `count` when all are zero.
 */
export function firstNonZeroPage(start: usize, count: u32, pageSize: usize): u32 {
  for (let i: u32 = 0; i < count; i++) {
    if (!isZero(start + <usize>i * pageSize, pageSize)) return i;
  }
  return count;
}

// SHAVE f16 lane arithmetic (software binary16), exported for its exhaustive tests.
export { f16ToF32, f32ToF16, f64ToF16, f16Add, f16Sub, f16Mul, f16Div, f16Sqrt, f16Rcp, f16Rsqrt, f16Exp, f16Log, f16Sin, f16Cos } from './shave/f16';

// The SHAVE cores (emu/shave/cluster.ts drives them).
export * from './shave/core';
