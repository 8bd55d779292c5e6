import { describe, expect, it } from 'vitest';
import { ma2450 } from '../../emu/models/ma2450.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { f16FromNumber, f16ToNumber } from '../../emu/graph/f16.js';
import { roundUp8 } from '../../emu/graph/layers/layer.js';
import { tanh } from '../../emu/graph/layers/tanh.js';
import { runStage } from '../../emu/graph/stage-runner.js';
import { hwc8, spanOf } from '../../emu/graph/tensor-place.js';
import { xorshift32 } from '../support/random.js';

const bench = new KernelBench(ma2450);
const rand = xorshift32(6);
const randomTensor = (c: number, h: number, w: number) => ({ shape: { c, h, w }, data: Uint16Array.from({ length: c * h * w }, () => f16FromNumber(((rand() / 2 ** 32) * 2 - 1) * 4)) });
const CMX = 0x7018_0000; // free CMX slices 12-15 on ma2450
/** Every f16 bit pattern, as 8 x 1 x 8192. */
const everyF16 = { shape: { c: 8, h: 1, w: 8192 }, data: Uint16Array.from({ length: 0x10000 }, (_, i) => i) };

describe('tanh layer kernel against its reference', () => {
  it('every f16 input, in DDR and in CMX, over 12 SHAVEs (chunks of 256 vectors and a remainder)', () => {
    const expected = tanh.reference([everyF16], {}, {}).data;
    expect(runStage(bench, tanh, [everyF16], {}, {}, { shaves: 12 }).output.data).toEqual(expected);
    const inCmx = runStage(bench, tanh, [everyF16], {}, {}, { shaves: 12, inputs: [hwc8(everyF16.shape, CMX)], output: hwc8(everyF16.shape, CMX + 0x20000) });
    expect(inCmx.output.data).toEqual(expected);
  });

  it('odd shapes, shares that do not divide, one vector a share; pad lanes come out as tanh(0)', () => {
    for (const [c, h, w, shaves] of [[1, 1, 1, 1], [3, 5, 7, 12], [17, 3, 2, 5], [8, 1, 2, 2]] as const) {
      const input = randomTensor(c, h, w);
      const output = hwc8(input.shape, CMX + 0x10000);
      const run = runStage(bench, tanh, [input], {}, {}, { shaves, inputs: [hwc8(input.shape, CMX)], output });
      expect(run.output.data).toEqual(tanh.reference([input], {}, {}).data);
      const lanes = new Uint16Array(bench.read(0, output.address, spanOf(output)).buffer);
      expect(lanes.filter((_, i) => i % roundUp8(c) >= c).every((x) => x === 0)).toBe(true);
    }
  });

  it('gives +-1 at the ends, no NaN for large |x|, NaN for NaN, x for tiny x, and keeps what exp(12) overflowing f16 leaves', () => {
    const f = f16FromNumber;
    const cases: [number, number][] = [
      [0x7c00, 0x3c00], [0xfc00, 0xbc00], [0x7bff, 0x3c00], [0xfbff, 0xbc00], [0x7e01, 0x7e00], [0xfe00, 0xfe00],
      [0x0000, 0x0000], [0x8000, 0x8000], [0x0001, 0x0001], [0x83ff, 0x83ff], [0x23ff, 0x23ff],
      [f(6), 0x3c00], [f(-3), f(Math.tanh(-3))], [f(0.5), f(Math.tanh(0.5))], [f(-(2 ** -6)), f(Math.tanh(-(2 ** -6)))],
    ];
    const input = { shape: { c: cases.length, h: 1, w: 1 }, data: Uint16Array.from(cases.map(([x]) => x)) };
    expect([...tanh.reference([input], {}, {}).data]).toEqual(cases.map(([, y]) => y));
    expect([...runStage(bench, tanh, [input], {}, {}, { shaves: 1 }).output.data]).toEqual(cases.map(([, y]) => y));
  });

  it('is the correctly rounded tanh but for a few inputs one ulp off, and odd', () => {
    const got = tanh.reference([everyF16], {}, {}).data;
    const numbers = [...everyF16.data].filter((h) => f16ToNumber(h) === f16ToNumber(h));
    expect(numbers.filter((h) => got[h ^ 0x8000] !== (got[h]! ^ 0x8000))).toEqual([]);
    const off = numbers.filter((h) => got[h] !== f16FromNumber(Math.tanh(f16ToNumber(h))));
    expect(off.filter((h) => Math.abs(got[h]! - f16FromNumber(Math.tanh(f16ToNumber(h)))) !== 1)).toEqual([]);
    expect(off.length).toBeLessThan(32);
  });

  it('takes about 43 cycles a vector, 24 of them the SAU\'s 3 an element', () => {
    const [share] = runStage(bench, tanh, [randomTensor(64, 4, 8)], {}, {}, { shaves: 1 }).shares;
    expect(share!.counters.cycles).toBeLessThan(256 * 44);
  });

  it('refuses parameter words it does not give', () => {
    expect(tanh.decode(tanh.encode({}))).toEqual({});
    expect(() => tanh.decode([0])).toThrow(/1/);
    expect(() => tanh.outputShape([{ c: 1, h: 1, w: 1 }, { c: 1, h: 1, w: 1 }], {})).toThrow(/1 input/);
  });
});
