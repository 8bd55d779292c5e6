import { describe, expect, it } from 'vitest';
import { ma2450 } from '../../emu/models/ma2450.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { f16FromNumber, f16ToNumber } from '../../emu/graph/f16.js';
import { activationOperands, applyActivation, type FusedActivation } from '../../emu/graph/layers/activation.js';
import { conv, packBias, packConvWeights, type ConvParams } from '../../emu/graph/layers/conv.js';
import { LayerError, roundUp8, type Shape, type Tensor } from '../../emu/graph/layers/layer.js';
import { runStage } from '../../emu/graph/stage-runner.js';
import { hwc8, hwc8Bytes, type TensorPlace } from '../../emu/graph/tensor-place.js';
import { CMX_END, CMX_FREE, DDR, f16Source, GUARD, outputGuards } from '../support/layer-test.js';

const bench = new KernelBench(ma2450);
const { f16s: randomF16 } = f16Source(0xc0417);
const randomTensor = (c: number, h: number, w: number): Tensor => ({ shape: { c, h, w }, data: randomF16(c * h * w, 2) });

const align64 = (n: number) => (n + 63) & ~63;
const guards = (at: number, bytes: number) => outputGuards(bench, at, bytes);

interface Case {
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly outputs: number;
  readonly kernel: [number, number];
  readonly stride?: [number, number];
  readonly pads?: [number, number, number, number]; // top, left, bottom, right
  readonly groups?: number;
  readonly activation?: FusedActivation;
  readonly bias?: boolean;
}

function setUp(k: Case) {
  const groups = k.groups ?? 1;
  const [top, left, bottom, right] = k.pads ?? [0, 0, 0, 0];
  const params: ConvParams = {
    kernel: { h: k.kernel[0], w: k.kernel[1] },
    stride: { y: k.stride?.[0] ?? 1, x: k.stride?.[1] ?? 1 },
    pads: { top, left, bottom, right },
    groups,
    outputs: k.outputs,
    activation: k.activation ?? { kind: 'none' },
  };
  const input = randomTensor(k.c, k.h, k.w);
  const shape = { outputs: k.outputs, inputsPerGroup: k.c / groups, h: k.kernel[0], w: k.kernel[1] };
  const weights = packConvWeights(randomF16(shape.outputs * shape.inputsPerGroup * shape.h * shape.w, 1 / Math.sqrt(shape.inputsPerGroup * shape.h * shape.w)), shape, groups);
  const bias = k.bias === false ? undefined : packBias(randomF16(k.outputs));
  return { params, input, constants: { weights, bias } };
}

/** The output's pad lanes (channels C..C8-1 of every pixel), read straight from memory. */
function padLanes(place: TensorPlace): number[] {
  const { c, h, w } = place.shape;
  const bytes = bench.read(0, place.address, hwc8Bytes(place.shape));
  const view = new DataView(bytes.buffer);
  const lanes: number[] = [];
  for (let p = 0; p < h * w; p++) for (let ch = c; ch < roundUp8(c); ch++) lanes.push(view.getUint16(p * place.xStride + 2 * ch, true));
  return lanes;
}

/** Runs the case with data in DDR and again in CMX; both must match the reference bit for bit, pad lanes included. */
function check(k: Case, shaves: number[] = [12]) {
  const { params, input, constants } = setUp(k);
  const expected = conv.reference([input], constants, params);
  const out = conv.outputShape([input.shape], params);
  // A pad lane of the output sums nothing and has no bias: the activation of +0.
  const padValue = applyActivation(0, activationOperands(params.activation, 'conv'));
  for (const n of shaves) {
    for (const where of ['ddr', 'cmx'] as const) {
      const base = where === 'ddr' ? DDR : CMX_FREE;
      const inPlace = hwc8(input.shape, base);
      const outPlace = hwc8(out, base + align64(hwc8Bytes(input.shape)) + GUARD);
      const untouched = guards(outPlace.address, hwc8Bytes(out));
      const constantsAt = where === 'ddr' ? DDR + 0x40_0000 : outPlace.address + align64(hwc8Bytes(out)) + GUARD;
      const run = runStage(bench, conv, [input], constants, params, { shaves: n, inputs: [inPlace], output: outPlace, constantsAt });
      expect(run.output.data, `${where}, ${n} SHAVEs`).toEqual(expected.data);
      expect(untouched(), 'the bytes around the output').toBe(true);
      expect(new Set(padLanes(outPlace)), 'pad lanes').toEqual(new Set(out.c % 8 === 0 ? [] : [padValue]));
    }
  }
  return expected;
}

