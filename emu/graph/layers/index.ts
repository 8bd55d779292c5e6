/** Every layer the graph format knows, by stage type. */
import type { Layer, StageType } from './layer.js';
import { relu } from './relu.js';

export const LAYERS: ReadonlyMap<StageType, Layer<any>> = new Map<StageType, Layer<any>>([relu].map((layer) => [layer.type, layer]));
