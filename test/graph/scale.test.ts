import { describe, expect, it } from 'vitest';
import { ma2450 } from '../../emu/models/ma2450.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { F16, f16FromNumber } from '../../emu/graph/f16.js';
import { packChannelVector, scale } from '../../emu/graph/layers/scale.js';
import { runStage } from '../../emu/graph/stage-runner.js';
import { hwc8 } from '../../emu/graph/tensor-place.js';
import { xorshift32 } from '../support/random.js';

const bench = new KernelBench(ma2450);
const rand = xorshift32(2024);
const uniform = (range: number) => f16FromNumber(((rand() / 2 ** 32) * 2 - 1) * range);
const randomTensor = (c: number, h: number, w: number) => ({ shape: { c, h, w }, data: Uint16Array.from({ length: c * h * w }, () => uniform(8)) });
/** NaNs of both signs, infinities, signed zeros, subnormals, the largest finite values. */
const SPECIAL = [0x7e01, 0xfe00, 0x7c00, 0xfc00, 0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x83ff, 0x7bff, 0xfbff];
const CMX = 0x7018_0000; // free CMX slices 12-15 on ma2450

// Pixels per share below a group of 8, exactly 8, 8 and a few, many groups with and without
// vectors left over; C = 1, C < 8, C = 8, C not a multiple of 8, several groups of channels.
const SHAPES = [
  [1, 1, 1, 1],
  [3, 5, 7, 12],
  [8, 2, 4, 1],
  [5, 1, 11, 1],
  [17, 3, 2, 5],
  [24, 7, 9, 5],
  [40, 6, 11, 12],
] as const;

function constantsFor(c: number, withScale: boolean, withShift: boolean) {
  const scales = Array.from({ length: c }, (_, i) => (i % 7 === 3 ? SPECIAL[i % SPECIAL.length]! : uniform(2)));
  const shifts = Array.from({ length: c }, (_, i) => (i % 5 === 2 ? SPECIAL[(i + 3) % SPECIAL.length]! : uniform(4)));
  return { ...(withScale ? { weights: packChannelVector(scales, c) } : {}), ...(withShift ? { bias: packChannelVector(shifts, c) } : {}) };
}

describe('scale layer kernel against its reference', () => {
  for (const [withScale, withShift] of [[true, true], [true, false], [false, true], [false, false]] as const) {
    for (const relu of [false, true]) {
      it(`${withScale ? 'scale' : 'no scale'}, ${withShift ? 'shift' : 'no shift'}, ${relu ? 'ReLU' : 'no ReLU'}: odd shapes, shares, special values, DDR and CMX`, () => {
        for (const [c, h, w, shaves] of SHAPES) {
          const input = randomTensor(c, h, w);
          SPECIAL.forEach((x, i) => (input.data[(i * 11) % input.data.length] = x));
          const constants = constantsFor(c, withScale, withShift);
          const expected = scale.reference([input], constants, { relu });
          expect(runStage(bench, scale, [input], constants, { relu }, { shaves }).output.data).toEqual(expected.data);
          const inCmx = runStage(bench, scale, [input], constants, { relu }, {
            shaves, inputs: [hwc8(input.shape, CMX)], output: hwc8(input.shape, CMX + 0x10000), constantsAt: CMX + 0x20000,
          });
          expect(inCmx.output.data).toEqual(expected.data);
        }
      });
    }
  }

  it('is one mac: shift + x * scale rounded to f32 then f16; -0 shift when absent, 1 scale when absent', () => {
    const x = f16FromNumber(1.5);
    const [s, b] = [f16FromNumber(-0.75), f16FromNumber(0.125)];
    const input = { shape: { c: 1, h: 1, w: 4 }, data: Uint16Array.from([x, 0x8000, 0, 0x7c00]) };
    const both = { weights: packChannelVector([s], 1), bias: packChannelVector([b], 1) };
    expect([...scale.reference([input], both, { relu: false }).data]).toEqual([F16.mac(b, x, s), b, b, 0xfc00]);
    expect([...scale.reference([input], { weights: packChannelVector([s], 1) }, { relu: false }).data]).toEqual([F16.mul(x, s), 0, 0x8000, 0xfc00]);
    expect([...scale.reference([input], {}, { relu: false }).data]).toEqual([...input.data]);
    expect([...scale.reference([input], both, { relu: true }).data]).toEqual([0, b, b, 0]);
  });

  it('takes two cycles a vector on long shares', () => {
    const input = randomTensor(16, 4, 64); // 512 vectors in 2 groups of channels on one SHAVE
    const [share] = runStage(bench, scale, [input], constantsFor(16, true, true), { relu: true }, { shaves: 1 }).shares;
    expect(share!.counters.cycles).toBeLessThan(512 * 2.3);
  });

  it('packs channel vectors to C rounded up to 8 with zero pad lanes, and refuses bad ones', () => {
    expect([...packChannelVector([0x3c00, 0x8001, 0xffff], 3)]).toEqual([0x00, 0x3c, 0x01, 0x80, 0xff, 0xff, ...new Array(10).fill(0)]);
    expect(packChannelVector(new Array(9).fill(1), 9).length).toBe(32);
    expect(() => packChannelVector([1, 2], 3)).toThrow(/3 values, not 2/);
    expect(() => packChannelVector([0x10000], 1)).toThrow(/f16/);
    expect(() => packChannelVector([], 0)).toThrow(/channel count/);
    const input = randomTensor(9, 1, 1);
    expect(() => scale.reference([input], { weights: packChannelVector([1], 1) }, { relu: false })).toThrow(/16 bytes, not 32/);
  });

  it('refuses parameter words it does not give', () => {
    expect(scale.decode(scale.encode({ relu: true }))).toEqual({ relu: true });
    expect(scale.encode({ relu: false })).toEqual([0]);
    expect(() => scale.decode([2])).toThrow(/0 or 1/);
    expect(() => scale.decode([])).toThrow(/1 parameter word/);
    expect(() => scale.outputShape([], { relu: false })).toThrow(/1 input/);
  });
});
