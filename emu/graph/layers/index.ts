/** Every layer the graph format knows, by stage type. */
import { avgPool } from './avg-pool.js';
import { clip } from './clip.js';
import { concat } from './concat.js';
import { conv } from './conv.js';
import { copy } from './copy.js';
import { depthConv } from './depth-conv.js';
import { prod, sum } from './eltwise.js';
import { fullyConnected } from './fully-connected.js';
import type { Layer, StageType } from './layer.js';
import { maxPool } from './max-pool.js';
import { relu } from './relu.js';
import { scale } from './scale.js';
import { sigmoid } from './sigmoid.js';
import { softmax } from './softmax.js';
import { tanh } from './tanh.js';

export const LAYERS: ReadonlyMap<StageType, Layer<any>> = new Map<StageType, Layer<any>>(
  [conv, depthConv, fullyConnected, relu, clip, sum, prod, scale, sigmoid, tanh, maxPool, avgPool, softmax, concat, copy].map((layer) => [layer.type, layer]),
);
