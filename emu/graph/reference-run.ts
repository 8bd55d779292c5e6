/**
 * A whole graph run by its layers' references, stage after stage: what the stick must give, bit
 * for bit, for the same input. Tensors are matched by where they live (location and offset).
 */
import type { Graph } from './reader.js';
import type { Tensor } from './layers/layer.js';
import type { GraphTensor } from './writer.js';

const key = (t: GraphTensor) => `${t.location}:${t.offset}`;

export function referenceInference(graph: Graph, input: Tensor): Tensor {
  const values = new Map<string, Tensor>([[key(graph.input), input]]);
  for (const [index, stage] of graph.stages.entries()) {
    const inputs = stage.inputs.map((t) => {
      const value = values.get(key(t));
      if (!value) throw new Error(`stage ${index} '${stage.name}' reads ${key(t)}, which no earlier stage wrote`);
      return value;
    });
    values.set(key(stage.output), stage.layer.reference(inputs, stage.constants, stage.params));
  }
  const output = values.get(key(graph.output));
  if (!output) throw new Error('no stage writes the graph output');
  return output;
}
