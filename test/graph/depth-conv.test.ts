import { describe, expect, it } from 'vitest';
import { ma2450 } from '../../emu/models/ma2450.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { f16FromNumber, f16ToNumber } from '../../emu/graph/f16.js';
import { activationOperands, applyActivation, type FusedActivation } from '../../emu/graph/layers/activation.js';
import { packBias } from '../../emu/graph/layers/conv.js';
import { depthConv, packDepthConvWeights, type DepthConvParams } from '../../emu/graph/layers/depth-conv.js';
import { LayerError, roundUp8, type Tensor } from '../../emu/graph/layers/layer.js';
import { runStage } from '../../emu/graph/stage-runner.js';
import { hwc8, hwc8Bytes, type TensorPlace } from '../../emu/graph/tensor-place.js';
import { CMX_END, CMX_FREE, DDR, f16Source, GUARD, outputGuards } from '../support/layer-test.js';

const bench = new KernelBench(ma2450);
const { f16s: randomF16 } = f16Source(0xd0c);

const align64 = (n: number) => (n + 63) & ~63;
const guards = (at: number, bytes: number) => outputGuards(bench, at, bytes);

interface Case {
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly kernel: [number, number];
  readonly stride?: [number, number];
  readonly pads?: [number, number, number, number]; // top, left, bottom, right
  readonly activation?: FusedActivation;
  readonly bias?: boolean;
}

function setUp(k: Case) {
  const [top, left, bottom, right] = k.pads ?? [0, 0, 0, 0];
  const params: DepthConvParams = { kernel: { h: k.kernel[0], w: k.kernel[1] }, stride: { y: k.stride?.[0] ?? 1, x: k.stride?.[1] ?? 1 }, pads: { top, left, bottom, right }, activation: k.activation ?? { kind: 'none' } };
  const input: Tensor = { shape: { c: k.c, h: k.h, w: k.w }, data: randomF16(k.c * k.h * k.w, 2) };
  const raw = randomF16(k.c * k.kernel[0] * k.kernel[1]);
  const rawBias = randomF16(k.c);
  const constants = { weights: packDepthConvWeights(raw, { channels: k.c, h: k.kernel[0], w: k.kernel[1] }), bias: k.bias === false ? undefined : packBias(rawBias) };
  return { params, input, raw, rawBias, constants };
}

function padLanes(place: TensorPlace): number[] {
  const { c, h, w } = place.shape;
  const view = new DataView(bench.read(0, place.address, hwc8Bytes(place.shape)).buffer);
  const lanes: number[] = [];
  for (let p = 0; p < h * w; p++) for (let ch = c; ch < roundUp8(c); ch++) lanes.push(view.getUint16(p * place.xStride + 2 * ch, true));
  return lanes;
}

/** DDR and CMX, each SHAVE count: bit for bit the reference, pad lanes the activation of +0. */
function check(k: Case, shaves: number[] = [12]) {
  const { params, input, constants } = setUp(k);
  const expected = depthConv.reference([input], constants, params);
  const out = depthConv.outputShape([input.shape], params);
  const padValue = applyActivation(0, activationOperands(params.activation, 'test'));
  for (const n of shaves) {
    for (const where of ['ddr', 'cmx'] as const) {
      const base = where === 'ddr' ? DDR : CMX_FREE;
      const inPlace = hwc8(input.shape, base);
      const outPlace = hwc8(out, base + align64(hwc8Bytes(input.shape)) + GUARD);
      const untouched = guards(outPlace.address, hwc8Bytes(out));
      const constantsAt = where === 'ddr' ? DDR + 0x40_0000 : outPlace.address + align64(hwc8Bytes(out)) + GUARD;
      const run = runStage(bench, depthConv, [input], constants, params, { shaves: n, inputs: [inPlace], output: outPlace, constantsAt });
      expect(run.output.data, `${where}, ${n} SHAVEs`).toEqual(expected.data);
      expect(untouched(), 'the bytes around the output').toBe(true);
      expect(new Set(padLanes(outPlace))).toEqual(new Set(out.c % 8 === 0 ? [] : [padValue]));
    }
  }
  return expected;
}

