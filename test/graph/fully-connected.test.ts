import { describe, expect, it } from 'vitest';
import { ma2450 } from '../../emu/models/ma2450.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { f16FromNumber, f16ToNumber } from '../../emu/graph/f16.js';
import { activationOperands, applyActivation, type FusedActivation } from '../../emu/graph/layers/activation.js';
import { packBias } from '../../emu/graph/layers/conv.js';
import { fullyConnected, packFullyConnectedWeights, type FullyConnectedParams } from '../../emu/graph/layers/fully-connected.js';
import { LayerError, roundUp8, type Shape, type Tensor } from '../../emu/graph/layers/layer.js';
import { runStage } from '../../emu/graph/stage-runner.js';
import { hwc8, hwc8Bytes, type TensorPlace } from '../../emu/graph/tensor-place.js';
import { CMX_END, CMX_FREE, DDR, f16Source, GUARD, outputGuards } from '../support/layer-test.js';

const bench = new KernelBench(ma2450);
const { f16s: randomF16 } = f16Source(0xfc);
const randomTensor = (s: Shape): Tensor => ({ shape: s, data: randomF16(s.c * s.h * s.w, 2) });

const align64 = (n: number) => (n + 63) & ~63;
const guards = (at: number, bytes: number) => outputGuards(bench, at, bytes);

function setUp(input: Shape, outputs: number, activation: FusedActivation = { kind: 'none' }, withBias = true) {
  const k = input.c * input.h * input.w;
  const raw = randomF16(outputs * k, 1 / Math.sqrt(k));
  const rawBias = randomF16(outputs);
  const params: FullyConnectedParams = { outputs, activation };
  const constants = { weights: packFullyConnectedWeights(raw, outputs, input), bias: withBias ? packBias(rawBias) : undefined };
  return { tensor: randomTensor(input), raw, rawBias, params, constants };
}

/** The output's pad lanes, read straight from memory. */
function padLanes(place: TensorPlace): number[] {
  const bytes = bench.read(0, place.address, hwc8Bytes(place.shape));
  const view = new DataView(bytes.buffer);
  const lanes: number[] = [];
  for (let ch = place.shape.c; ch < roundUp8(place.shape.c); ch++) lanes.push(view.getUint16(2 * ch, true));
  return lanes;
}

/** DDR and CMX, each SHAVE count: bit for bit the reference, pad lanes the activation of +0. */
function check(input: Shape, outputs: number, shaves: number[], activation?: FusedActivation) {
  const { tensor, params, constants } = setUp(input, outputs, activation);
  const expected = fullyConnected.reference([tensor], constants, params);
  const out = { c: outputs, h: 1, w: 1 };
  const padValue = applyActivation(0, activationOperands(params.activation, 'test'));
  for (const n of shaves) {
    for (const where of ['ddr', 'cmx'] as const) {
      const base = where === 'ddr' ? DDR : CMX_FREE;
      const inPlace = hwc8(input, base);
      const outPlace = hwc8(out, base + align64(hwc8Bytes(input)) + GUARD);
      const untouched = guards(outPlace.address, hwc8Bytes(out));
      const afterOutput = outPlace.address + align64(hwc8Bytes(out)) + GUARD;
      // Constants in CMX too when they fit there.
      const constantsAt = where === 'cmx' && afterOutput + constants.weights.length + 4096 <= CMX_END ? afterOutput : DDR + 0x100_0000;
      const run = runStage(bench, fullyConnected, [tensor], constants, params, { shaves: n, inputs: [inPlace], output: outPlace, constantsAt });
      expect(run.output.data, `${where}, ${n} SHAVEs`).toEqual(expected.data);
      expect(untouched(), 'the bytes around the output').toBe(true);
      expect(new Set(padLanes(outPlace))).toEqual(new Set(outputs % 8 === 0 ? [] : [padValue]));
    }
  }
  return expected;
}

