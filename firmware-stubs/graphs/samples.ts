/**
 * The sample graphs committed in firmware-stubs/graphs/, built from layers with seeded
 * constants so that a rebuild gives the same bytes (test/firmware-stubs.test.ts checks it).
 */
import { GraphBuilder, planar } from '../../emu/graph/builder.js';
import { f16FromNumber } from '../../emu/graph/f16.js';
import type { FusedActivation } from '../../emu/graph/layers/activation.js';
import { avgPool } from '../../emu/graph/layers/avg-pool.js';
import { clip } from '../../emu/graph/layers/clip.js';
import { concat } from '../../emu/graph/layers/concat.js';
import { conv, packBias, packConvWeights } from '../../emu/graph/layers/conv.js';
import { copy } from '../../emu/graph/layers/copy.js';
import { depthConv, packDepthConvWeights } from '../../emu/graph/layers/depth-conv.js';
import { prod, sum } from '../../emu/graph/layers/eltwise.js';
import { fullyConnected, packFullyConnectedWeights } from '../../emu/graph/layers/fully-connected.js';
import type { Shape } from '../../emu/graph/layers/layer.js';
import { maxPool } from '../../emu/graph/layers/max-pool.js';
import { relu } from '../../emu/graph/layers/relu.js';
import { packChannelVector, scale } from '../../emu/graph/layers/scale.js';
import { sigmoid } from '../../emu/graph/layers/sigmoid.js';
import { softmax } from '../../emu/graph/layers/softmax.js';
import { tanh } from '../../emu/graph/layers/tanh.js';
import type { TensorHandle } from '../../emu/graph/builder.js';
import { writeGraph } from '../../emu/graph/writer.js';

/** Seeded weights, uniform in [-bound, bound), as f16. */
function weights(seed: number) {
  let state = seed >>> 0 || 1;
  return (count: number, bound: number) =>
    Uint16Array.from({ length: count }, () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return f16FromNumber(((state >>> 0) / 2 ** 32) * 2 * bound - bound);
    });
}

/** The layers with weights, as a network author writes them: He-scaled seeded weights, a small bias. */
function layers(b: GraphBuilder, seed: number) {
  const random = weights(seed);
  const pads = (p: number) => ({ top: p, left: p, bottom: p, right: p });
  const activation = (kind: 'none' | 'relu' | 'relu6'): FusedActivation => (kind === 'relu6' ? { kind: 'clip', low: 0, high: f16FromNumber(6) } : { kind });
  return {
    conv(x: TensorHandle, outputs: number, k: number, stride: number, pad: number, act: 'none' | 'relu' | 'relu6', name: string, groups = 1) {
      const inputsPerGroup = x.shape.c / groups;
      const w = random(outputs * inputsPerGroup * k * k, Math.sqrt(6 / (inputsPerGroup * k * k)));
      return b.stage(
        conv,
        { kernel: { h: k, w: k }, stride: { y: stride, x: stride }, pads: pads(pad), groups, outputs, activation: activation(act) },
        [x],
        { name, constants: { weights: packConvWeights(w, { outputs, inputsPerGroup, h: k, w: k }, groups), bias: packBias(random(outputs, 0.1)) } },
      );
    },
    depthwise(x: TensorHandle, k: number, stride: number, pad: number, act: 'none' | 'relu' | 'relu6', name: string) {
      const c = x.shape.c;
      return b.stage(depthConv, { kernel: { h: k, w: k }, stride: { y: stride, x: stride }, pads: pads(pad), activation: activation(act) }, [x], {
        name,
        constants: { weights: packDepthConvWeights(random(c * k * k, Math.sqrt(6 / (k * k))), { channels: c, h: k, w: k }), bias: packBias(random(c, 0.1)) },
      });
    },
    fc(x: TensorHandle, outputs: number, act: 'none' | 'relu', name: string) {
      const inputs = x.shape.c * x.shape.h * x.shape.w;
      return b.stage(fullyConnected, { outputs, activation: activation(act) }, [x], {
        name,
        constants: { weights: packFullyConnectedWeights(random(outputs * inputs, Math.sqrt(6 / inputs)), outputs, x.shape), bias: packBias(random(outputs, 0.1)) },
      });
    },
    scale(x: TensorHandle, name: string) {
      const c = x.shape.c;
      return b.stage(scale, { relu: false }, [x], { name, constants: { weights: packChannelVector(random(c, 1.5), c), bias: packChannelVector(random(c, 0.5), c) } });
    },
  };
}

const pool = (k: number, s: number, global = false) => ({ kernelH: k, kernelW: k, strideY: s, strideX: s, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, global });
const globalPool = (x: TensorHandle) => ({ ...pool(x.shape.h, 1, true), kernelW: x.shape.w, countIncludePad: false });