describe('conv layer kernel against its reference', () => {
  it('every kernel size: 1x1, 3x3, 5x5, 7x7, 1x3, 11x11', () => {
    check({ c: 8, h: 5, w: 6, outputs: 8, kernel: [1, 1] });
    check({ c: 16, h: 7, w: 9, outputs: 10, kernel: [3, 3], pads: [1, 1, 1, 1] }, [1, 5, 12]);
    check({ c: 5, h: 9, w: 8, outputs: 3, kernel: [5, 5], pads: [2, 2, 2, 2] });
    check({ c: 3, h: 15, w: 13, outputs: 17, kernel: [7, 7], stride: [2, 2], pads: [3, 3, 3, 3] }, [5]);
    check({ c: 12, h: 4, w: 7, outputs: 9, kernel: [1, 3], pads: [0, 1, 0, 1] });
    check({ c: 3, h: 23, w: 23, outputs: 10, kernel: [11, 11], stride: [4, 4], pads: [2, 2, 2, 2] });
  });

  it('strides 1, 2 and 3, asymmetric padding, odd input and output widths', () => {
    check({ c: 9, h: 9, w: 11, outputs: 8, kernel: [3, 3], stride: [2, 2], pads: [0, 1, 2, 0] }, [5]);
    check({ c: 8, h: 10, w: 13, outputs: 17, kernel: [3, 2], stride: [3, 3], pads: [2, 0, 1, 1] }, [12]);
    check({ c: 4, h: 6, w: 7, outputs: 1, kernel: [2, 3], stride: [1, 2], pads: [1, 2, 0, 0] }, [1]);
    // A tap window wholly in the padding: only the bias is left.
    check({ c: 8, h: 2, w: 2, outputs: 8, kernel: [3, 3], pads: [3, 3, 0, 0] }, [1]);
  });

  it('groups 2, 4 and depthwise with channels that are not multiples of 8; C_in 1 and 3', () => {
    check({ c: 6, h: 5, w: 5, outputs: 10, kernel: [3, 3], pads: [1, 1, 1, 1], groups: 2 }, [5]);
    check({ c: 12, h: 4, w: 5, outputs: 20, kernel: [3, 3], pads: [1, 1, 1, 1], groups: 4 });
    check({ c: 32, h: 3, w: 5, outputs: 24, kernel: [1, 1], groups: 4 }); // whole vectors per group
    check({ c: 11, h: 5, w: 6, outputs: 11, kernel: [3, 3], pads: [1, 1, 1, 1], groups: 11 }, [5]); // depthwise, as grouped conv
    check({ c: 1, h: 7, w: 9, outputs: 3, kernel: [3, 3], pads: [1, 1, 1, 1] }, [1, 12]);
    check({ c: 3, h: 8, w: 8, outputs: 10, kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1] });
  });

  it('fused activations: ReLU, ReLU6, leaky ReLU; no bias', () => {
    const s = (x: number) => f16FromNumber(x);
    for (const activation of [{ kind: 'relu' }, { kind: 'clip', low: s(0), high: s(6) }, { kind: 'clip', low: s(0.25), high: s(0.5) }, { kind: 'leakyRelu', slope: s(0.1) }] as FusedActivation[]) {
      const out = check({ c: 8, h: 4, w: 5, outputs: 11, kernel: [3, 3], pads: [1, 1, 1, 1], activation }, [5]);
      if (activation.kind === 'relu') expect(out.data.some((x) => x === 0) && out.data.some((x) => x > 0 && x < 0x7c00)).toBe(true);
    }
    check({ c: 8, h: 3, w: 3, outputs: 8, kernel: [3, 3], pads: [1, 1, 1, 1], bias: false, activation: { kind: 'relu' } }, [1]);
  });

  it('a big layer: 3x3 64 -> 64 on 12x12 and a 1x1 256 -> 32 on 5x5', () => {
    check({ c: 64, h: 12, w: 12, outputs: 64, kernel: [3, 3], pads: [1, 1, 1, 1] }, [12]);
    check({ c: 256, h: 5, w: 5, outputs: 32, kernel: [1, 1] }, [5]);
  });

  it('is close to a plain f64 convolution (the packing puts each weight where the kernel reads it)', () => {
    const { params, input } = setUp({ c: 6, h: 6, w: 7, outputs: 9, kernel: [3, 2], stride: [2, 1], pads: [1, 0, 2, 1], groups: 3 });
    // Weights and bias of our own, to compute the sum from OIHW directly.
    const I = 2;
    const raw = randomF16(9 * I * 3 * 2);
    const rawBias = randomF16(9);
    const packed = { weights: packConvWeights(raw, { outputs: 9, inputsPerGroup: I, h: 3, w: 2 }, 3), bias: packBias(rawBias) };
    const got = runStage(bench, conv, [input], packed, params, { shaves: 3 }).output;
    const { h: Ho, w: Wo } = got.shape;
    for (let o = 0; o < 9; o++)
      for (let y = 0; y < Ho; y++)
        for (let x = 0; x < Wo; x++) {
          let sum = f16ToNumber(rawBias[o]!);
          for (let ci = 0; ci < I; ci++)
            for (let ky = 0; ky < 3; ky++)
              for (let kx = 0; kx < 2; kx++) {
                const [iy, ix] = [y * 2 - 1 + ky, x - 0 + kx];
                if (iy >= 0 && iy < 6 && ix >= 0 && ix < 7) sum += f16ToNumber(raw[((o * I + ci) * 3 + ky) * 2 + kx]!) * f16ToNumber(input.data[((Math.floor(o / 3) * I + ci) * 6 + iy) * 7 + ix]!);
              }
          expect(Math.abs(f16ToNumber(got.data[(o * Ho + y) * Wo + x]!) - sum)).toBeLessThan(2e-3 * Math.max(1, Math.abs(sum)));
        }
  });

  it('special values: NaN, infinities, signed zeros, subnormals, overflow to infinity', () => {
    const { params, input, constants } = setUp({ c: 8, h: 4, w: 4, outputs: 8, kernel: [3, 3], pads: [1, 1, 1, 1] });
    const specials = [0x7e00, 0x7c00, 0xfc00, 0x8000, 0x0000, 0x0001, 0x83ff, 0x7bff, 0xfbff];
    specials.forEach((v, i) => (input.data[i * 7] = v));
    const expected = conv.reference([input], constants, params);
    expect(runStage(bench, conv, [input], constants, params, { shaves: 4 }).output.data).toEqual(expected.data);
    expect(expected.data.some((x) => (x & 0x7fff) > 0x7c00)).toBe(true); // NaN came through
  });

  it('reads no further than the input when it ends at the end of CMX', () => {
    const { params, input, constants } = setUp({ c: 16, h: 3, w: 4, outputs: 8, kernel: [3, 3], pads: [0, 1, 1, 1] });
    const inPlace = hwc8(input.shape, CMX_END - hwc8Bytes(input.shape));
    const run = runStage(bench, conv, [input], constants, params, { shaves: 3, inputs: [inPlace], output: hwc8(conv.outputShape([input.shape], params), CMX_FREE) });
    expect(run.output.data).toEqual(conv.reference([input], constants, params).data);
  });

  it('uses compiled loops', () => {
    const before = bench.cores.compiledLoopRuns;
    check({ c: 16, h: 4, w: 4, outputs: 8, kernel: [3, 3], pads: [1, 1, 1, 1] });
    expect(bench.cores.compiledLoopRuns).toBeGreaterThan(before);
    expect(bench.cores.loopCompilerError).toBeNull();
  });
});

