import { describe, expect, it } from 'vitest';
import { ma2450 } from '../../emu/models/ma2450.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { copy } from '../../emu/graph/layers/copy.js';
import { LayerError, type Shape, type Tensor } from '../../emu/graph/layers/layer.js';
import { runStage } from '../../emu/graph/stage-runner.js';
import { hwc8, spanOf, type TensorPlace } from '../../emu/graph/tensor-place.js';
import { xorshift32 } from '../support/random.js';

const bench = new KernelBench(ma2450);
const rand = xorshift32(19);
const CMX = 0x7018_0000;
const DDR = 0x8000_0000;
const randomTensor = (c: number, h: number, w: number): Tensor => ({ shape: { c, h, w }, data: Uint16Array.from({ length: c * h * w }, () => rand() & 0xffff) });

/** The host's planar layout. */
const chw = (shape: Shape, address: number): TensorPlace => ({ address, shape, cStride: 2 * shape.h * shape.w, yStride: 2 * shape.w, xStride: 2 });
/** Channels last without padding, rows with a gap after them. */
const hwcGapped = (shape: Shape, address: number): TensorPlace => ({ address, shape, cStride: 2, xStride: 2 * shape.c, yStride: 2 * shape.c * shape.w + 12 });
/** Planar with every stride stretched. */
const stretched = (shape: Shape, address: number): TensorPlace => ({ address, shape, cStride: 4 * shape.h * (shape.w * 3 + 1), yStride: 2 * (shape.w * 3 + 1), xStride: 6 });

type PlaceOf = (shape: Shape, address: number) => TensorPlace;
const LAYOUTS: readonly [string, PlaceOf][] = [['CHW', chw], ['HWC8', hwc8], ['HWC, gapped rows', hwcGapped], ['stretched CHW', stretched]];

/** Copies from one layout to another; the output's pad lanes (if HWC8) must come out zero, whatever the input's hold. */
function check(shape: Shape, from: PlaceOf, to: PlaceOf, base: number, shaves: number): void {
  const input = randomTensor(shape.c, shape.h, shape.w);
  const inPlace = from(shape, base);
  const outPlace = to(shape, base + 0x20000);
  const original = bench.write.bind(bench);
  bench.write = (core, address, data) => {
    if (address !== inPlace.address || data.length !== spanOf(inPlace)) return original(core, address, data);
    const dirty = data.slice();
    if (inPlace.xStride === 2 * Math.ceil(shape.c / 8) * 8 && inPlace.cStride === 2) {
      for (let p = 0; p < shape.h * shape.w; p++) dirty.fill(0xff, p * inPlace.xStride + 2 * shape.c, (p + 1) * inPlace.xStride);
    }
    return original(core, address, dirty);
  };
  try {
    expect(runStage(bench, copy, [input], {}, {}, { shaves, inputs: [inPlace], output: outPlace }).output.data).toEqual(input.data);
  } finally {
    bench.write = original;
  }
  if (to === hwc8) {
    const out = bench.read(0, outPlace.address, spanOf(outPlace));
    const pads = [];
    for (let p = 0; p < shape.h * shape.w; p++) for (let at = p * outPlace.xStride + 2 * shape.c; at < (p + 1) * outPlace.xStride; at++) pads.push(out[at]);
    expect(pads.every((b) => b === 0)).toBe(true);
  }
}

describe('copy kernel against its reference', () => {
  for (const [fromName, from] of LAYOUTS) {
    for (const [toName, to] of LAYOUTS) {
      it(`${fromName} to ${toName}: odd shapes, C < 8 and not a multiple of 8, DDR and CMX`, () => {
        for (const [c, h, w, shaves] of [[3, 5, 7, 12], [1, 2, 3, 1], [17, 3, 2, 5], [8, 1, 1, 2], [20, 2, 3, 3]] as const) {
          check({ c, h, w }, from, to, DDR, shaves);
          check({ c, h, w }, from, to, CMX, shaves);
        }
      });
    }
  }
  it('a 3 x 224 x 224 image from the host\'s CHW to HWC8 and back', () => {
    const shape = { c: 3, h: 224, w: 224 };
    const image = randomTensor(3, 224, 224);
    const there = runStage(bench, copy, [image], {}, {}, { inputs: [chw(shape, DDR)], output: hwc8(shape, DDR + 0x100000) });
    expect(there.output.data).toEqual(image.data);
    const back = runStage(bench, copy, [there.output], {}, {}, { inputs: [hwc8(shape, DDR + 0x100000)], output: chw(shape, DDR + 0x200000) });
    expect(back.output.data).toEqual(image.data);
  });
  it('more channels than pixels (1000 x 1 x 1) goes along the channels', () => check({ c: 1000, h: 1, w: 1 }, chw, hwc8, DDR, 12));
  it('the shape comes through; words are refused', () => {
    expect(copy.outputShape([{ c: 3, h: 4, w: 5 }], {})).toEqual({ c: 3, h: 4, w: 5 });
    expect(() => copy.outputShape([], {})).toThrow(LayerError);
    expect(() => copy.decode([1])).toThrow(LayerError);
  });
});
