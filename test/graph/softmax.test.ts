import { describe, expect, it } from 'vitest';
import { ma2450 } from '../../emu/models/ma2450.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { f16FromNumber, f16ToNumber } from '../../emu/graph/f16.js';
import { LayerError, type Tensor } from '../../emu/graph/layers/layer.js';
import { softmax } from '../../emu/graph/layers/softmax.js';
import { KernelFailed, runStage } from '../../emu/graph/stage-runner.js';
import { hwc8, spanOf, type TensorPlace } from '../../emu/graph/tensor-place.js';
import { xorshift32 } from '../support/random.js';

const bench = new KernelBench(ma2450);
const rand = xorshift32(31);
const CMX = 0x7018_0000;

function randomTensor(c: number, h: number, w: number, range = 8): Tensor {
  return { shape: { c, h, w }, data: Uint16Array.from({ length: c * h * w }, () => f16FromNumber(((rand() / 2 ** 32) * 2 - 1) * range)) };
}

function check(input: Tensor, shaves: number): void {
  const expected = softmax.reference([input], {}, {}).data;
  expect(runStage(bench, softmax, [input], {}, {}, { shaves }).output.data).toEqual(expected);
  const cmx = runStage(bench, softmax, [input], {}, {}, { shaves, inputs: [hwc8(input.shape, CMX)], output: hwc8(input.shape, CMX + 0x40000) });
  expect(cmx.output.data).toEqual(expected);
}

describe('softmax kernel against its reference', () => {
  for (const [c, h, w, shaves] of [[1000, 1, 1, 12], [21, 3, 5, 5], [1, 2, 3, 12], [7, 1, 4, 1], [8, 2, 2, 3], [9, 1, 3, 2], [64, 2, 1, 12]] as const) {
    it(`${c} channels at ${h}x${w}, ${shaves} SHAVEs, DDR and CMX`, () => check(randomTensor(c, h, w), shaves));
  }
  it('large values do not overflow (the maximum is taken off first)', () => check(randomTensor(30, 2, 2, 60000), 2));
  it('the maximum is the channels\', not the pad lanes\' (all negative), wherever it lies in the last vector', () => {
    const negative = randomTensor(13, 2, 3, 30000);
    negative.data.forEach((x, i) => (negative.data[i] = x | 0x8000));
    check(negative, 3);
    // One pixel per lane of the last vector with the maximum there: a maximum taken wrong makes exp overflow.
    const c = 16;
    const data = new Uint16Array(c * 8);
    for (let lane = 0; lane < 8; lane++) data[(8 + lane) * 8 + lane] = f16FromNumber(20000);
    check({ shape: { c, h: 1, w: 8 }, data }, 2);
  });
  it('sums to about 1; equal inputs share it equally', () => {
    const out = softmax.reference([randomTensor(50, 1, 1)], {}, {}).data;
    expect([...out].reduce((s, y) => s + f16ToNumber(y), 0)).toBeCloseTo(1, 2);
    const equal: Tensor = { shape: { c: 4, h: 1, w: 1 }, data: new Uint16Array(4).fill(f16FromNumber(3)) };
    expect([...runStage(bench, softmax, [equal], {}, {}).output.data]).toEqual([0x3400, 0x3400, 0x3400, 0x3400]);
  });
  it('special values: NaN anywhere makes every channel NaN; -inf gives 0; +inf gives NaN', () => {
    const cases: [number[], number[]][] = [
      [[0x3c00, 0x7e01, 0x0000], [0x7e00, 0x7e00, 0x7e00]],
      [[0xfc00, 0x0000, 0xfc00], [0x0000, 0x3c00, 0x0000]],
      [[0x7c00, 0x3c00], [0x7e00, 0x7e00]],
      [[0x8000, 0x0000, 0x0001], [0x3555, 0x3555, 0x3555]],
    ];
    for (const [input, expected] of cases) {
      const t: Tensor = { shape: { c: input.length, h: 1, w: 1 }, data: Uint16Array.from(input) };
      expect([...softmax.reference([t], {}, {}).data]).toEqual(expected);
      expect([...runStage(bench, softmax, [t], {}, {}).output.data]).toEqual(expected);
    }
  });
  it('writes the output pad lanes as zero, whatever the input pad lanes hold, even where the sum is NaN', () => {
    const input = randomTensor(5, 2, 3);
    input.data[0] = 0x7e00; // pixel (0, 0): every channel NaN
    const inPlace = hwc8(input.shape, CMX);
    const outPlace = hwc8(input.shape, CMX + 0x40000);
    const run = () => runStage(bench, softmax, [input], {}, {}, { inputs: [inPlace], output: outPlace });
    run();
    // Fill the input's pad lanes with 7.0 behind the runner's back and run the kernel again: it
    // must ignore them and clear the output's.
    const bytes = bench.read(0, inPlace.address, spanOf(inPlace));
    for (let pixel = 0; pixel < 6; pixel++) for (let lane = 5; lane < 8; lane++) bytes[pixel * 16 + lane * 2 + 1] = 0x47;
    const originalWrite = bench.write.bind(bench);
    bench.write = (core, address, data) => originalWrite(core, address, address === inPlace.address ? bytes : data);
    try {
      expect(run().output.data).toEqual(softmax.reference([input], {}, {}).data);
    } finally {
      bench.write = originalWrite;
    }
    const out = bench.read(0, outPlace.address, spanOf(outPlace));
    for (let pixel = 0; pixel < 6; pixel++) for (let lane = 5; lane < 8; lane++) expect(out[pixel * 16 + lane * 2]! | out[pixel * 16 + lane * 2 + 1]!).toBe(0);
  });
  it('refuses what it cannot do', () => {
    expect(() => softmax.decode([1])).toThrow(LayerError);
    expect(softmax.decode(softmax.encode({}))).toEqual({});
    expect(() => softmax.outputShape([{ c: 20000, h: 1, w: 1 }], {})).toThrow(/scratch/);
    const input = randomTensor(3, 2, 2);
    const chw: TensorPlace = { address: CMX, shape: input.shape, cStride: 8, yStride: 4, xStride: 2 };
    expect(() => runStage(bench, softmax, [input], {}, {}, { inputs: [chw] })).toThrow(KernelFailed);
    expect(() => runStage(bench, { ...softmax, scratchBytes: () => 32 + 16 }, [input], {}, {})).toThrow(/halted with code 2/);
  });
});