describe('conv parameters, weights and shapes', () => {
  const base: ConvParams = { kernel: { h: 3, w: 2 }, stride: { y: 2, x: 1 }, pads: { top: 1, left: 0, bottom: 2, right: 1 }, groups: 2, outputs: 6, activation: { kind: 'leakyRelu', slope: f16FromNumber(0.25) } };
  it('decodes what it encodes', () => {
    for (const activation of [{ kind: 'none' }, { kind: 'relu' }, base.activation, { kind: 'clip', low: 0, high: f16FromNumber(6) }] as FusedActivation[]) {
      const params = { ...base, activation };
      expect(conv.decode(conv.encode(params))).toEqual(params);
    }
  });
  it('refuses bad parameters and words', () => {
    expect(() => conv.encode({ ...base, kernel: { h: 0, w: 3 } })).toThrow(LayerError);
    expect(() => conv.encode({ ...base, stride: { y: 1.5, x: 1 } })).toThrow(/stride/);
    expect(() => conv.encode({ ...base, pads: { ...base.pads, left: -1 } })).toThrow(/padding/);
    expect(() => conv.encode({ ...base, outputs: 5 })).toThrow(/groups/);
    expect(() => conv.encode({ ...base, activation: { kind: 'leakyRelu', slope: f16FromNumber(1.5) } })).toThrow(/slope/);
    expect(() => conv.encode({ ...base, activation: { kind: 'clip', low: f16FromNumber(6), high: 0 } })).toThrow(/low <= high/);
    const words = conv.encode(base);
    expect(() => conv.decode(words.slice(1))).toThrow(/words/);
    expect(() => conv.decode([...words.slice(0, 10), 0, 0, 0, 0])).toThrow(/activation/);
    expect(() => conv.decode([...words.slice(0, 10), 7, 0, 0, 0])).toThrow(/activation/);
  });
  it('refuses shapes that do not fit', () => {
    const input: Shape = { c: 4, h: 5, w: 5 };
    expect(conv.outputShape([input], base)).toEqual({ c: 6, h: 3, w: 5 });
    expect(() => conv.outputShape([{ c: 3, h: 5, w: 5 }], base)).toThrow(/groups/);
    expect(() => conv.outputShape([{ c: 4, h: 1, w: 1 }], { ...base, kernel: { h: 5, w: 5 } })).toThrow(/does not fit/);
  });
  it('refuses weights that do not match', () => {
    expect(() => packConvWeights(new Uint16Array(5), { outputs: 2, inputsPerGroup: 1, h: 1, w: 2 }, 1)).toThrow(/values/);
    const input = randomTensor(4, 5, 5);
    const weights = packConvWeights(randomF16(6 * 2 * 3 * 2), { outputs: 6, inputsPerGroup: 2, h: 3, w: 2 }, 2);
    expect(() => conv.reference([input], { weights: weights.slice(0, 100) }, base)).toThrow(LayerError);
    expect(() => conv.reference([input], { weights }, { ...base, kernel: { h: 3, w: 3 } })).toThrow(/header/);
    const badPad = weights.slice();
    new DataView(badPad.buffer).setFloat32(16 + 4 * 7, 1, true); // og 0, channel 0, output 7 of 6
    expect(() => conv.reference([input], { weights: badPad }, base)).toThrow(/pad lane/);
    expect(() => conv.reference([input], { weights, bias: new Uint8Array(8) }, base)).toThrow(/bias/);
  });
  it('counts MACs', () => {
    expect(conv.flops([{ c: 4, h: 5, w: 5 }], base)).toBe(6 * 3 * 5 * 2 * 3 * 2);
  });
});
