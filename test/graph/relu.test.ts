import { describe, expect, it } from 'vitest';
import { ma2450 } from '../../emu/models/ma2450.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { f16FromNumber } from '../../emu/graph/f16.js';
import { relu } from '../../emu/graph/layers/relu.js';
import { runStage } from '../../emu/graph/stage-runner.js';
import { hwc8 } from '../../emu/graph/tensor-place.js';
import { CMX_FREE, ELEMENT_SHAPES, f16Source, SPECIAL_F16 } from '../support/layer-test.js';

const bench = new KernelBench(ma2450);
const source = f16Source(16);
const randomTensor = (c: number, h: number, w: number) => source.tensor(c, h, w, 8);
/** NaNs of both signs, infinities, signed zeros, subnormals, the largest finite values. */
const SPECIAL = SPECIAL_F16;
const CMX = CMX_FREE;

const SHAPES = ELEMENT_SHAPES;

describe('relu layer kernel against its reference', () => {
  for (const slope of [0, f16FromNumber(0.1), f16FromNumber(1)]) {
    it(`slope ${slope.toString(16)}: odd shapes, shares that do not divide, special values, DDR and CMX`, () => {
      for (const [c, h, w, shaves] of SHAPES) {
        const input = randomTensor(c, h, w);
        SPECIAL.forEach((x, i) => (input.data[(i * 7) % input.data.length] = x));
        const expected = relu.reference([input], {}, { slope });
        expect(runStage(bench, relu, [input], {}, { slope }, { shaves }).output.data).toEqual(expected.data);
        const inCmx = runStage(bench, relu, [input], {}, { slope }, { shaves, inputs: [hwc8(input.shape, CMX)], output: hwc8(input.shape, CMX + 0x10000) });
        expect(inCmx.output.data).toEqual(expected.data);
      }
    });
  }

  it('gives what ReLU and leaky ReLU give for the special values', () => {
    const input = { shape: { c: SPECIAL.length, h: 1, w: 1 }, data: Uint16Array.from(SPECIAL) };
    const plain = relu.reference([input], {}, { slope: 0 }).data;
    expect([...plain]).toEqual([0x7e00, 0x7e00, 0x7c00, 0, 0, 0, 0x0001, 0, 0x03ff, 0, 0x7bff, 0]);
    const half = relu.reference([input], {}, { slope: f16FromNumber(0.5) }).data;
    expect([...half]).toEqual([0x7e00, 0x7e00, 0x7c00, 0xfc00, 0, 0, 0x0001, 0x8000, 0x03ff, 0x8200, 0x7bff, 0xf7ff]);
    expect(runStage(bench, relu, [input], {}, { slope: 0 }, { shaves: 1 }).output.data).toEqual(plain);
  });

  it('uses the pipelined loop: a few cycles a vector, not the dozen of a plain loop', () => {
    const input = randomTensor(64, 8, 8); // 512 vectors on one SHAVE
    const [plain] = runStage(bench, relu, [input], {}, { slope: 0 }, { shaves: 1 }).shares;
    const [leaky] = runStage(bench, relu, [input], {}, { slope: f16FromNumber(0.5) }, { shaves: 1 }).shares;
    expect(plain!.counters.cycles).toBeLessThan(512 * 1.2);
    expect(leaky!.counters.cycles).toBeLessThan(512 * 2.2);
  });

  it('refuses slopes outside [0, 1] and words it does not give', () => {
    expect(() => relu.encode({ slope: f16FromNumber(-0.5) })).toThrow(/slope/);
    expect(() => relu.encode({ slope: f16FromNumber(2) })).toThrow(/slope/);
    expect(() => relu.encode({ slope: 0x7e00 })).toThrow(/slope/);
    expect(() => relu.encode({ slope: 0x10000 })).toThrow(/slope/);
    expect(relu.decode(relu.encode({ slope: f16FromNumber(0.1) }))).toEqual({ slope: f16FromNumber(0.1) });
    expect(() => relu.decode([])).toThrow(/1 parameter word/);
    expect(() => relu.outputShape([], { slope: 0 })).toThrow(/1 input/);
  });
});