describe('depthConv layer kernel against its reference', () => {
  it('kernels 1x1, 3x3, 5x5, 7x7, 1x3, 3x1; channels 1, 3, 8, 13, 24', () => {
    check({ c: 8, h: 4, w: 5, kernel: [1, 1] }, [1, 5]);
    check({ c: 13, h: 7, w: 9, kernel: [3, 3], pads: [1, 1, 1, 1] }, [1, 5, 12]);
    check({ c: 3, h: 9, w: 8, kernel: [5, 5], pads: [2, 2, 2, 2] });
    check({ c: 24, h: 8, w: 11, kernel: [7, 7], pads: [3, 3, 3, 3] }, [5]);
    check({ c: 1, h: 5, w: 7, kernel: [1, 3], pads: [0, 1, 0, 1] });
    check({ c: 16, h: 6, w: 3, kernel: [3, 1], pads: [1, 0, 1, 0] });
  });

  it('strides 2 and 3, asymmetric padding, odd widths, 1x1 outputs', () => {
    check({ c: 32, h: 9, w: 11, kernel: [3, 3], stride: [2, 2], pads: [0, 1, 2, 0] }, [5]);
    check({ c: 9, h: 10, w: 13, kernel: [3, 2], stride: [3, 3], pads: [2, 0, 1, 1] });
    check({ c: 8, h: 7, w: 7, kernel: [3, 3], stride: [1, 2], pads: [1, 2, 0, 0] }, [1]);
    check({ c: 16, h: 3, w: 3, kernel: [3, 3] }, [1]); // one output pixel
    check({ c: 8, h: 1, w: 1, kernel: [3, 3], pads: [1, 1, 1, 1] }, [1]);
    check({ c: 8, h: 2, w: 2, kernel: [3, 3], pads: [3, 3, 0, 0] }, [1]); // windows wholly in the padding
  });

  it('fused activations: ReLU, ReLU6, leaky ReLU; no bias', () => {
    const s = (x: number) => f16FromNumber(x);
    for (const activation of [{ kind: 'relu' }, { kind: 'clip', low: s(0), high: s(6) }, { kind: 'leakyRelu', slope: s(0.1) }] as FusedActivation[]) {
      check({ c: 12, h: 5, w: 6, kernel: [3, 3], pads: [1, 1, 1, 1], activation }, [5]);
    }
    check({ c: 8, h: 4, w: 4, kernel: [3, 3], pads: [1, 1, 1, 1], bias: false, activation: { kind: 'clip', low: s(0.5), high: s(1) } }, [1]);
  });

  it('a MobileNet-sized layer: 3x3 on 128 channels of 14x14', () => {
    check({ c: 128, h: 14, w: 14, kernel: [3, 3], pads: [1, 1, 1, 1], activation: { kind: 'clip', low: 0, high: f16FromNumber(6) } }, [12]);
  });

  it('is close to a plain f64 depthwise convolution', () => {
    const { params, input, raw, rawBias, constants } = setUp({ c: 10, h: 6, w: 7, kernel: [3, 2], stride: [2, 1], pads: [1, 0, 2, 1] });
    const got = runStage(bench, depthConv, [input], constants, params, { shaves: 3 }).output;
    const { h: Ho, w: Wo } = got.shape;
    for (let c = 0; c < 10; c++)
      for (let y = 0; y < Ho; y++)
        for (let x = 0; x < Wo; x++) {
          let sum = f16ToNumber(rawBias[c]!);
          for (let ky = 0; ky < 3; ky++)
            for (let kx = 0; kx < 2; kx++) {
              const [iy, ix] = [2 * y - 1 + ky, x + kx];
              if (iy >= 0 && iy < 6 && ix >= 0 && ix < 7) sum += f16ToNumber(raw[(c * 3 + ky) * 2 + kx]!) * f16ToNumber(input.data[(c * 6 + iy) * 7 + ix]!);
            }
          expect(Math.abs(f16ToNumber(got.data[(c * Ho + y) * Wo + x]!) - sum)).toBeLessThan(2e-3 * Math.max(1, Math.abs(sum)));
        }
  });

  it('special values in the input: NaN, infinities, signed zeros, subnormals', () => {
    const { params, input, constants } = setUp({ c: 8, h: 5, w: 5, kernel: [3, 3], pads: [1, 1, 1, 1] });
    [0x7e00, 0x7c00, 0xfc00, 0x8000, 0x0000, 0x0001, 0x83ff, 0x7bff].forEach((v, i) => (input.data[i * 23] = v));
    const expected = depthConv.reference([input], constants, params);
    expect(runStage(bench, depthConv, [input], constants, params, { shaves: 3 }).output.data).toEqual(expected.data);
    expect(expected.data.some((x) => (x & 0x7fff) > 0x7c00)).toBe(true);
  });

  it('reads no further than the input when it ends at the end of CMX', () => {
    const { params, input, constants } = setUp({ c: 16, h: 4, w: 5, kernel: [3, 3], pads: [0, 1, 1, 1] });
    const run = runStage(bench, depthConv, [input], constants, params, { shaves: 2, inputs: [hwc8(input.shape, CMX_END - hwc8Bytes(input.shape))], output: hwc8(depthConv.outputShape([input.shape], params), CMX_FREE) });
    expect(run.output.data).toEqual(depthConv.reference([input], constants, params).data);
  });

  it('uses compiled loops', () => {
    const before = bench.cores.compiledLoopRuns;
    check({ c: 16, h: 4, w: 6, kernel: [3, 3], pads: [1, 1, 1, 1] }, [2]);
    expect(bench.cores.compiledLoopRuns).toBeGreaterThan(before);
    expect(bench.cores.loopCompilerError).toBeNull();
  });
});

