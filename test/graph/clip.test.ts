import { describe, expect, it } from 'vitest';
import { ma2450 } from '../../emu/models/ma2450.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { f16FromNumber } from '../../emu/graph/f16.js';
import { clip } from '../../emu/graph/layers/clip.js';
import { runStage } from '../../emu/graph/stage-runner.js';
import { hwc8 } from '../../emu/graph/tensor-place.js';
import { CMX_FREE, ELEMENT_SHAPES, f16Source, SPECIAL_F16 } from '../support/layer-test.js';

const bench = new KernelBench(ma2450);
const source = f16Source(100);
const randomTensor = (c: number, h: number, w: number) => source.tensor(c, h, w, 10);
/** NaNs of both signs, infinities, signed zeros, subnormals, the largest finite values. */
const SPECIAL = SPECIAL_F16;
const CMX = CMX_FREE;
const f = f16FromNumber;

// Vectors per share: fewer than a group of 8, one group, one group and a few, many groups with
// and without vectors left over; C = 1, C < 8, C not a multiple of 8.
const SHAPES = ELEMENT_SHAPES;

describe('clip layer kernel against its reference', () => {
  const bounds = [
    { name: 'ReLU6', low: 0, high: f(6) },
    { name: '[-1.5, 2.25]', low: f(-1.5), high: f(2.25) },
    { name: '[-inf, -0]', low: 0xfc00, high: 0x8000 },
    { name: '[-0, +inf]', low: 0x8000, high: 0x7c00 },
    { name: '[1, 1]', low: f(1), high: f(1) },
  ];
  for (const params of bounds) {
    it(`${params.name}: odd shapes, shares that do not divide, special values, DDR and CMX`, () => {
      for (const [c, h, w, shaves] of SHAPES) {
        const input = randomTensor(c, h, w);
        SPECIAL.forEach((x, i) => (input.data[(i * 5) % input.data.length] = x));
        const expected = clip.reference([input], {}, params);
        expect(runStage(bench, clip, [input], {}, params, { shaves }).output.data).toEqual(expected.data);
        const inCmx = runStage(bench, clip, [input], {}, params, { shaves, inputs: [hwc8(input.shape, CMX)], output: hwc8(input.shape, CMX + 0x10000) });
        expect(inCmx.output.data).toEqual(expected.data);
      }
    });
  }

  it('gives ReLU6 of the special values: NaN stays NaN, -0 becomes +0', () => {
    const input = { shape: { c: SPECIAL.length, h: 1, w: 1 }, data: Uint16Array.from(SPECIAL) };
    const six = f(6);
    const expected = [0x7e00, 0x7e00, six, 0, 0, 0, 0x0001, 0, 0x03ff, 0, six, 0];
    expect([...clip.reference([input], {}, { low: 0, high: six }).data]).toEqual(expected);
    expect([...runStage(bench, clip, [input], {}, { low: 0, high: six }, { shaves: 1 }).output.data]).toEqual(expected);
  });

  it('takes two cycles a vector on long shares', () => {
    const [share] = runStage(bench, clip, [randomTensor(64, 8, 8)], {}, { low: 0, high: f(6) }, { shaves: 1 }).shares;
    expect(share!.counters.cycles).toBeLessThan(512 * 2.2);
  });

  it('refuses bounds that are NaN, out of order or not f16, and words it does not give', () => {
    expect(() => clip.encode({ low: f(2), high: f(1) })).toThrow(/low <= high/);
    expect(() => clip.encode({ low: 0x7e00, high: f(1) })).toThrow(/NaN/);
    expect(() => clip.encode({ low: 0, high: 0x10000 })).toThrow(/f16/);
    expect(clip.decode(clip.encode({ low: 0x8000, high: 0 }))).toEqual({ low: 0x8000, high: 0 });
    expect(() => clip.decode([0])).toThrow(/2 parameter words/);
    expect(() => clip.outputShape([{ c: 1, h: 1, w: 1 }, { c: 1, h: 1, w: 1 }], { low: 0, high: 0 })).toThrow(/1 input/);
  });
});