/** The smallest graph: ReLU then leaky ReLU on a 16 x 8 x 8 tensor, HWC8 in and out. */
export function tinyReluGraph(): Uint8Array {
  const b = new GraphBuilder({ shaves: 16 });
  const x = b.input('data', { c: 16, h: 8, w: 8 });
  const y = b.stage(relu, { slope: 0 }, [x], { name: 'relu' });
  b.output('out', b.stage(relu, { slope: f16FromNumber(0.125) }, [y], { name: 'leaky' }));
  return writeGraph(b.build());
}

/**
 * A small image classifier as a network author would lay it out (seeded weights, not trained):
 * a 3 x 64 x 64 planar image, three convolutions with max pooling, a depthwise and a pointwise
 * convolution (MobileNet's pattern), global average pooling, a classifier of 100 classes and
 * softmax. The largest sample: the benchmarks time it.
 */
export function demoCnnGraph(): Uint8Array {
  const b = new GraphBuilder({ shaves: 16 });
  const image: Shape = { c: 3, h: 64, w: 64 };
  const l = layers(b, 2485);
  let x = b.input('image', image, planar(image));
  x = b.stage(copy, {}, [x], { name: 'image to HWC8' });
  x = l.conv(x, 32, 3, 1, 1, 'relu', 'conv1 3x3');
  x = b.stage(maxPool, pool(2, 2), [x], { name: 'pool1 2x2' });
  x = l.conv(x, 64, 3, 1, 1, 'relu', 'conv2 3x3');
  x = b.stage(maxPool, pool(2, 2), [x], { name: 'pool2 2x2' });
  x = l.conv(x, 128, 3, 1, 1, 'relu', 'conv3 3x3');
  x = b.stage(maxPool, pool(2, 2), [x], { name: 'pool3 2x2' });
  x = l.depthwise(x, 3, 1, 1, 'relu6', 'dw4 3x3');
  x = l.conv(x, 256, 1, 1, 0, 'relu6', 'pw4 1x1');
  x = b.stage(avgPool, globalPool(x), [x], { name: 'global pool' });
  x = l.fc(x, 100, 'none', 'classifier');
  b.output('probabilities', b.stage(softmax, {}, [x], { name: 'softmax' }));
  return writeGraph(b.build());
}

/** Every stage type at least once, in a graph with branches: what the tests run on both chips. */
export function everyStageGraph(): Uint8Array {
  const b = new GraphBuilder({ shaves: 12 });
  const image: Shape = { c: 5, h: 19, w: 21 };
  const l = layers(b, 450);
  const input = b.input('data', image, planar(image));
  const x = b.stage(copy, {}, [input], { name: 'copy to HWC8' });
  const c1 = l.conv(x, 12, 3, 1, 1, 'none', 'conv 3x3');
  const r = b.stage(relu, { slope: f16FromNumber(0.0625) }, [c1], { name: 'leaky relu' });
  const s = b.stage(sigmoid, {}, [c1], { name: 'sigmoid' });
  const t = b.stage(tanh, {}, [c1], { name: 'tanh' });
  const added = b.stage(sum, { relu: false }, [s, t], { name: 'sum' });
  const multiplied = b.stage(prod, {}, [added, r], { name: 'prod' });
  const scaled = l.scale(multiplied, 'scale');
  const clipped = b.stage(clip, { low: f16FromNumber(-1), high: f16FromNumber(2) }, [scaled], { name: 'clip' });
  const joined = b.stage(concat, {}, [clipped, x], { name: 'concat' });
  const pooled = b.stage(maxPool, pool(3, 2), [joined], { name: 'max pool 3x3/2' });
  const dw = l.depthwise(pooled, 3, 1, 1, 'relu', 'depthwise 3x3');
  const averaged = b.stage(avgPool, { ...pool(2, 2), countIncludePad: false }, [dw], { name: 'avg pool 2x2' });
  const pointwise = l.conv(averaged, 16, 1, 1, 0, 'relu6', 'conv 1x1');
  const g = b.stage(avgPool, globalPool(pointwise), [pointwise], { name: 'global avg pool' });
  const fc = l.fc(g, 10, 'relu', 'fc');
  b.output('out', b.stage(softmax, {}, [fc], { name: 'softmax' }));
  return writeGraph(b.build());
}

export const SAMPLE_GRAPHS: Record<string, () => Uint8Array> = {
  'graphs/tiny-relu.graph': tinyReluGraph,
  'graphs/demo-cnn.graph': demoCnnGraph,
  'graphs/every-stage.graph': everyStageGraph,
};