describe('depthConv parameters and weights', () => {
  const base: DepthConvParams = { kernel: { h: 3, w: 5 }, stride: { y: 1, x: 2 }, pads: { top: 1, left: 2, bottom: 0, right: 2 }, activation: { kind: 'relu' } };
  it('decodes what it encodes, refuses bad parameters and words', () => {
    expect(depthConv.decode(depthConv.encode(base))).toEqual(base);
    expect(() => depthConv.encode({ ...base, stride: { y: 0, x: 1 } })).toThrow(/stride/);
    expect(() => depthConv.encode({ ...base, pads: { ...base.pads, top: 1.5 } })).toThrow(LayerError);
    expect(() => depthConv.decode(depthConv.encode(base).slice(0, 8))).toThrow(/words/);
    expect(() => depthConv.decode([...depthConv.encode(base).slice(0, 8), 1, 0x3c00, 0, 0])).toThrow(/activation/);
    expect(depthConv.outputShape([{ c: 5, h: 6, w: 7 }], base)).toEqual({ c: 5, h: 5, w: 4 }); // (7 + 2 + 2 - 5) / 2 + 1 columns
    expect(() => depthConv.outputShape([{ c: 5, h: 1, w: 7 }], { ...base, pads: { ...base.pads, top: 0 } })).toThrow(/does not fit/);
    expect(depthConv.flops([{ c: 5, h: 6, w: 7 }], base)).toBe(5 * 5 * 4 * 15);
  });
  it('refuses weights it cannot run: a wrong count, non-finite, pad lanes that weigh something', () => {
    expect(() => packDepthConvWeights(new Uint16Array(8), { channels: 3, h: 1, w: 3 })).toThrow(/values/);
    expect(() => packDepthConvWeights(Uint16Array.of(0x3c00, 0x7c00), { channels: 2, h: 1, w: 1 })).toThrow(/finite/);
    const input = { shape: { c: 3, h: 3, w: 3 }, data: randomF16(27) };
    const params = { ...base, kernel: { h: 1, w: 1 }, stride: { y: 1, x: 1 }, pads: { top: 0, left: 0, bottom: 0, right: 0 } };
    const weights = packDepthConvWeights(randomF16(3), { channels: 3, h: 1, w: 1 });
    new DataView(weights.buffer).setFloat32(4 * 5, 1, true); // channel 5 of 3
    expect(() => depthConv.reference([input], { weights }, params)).toThrow(/pad lane/);
    expect(() => depthConv.reference([input], { weights: weights.slice(0, 16) }, params)).toThrow(/bytes of weights/);
  });
});
