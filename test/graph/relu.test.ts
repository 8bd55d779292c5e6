import { describe, expect, it } from 'vitest';
import { ma2450 } from '../../emu/models/ma2450.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { f16FromNumber } from '../../emu/graph/f16.js';
import { relu } from '../../emu/graph/layers/relu.js';
import { runStage } from '../../emu/graph/stage-runner.js';
import { hwc8 } from '../../emu/graph/tensor-place.js';
import { xorshift32 } from '../support/random.js';

const bench = new KernelBench(ma2450);
const rand = xorshift32(16);
const randomTensor = (c: number, h: number, w: number) => ({ shape: { c, h, w }, data: Uint16Array.from({ length: c * h * w }, () => f16FromNumber(((rand() / 2 ** 32) * 2 - 1) * 8)) });

describe('relu layer kernel against its reference', () => {
  for (const slope of [0, f16FromNumber(0.1), f16FromNumber(1)]) {
    it(`slope ${slope.toString(16)}: odd shapes, shares that do not divide, DDR and CMX`, () => {
      for (const [c, h, w, shaves] of [[3, 5, 7, 12], [8, 1, 1, 1], [17, 3, 2, 5]] as const) {
        const input = randomTensor(c, h, w);
        input.data[0] = 0x7e01;
        input.data[1] = 0x8000;
        const expected = relu.reference([input], {}, { slope });
        expect(runStage(bench, relu, [input], {}, { slope }, { shaves }).output.data).toEqual(expected.data);
        const cmx = 0x7018_0000;
        const inCmx = runStage(bench, relu, [input], {}, { slope }, { shaves, inputs: [hwc8(input.shape, cmx)], output: hwc8(input.shape, cmx + 0x10000) });
        expect(inCmx.output.data).toEqual(expected.data);
      }
    });
  }
  it('refuses slopes outside [0, 1]', () => {
    expect(() => relu.encode({ slope: f16FromNumber(-0.5) })).toThrow(/slope/);
    expect(() => relu.encode({ slope: f16FromNumber(2) })).toThrow(/slope/);
  });
});
