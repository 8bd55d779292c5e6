/**
 * The SHAVE kernels in firmware-stubs/shave/, each run on the emulated core and checked against
 * a TypeScript reference: bit-exact for integers, and for f16 bit-exact against a reference
 * that rounds at the same points (f16Value / nearestF16 compute by the definition).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { xorshift32 } from '../support/random.js';
import { packageRoot } from '../../emu/package-root.js';
import { f16Value, nearestF16 } from '../support/f16-reference.js';
import { halves, runShave, u16s, u32s, words } from '../support/shave-run.js';

const kernel = (name: string) => readFileSync(join(packageRoot(), 'firmware-stubs', 'shave', `${name}.s`), 'utf8');

/** Data lives in window A (the core's CMX slice) at these offsets. */
const A = 0x1c00_0000;
const B = 0x1c00_4000;
const C = 0x1c00_8000;
const D = 0x1c00_c000;

const rand32 = xorshift32(2024);
const random = () => rand32() / 2 ** 32;
/** f16 values spread over [-range, range), rounded to f16. */
const randomF16 = (n: number, range = 4) => Array.from({ length: n }, () => nearestF16((random() * 2 - 1) * range));
const NAN = 0x7e01;
const INF = 0x7c00;

/** The VAU's multiply-accumulate: exact product plus accumulator, rounded to f32, then to f16. */
const mac = (acc: number, a: number, b: number) => nearestF16(Math.fround(f16Value(a) * f16Value(b) + f16Value(acc)));
const add = (a: number, b: number) => nearestF16(f16Value(a) + f16Value(b));
const mul = (a: number, b: number) => nearestF16(f16Value(a) * f16Value(b));
const max = (a: number, b: number) => (Number.isNaN(f16Value(a)) || Number.isNaN(f16Value(b)) ? 0x7e00 : nearestF16(Math.max(f16Value(a), f16Value(b))));

describe('SHAVE kernels against TypeScript references', () => {
  it('vector-add (i32, wrapping)', () => {
    const n = 64;
    const a = Array.from({ length: n }, () => Math.floor(random() * 2 ** 32));
    const b = Array.from({ length: n }, (_, i) => (i === 0 ? 0x8000_0000 : Math.floor(random() * 2 ** 32)));
    const r = runShave(kernel('vector-add'), { irf: { 18: A, 17: B, 16: C, 15: n }, memory: [{ address: A, bytes: u32s(...a) }, { address: B, bytes: u32s(...b) }] });
    expect(r.result).toEqual({ kind: 'halted', code: 0 });
    expect(words(r.read(C, 4 * n))).toEqual(a.map((x, i) => (x + b[i]!) >>> 0));
  });

  it('relu-f16, with infinities, NaN and signed zeros', () => {
    const input = [...randomF16(60), NAN, INF, 0xfc00, 0x8000];
    const r = runShave(kernel('relu-f16'), { irf: { 18: A, 17: C, 16: input.length }, memory: [{ address: A, bytes: u16s(...input) }] });
    expect(r.result.kind).toBe('halted');
    expect(halves(r.read(C, 2 * input.length))).toEqual(input.map((x) => max(x, 0)));
  });

  it('dot-f16', () => {
    for (const n of [8, 64, 256]) {
      const a = randomF16(n);
      const b = randomF16(n);
      const r = runShave(kernel('dot-f16'), { irf: { 18: A, 17: B, 16: n, 15: D }, memory: [{ address: A, bytes: u16s(...a) }, { address: B, bytes: u16s(...b) }] });
      expect(r.result.kind).toBe('halted');
      const lanes = new Array<number>(8).fill(0);
      for (let i = 0; i < n; i++) lanes[i % 8] = mac(lanes[i % 8]!, a[i]!, b[i]!);
      const half = lanes.map((x, l) => add(x, lanes[(l + 4) % 8]!));
      const quarter = half.map((x, l) => add(x, half[l ^ 2]!));
      const expected = add(quarter[0]!, quarter[1]!);
      expect(r.i(18), `n = ${n}`).toBe(expected);
      expect(halves(r.read(D, 2))).toEqual([expected]);
      // And it is a dot product: close to the exact one.
      const exact = a.reduce((sum, x, i) => sum + f16Value(x) * f16Value(b[i]!), 0);
      expect(Math.abs(f16Value(expected) - exact)).toBeLessThan(0.05 * Math.sqrt(n) + 0.01 * Math.abs(exact));
    }
  });

  it('matmul-f16 (an 8 x 8 tile, C += A B)', () => {
    for (const k of [1, 8, 32]) {
      const a = randomF16(8 * k);
      const b = randomF16(k * 8);
      const c = randomF16(64, 1);
      const r = runShave(kernel('matmul-f16'), {
        irf: { 18: A, 17: B, 16: C, 15: k },
        memory: [{ address: A, bytes: u16s(...a) }, { address: B, bytes: u16s(...b) }, { address: C, bytes: u16s(...c) }],
      });
      expect(r.result.kind).toBe('halted');
      const expected = c.map((initial, at) => {
        const [i, j] = [Math.floor(at / 8), at % 8];
        let acc = initial;
        for (let kk = 0; kk < k; kk++) acc = mac(acc, a[i * k + kk]!, b[kk * 8 + j]!);
        return acc;
      });
      expect(halves(r.read(C, 128)), `K = ${k}`).toEqual(expected);
    }
  });

  it('conv3x3-f16', () => {
    const [rows, vectors] = [6, 3];
    const width = 8 * vectors + 2;
    const input = randomF16((rows + 2) * width);
    const weights = randomF16(9, 1);
    const r = runShave(kernel('conv3x3-f16'), {
      irf: { 18: A, 17: B, 16: C, 15: rows, 14: vectors },
      memory: [{ address: A, bytes: u16s(...input) }, { address: B, bytes: u16s(...weights) }],
    });
    expect(r.result.kind).toBe('halted');
    const expected: number[] = [];
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < 8 * vectors; x++) {
        const at = (dy: number, dx: number) => input[(y + dy) * width + x + dx]!;
        const acc = [0, 1, 2].map((dy) => mac(mac(mul(weights[dy * 3]!, at(dy, 0)), weights[dy * 3 + 1]!, at(dy, 1)), weights[dy * 3 + 2]!, at(dy, 2)));
        expected.push(add(add(acc[0]!, acc[1]!), acc[2]!));
      }
    }
    expect(halves(r.read(C, 2 * expected.length))).toEqual(expected);
  });

  it('maxpool2x2-f16, with NaN and infinity', () => {
    const [rows, groups] = [4, 2];
    const width = 16 * groups;
    const input = randomF16(2 * rows * width);
    input[5] = NAN;
    input[width + 9] = INF;
    input[2 * width + 3] = 0xfc00;
    const r = runShave(kernel('maxpool2x2-f16'), { irf: { 18: A, 17: C, 16: rows, 15: groups }, memory: [{ address: A, bytes: u16s(...input) }] });
    expect(r.result.kind).toBe('halted');
    const expected: number[] = [];
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < width / 2; x++) {
        const at = (dy: number, dx: number) => input[(2 * y + dy) * width + 2 * x + dx]!;
        expected.push(max(max(at(0, 0), at(1, 0)), max(at(0, 1), at(1, 1))));
      }
    }
    expect(halves(r.read(C, 2 * expected.length))).toEqual(expected);
  });
});
