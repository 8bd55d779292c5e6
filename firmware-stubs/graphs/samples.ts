/**
 * The sample graphs committed in firmware-stubs/graphs/, built from layers with seeded
 * constants so that a rebuild gives the same bytes (test/firmware-stubs.test.ts checks it).
 */
import { GraphBuilder } from '../../emu/graph/builder.js';
import { f16FromNumber } from '../../emu/graph/f16.js';
import { relu } from '../../emu/graph/layers/relu.js';
import { writeGraph } from '../../emu/graph/writer.js';

/** The smallest graph: ReLU then leaky ReLU on a 16 x 8 x 8 tensor, HWC8 in and out. */
export function tinyReluGraph(): Uint8Array {
  const b = new GraphBuilder({ shaves: 16 });
  const x = b.input('data', { c: 16, h: 8, w: 8 });
  const y = b.stage(relu, { slope: 0 }, [x], { name: 'relu' });
  b.output('out', b.stage(relu, { slope: f16FromNumber(0.125) }, [y], { name: 'leaky' }));
  return writeGraph(b.build());
}

export const SAMPLE_GRAPHS: Record<string, () => Uint8Array> = {
  'graphs/tiny-relu.graph': tinyReluGraph,
};
