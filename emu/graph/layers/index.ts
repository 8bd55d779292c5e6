/** Every layer the graph format knows, by stage type. */
import { clip } from './clip.js';
import { prod, sum } from './eltwise.js';
import type { Layer, StageType } from './layer.js';
import { relu } from './relu.js';
import { scale } from './scale.js';
import { sigmoid } from './sigmoid.js';
import { tanh } from './tanh.js';

export const LAYERS: ReadonlyMap<StageType, Layer<any>> = new Map<StageType, Layer<any>>([relu, clip, sum, prod, scale, sigmoid, tanh].map((layer) => [layer.type, layer]));
