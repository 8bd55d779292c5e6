import { describe, expect, it } from 'vitest';
import { ma2450 } from '../../emu/models/ma2450.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { concat } from '../../emu/graph/layers/concat.js';
import { LayerError, type Tensor } from '../../emu/graph/layers/layer.js';
import { KernelFailed, runStage } from '../../emu/graph/stage-runner.js';
import { hwc8, spanOf, type TensorPlace } from '../../emu/graph/tensor-place.js';
import { xorshift32 } from '../support/random.js';

const bench = new KernelBench(ma2450);
const rand = xorshift32(101);
const CMX = 0x7018_0000;
/** Any bit patterns (a copy must not care), NaNs and subnormals included. */
const randomTensor = (c: number, h: number, w: number): Tensor => ({ shape: { c, h, w }, data: Uint16Array.from({ length: c * h * w }, () => rand() & 0xffff) });

/**
 * Runs the stage with the inputs' pad lanes full of ones (NaNs), put there behind the runner's
 * back as it writes the inputs; returns the run and how many pad lanes were dirtied.
 */
function runWithDirtyPads(inputs: readonly Tensor[], places: readonly TensorPlace[], output: TensorPlace, shaves: number) {
  const original = bench.write.bind(bench);
  let dirtied = 0;
  bench.write = (core, address, data) => {
    const place = places.find((p) => p.address === address && data.length === spanOf(p));
    if (!place) return original(core, address, data);
    const dirty = data.slice();
    for (let pixel = 0; pixel < place.shape.h * place.shape.w; pixel++) {
      for (let lane = place.shape.c; lane < place.xStride / 2; lane++, dirtied++) dirty.fill(0xff, pixel * place.xStride + 2 * lane, pixel * place.xStride + 2 * lane + 2);
    }
    return original(core, address, dirty);
  };
  try {
    return { run: runStage(bench, concat, inputs, {}, {}, { shaves, inputs: places, output }), dirtied };
  } finally {
    bench.write = original;
  }
}

function check(c0: number, c1: number, h: number, w: number, shaves: number): void {
  const a = randomTensor(c0, h, w);
  const b = randomTensor(c1, h, w);
  const expected = concat.reference([a, b], {}, {});
  expect(runStage(bench, concat, [a, b], {}, {}, { shaves }).output.data).toEqual(expected.data);
  const places = [hwc8(a.shape, CMX), hwc8(b.shape, CMX + 0x20000)];
  const output = hwc8(expected.shape, CMX + 0x40000);
  const { run, dirtied } = runWithDirtyPads([a, b], places, output, shaves);
  expect(run.output.data).toEqual(expected.data);
  expect(dirtied).toBe(h * w * (places[0]!.xStride / 2 - c0 + places[1]!.xStride / 2 - c1));
  const out = bench.read(0, output.address, spanOf(output));
  for (let pixel = 0; pixel < h * w; pixel++) for (let lane = expected.shape.c; lane < output.xStride / 2; lane++) expect(out[pixel * output.xStride + 2 * lane]! | out[pixel * output.xStride + 2 * lane + 1]!).toBe(0);
}

describe('concat kernel against its reference', () => {
  for (const [c0, c1, h, w, shaves] of [
    [64, 64, 5, 7, 12], [8, 3, 3, 3, 5], [16, 1, 2, 5, 1], // in1 starts at a vector
    [3, 5, 4, 3, 12], [1, 1, 3, 2, 2], [7, 9, 2, 3, 5], [5, 64, 3, 4, 3], [13, 2, 1, 1, 1], // inside one
  ] as const) {
    it(`${c0} + ${c1} channels at ${h}x${w}, ${shaves} SHAVEs, DDR and CMX, dirty pad lanes`, () => check(c0, c1, h, w, shaves));
  }
  it('rows longer than scratch go in chunks', () => check(1001, 24, 1, 40, 2)); // 2064 + 16 bytes a pixel: 31 fit
  it('refuses inputs that do not fit together', () => {
    expect(() => concat.outputShape([{ c: 3, h: 2, w: 2 }, { c: 3, h: 2, w: 3 }], {})).toThrow(/same height and width/);
    expect(() => concat.outputShape([{ c: 3, h: 2, w: 2 }], {})).toThrow(LayerError);
    expect(() => concat.outputShape([{ c: 3, h: 1, w: 1 }, { c: 40000, h: 1, w: 1 }], {})).toThrow(/scratch/);
    expect(() => concat.decode([0])).toThrow(LayerError);
    const a = randomTensor(3, 2, 2);
    const chw: TensorPlace = { address: CMX, shape: a.shape, cStride: 8, yStride: 4, xStride: 2 };
    expect(() => runStage(bench, concat, [a, a], {}, {}, { inputs: [chw, hwc8(a.shape, CMX + 0x1000)] })).toThrow(KernelFailed);
    expect(() => runStage(bench, { ...concat, scratchBytes: () => 16 }, [a, a], {}, {})).toThrow(/halted with code 2/);
  });
});