describe('fullyConnected layer kernel against its reference', () => {
  it('K = 1, 7 and 100 inputs; 1, 10 and 17 outputs', () => {
    check({ c: 1, h: 1, w: 1 }, 1, [1, 5]);
    check({ c: 7, h: 1, w: 1 }, 10, [1, 5, 12]);
    check({ c: 100, h: 1, w: 1 }, 17, [5, 12]);
    check({ c: 3, h: 1, w: 5 }, 10, [12]); // a spatial input with C < 8: pad lanes inside every pixel
  });

  it('(16, 5, 5) and (512, 1, 1) inputs, 1000 outputs over 12 SHAVEs', () => {
    check({ c: 16, h: 5, w: 5 }, 10, [5]);
    check({ c: 512, h: 1, w: 1 }, 1000, [12], { kind: 'relu' });
  });

  it('2000 inputs as (80, 5, 5), fused ReLU6 and leaky ReLU; no bias', () => {
    check({ c: 80, h: 5, w: 5 }, 24, [5], { kind: 'clip', low: 0, high: f16FromNumber(6) });
    check({ c: 13, h: 2, w: 3 }, 9, [3], { kind: 'leakyRelu', slope: f16FromNumber(0.125) });
    const { tensor, params, constants } = setUp({ c: 8, h: 2, w: 2 }, 8, { kind: 'relu' }, false);
    expect(runStage(bench, fullyConnected, [tensor], constants, params, { shaves: 1 }).output.data).toEqual(fullyConnected.reference([tensor], constants, params).data);
  });

  it('flattens in ONNX order c*H*W + y*W + x (close to a plain f64 sum)', () => {
    const input = { c: 11, h: 3, w: 4 };
    const { tensor, raw, rawBias, params, constants } = setUp(input, 13);
    const got = runStage(bench, fullyConnected, [tensor], constants, params, { shaves: 2 }).output;
    const k = 11 * 3 * 4;
    for (let o = 0; o < 13; o++) {
      let sum = f16ToNumber(rawBias[o]!);
      for (let i = 0; i < k; i++) sum += f16ToNumber(raw[o * k + i]!) * f16ToNumber(tensor.data[i]!); // CHW order is ONNX's flattening
      expect(Math.abs(f16ToNumber(got.data[o]!) - sum)).toBeLessThan(2e-3 * Math.max(1, Math.abs(sum)));
    }
  });

  it('reads pixels apart (a channel slice) and rows apart, as the strides say', () => {
    const { tensor, params, constants } = setUp({ c: 8, h: 3, w: 5 }, 9);
    const expected = fullyConnected.reference([tensor], constants, params).data;
    const out = hwc8({ c: 9, h: 1, w: 1 }, DDR + 0x8000);
    // Every pixel 32 bytes apart (8 channels of a 16-channel tensor): one run per pixel.
    const sliced: TensorPlace = { address: DDR, shape: tensor.shape, cStride: 2, xStride: 32, yStride: 32 * 5 };
    expect(runStage(bench, fullyConnected, [tensor], constants, params, { shaves: 2, inputs: [sliced], output: out, constantsAt: DDR + 0x10000 }).output.data).toEqual(expected);
    // Rows 7 pixels apart (a 5-pixel window of a wider tensor): one run per row.
    const window: TensorPlace = { address: DDR, shape: tensor.shape, cStride: 2, xStride: 16, yStride: 16 * 7 };
    expect(runStage(bench, fullyConnected, [tensor], constants, params, { shaves: 2, inputs: [window], output: out, constantsAt: DDR + 0x10000 }).output.data).toEqual(expected);
  });

  it('special values: NaN, infinities, signed zeros, subnormals', () => {
    const { tensor, params, constants } = setUp({ c: 24, h: 1, w: 1 }, 16);
    [0x7e00, 0x7c00, 0xfc00, 0x8000, 0x0001, 0x83ff].forEach((v, i) => (tensor.data[3 * i] = v));
    const expected = fullyConnected.reference([tensor], constants, params);
    expect(runStage(bench, fullyConnected, [tensor], constants, params, { shaves: 2 }).output.data).toEqual(expected.data);
    expect(expected.data.every((x) => (x & 0x7fff) > 0x7c00)).toBe(true); // NaN, or inf - inf, reaches every output
  });

  it('reads no further than the input when it ends at the end of CMX', () => {
    const { tensor, params, constants } = setUp({ c: 16, h: 2, w: 3 }, 8);
    const run = runStage(bench, fullyConnected, [tensor], constants, params, { shaves: 1, inputs: [hwc8(tensor.shape, CMX_END - hwc8Bytes(tensor.shape))], output: hwc8({ c: 8, h: 1, w: 1 }, CMX_FREE) });
    expect(run.output.data).toEqual(fullyConnected.reference([tensor], constants, params).data);
  });

  it('uses compiled loops', () => {
    const before = bench.cores.compiledLoopRuns;
    check({ c: 64, h: 1, w: 1 }, 16, [2]);
    expect(bench.cores.compiledLoopRuns).toBeGreaterThan(before);
    expect(bench.cores.loopCompilerError).toBeNull();
  });
});

describe('fullyConnected parameters and weights', () => {
  it('decodes what it encodes, refuses bad parameters and words', () => {
    const params: FullyConnectedParams = { outputs: 1000, activation: { kind: 'clip', low: f16FromNumber(-1), high: f16FromNumber(1) } };
    expect(fullyConnected.decode(fullyConnected.encode(params))).toEqual(params);
    expect(() => fullyConnected.encode({ ...params, outputs: 0 })).toThrow(LayerError);
    expect(() => fullyConnected.decode([10, 1, 0x3c00, 0, 0x7c01])).toThrow(/activation/);
    expect(() => fullyConnected.decode([10])).toThrow(/words/);
    expect(fullyConnected.outputShape([{ c: 16, h: 5, w: 5 }], params)).toEqual({ c: 1000, h: 1, w: 1 });
    expect(fullyConnected.flops([{ c: 16, h: 5, w: 5 }], params)).toBe(400_000);
  });
  it('refuses weights that do not match', () => {
    const input = { c: 8, h: 2, w: 1 };
    expect(() => packFullyConnectedWeights(new Uint16Array(15), 1, input)).toThrow(/values/);
    const { tensor, params, constants } = setUp(input, 3);
    expect(() => fullyConnected.reference([tensor], { weights: constants.weights.slice(0, 64) }, params)).toThrow(/bytes of weights/);
    const bad = constants.weights.slice();
    new DataView(bad.buffer).setUint16(2 * 5, 0x3c00, true); // output 5 of 3
    expect(() => fullyConnected.reference([tensor], { weights: bad }, params)).toThrow(/pad lane/);
  });
});
