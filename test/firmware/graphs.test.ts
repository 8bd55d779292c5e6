/**
 * The sample graphs (firmware-stubs/graphs/) on both chips, through mvnc as OpenVINO's library
 * drives it: every output equals the references run stage by stage, bit for bit, and every
 * session replays.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { f16FromNumber } from '../../emu/graph/f16.js';
import { readGraph, type Graph } from '../../emu/graph/reader.js';
import { referenceInference } from '../../emu/graph/reference-run.js';
import type { Tensor } from '../../emu/graph/layers/layer.js';
import { tensorBytes, tensorFromBytes } from '../../emu/graph/tensor-place.js';
import { placeOf } from '../../emu/graph/writer.js';
import { openStickSession } from '../../emu/host/stick-session.js';
import { replay } from '../../emu/machine/replay.js';
import { findModel } from '../../emu/models/index.js';
import { LAYERS } from '../../emu/graph/layers/index.js';
import { xorshift32 } from '../support/random.js';

const sample = (name: string) => readFileSync(new URL(`../../firmware-stubs/graphs/${name}`, import.meta.url));

function randomInput(graph: Graph, seed: number): Tensor {
  const next = xorshift32(seed);
  const { c, h, w } = graph.input.shape;
  return { shape: graph.input.shape, data: Uint16Array.from({ length: c * h * w }, () => f16FromNumber((next() / 2 ** 32) * 4 - 2)) };
}

describe('sample graphs on the emulated sticks', () => {
  it('every-stage.graph holds every stage type there is', () => {
    const graph = readGraph(sample('every-stage.graph'));
    expect(new Set(graph.stages.map((s) => s.type))).toEqual(new Set(LAYERS.keys()));
  });

  for (const model of ['ma2450', 'ma2485'] as const) {
    it(`${model}: every-stage and demo-cnn give the references' outputs, twice, and replay`, async () => {
      const session = await openStickSession({ model });
      for (const name of ['every-stage.graph', 'demo-cnn.graph']) {
        const blob = sample(name);
        const graph = readGraph(blob);
        const g = await session.mvnc.allocateGraph(blob);
        expect(g.stages).toBe(graph.stages.length);
        const input = await session.mvnc.createFifo('host-write', g.input, 2);
        const output = await session.mvnc.createFifo('host-read', g.output, 2);
        for (const seed of [1, 2]) {
          const x = randomInput(graph, seed);
          const result = tensorFromBytes(placeOf(graph.output), await g.infer(input, output, tensorBytes(placeOf(graph.input), x)));
          expect(result.data, `${name} seed ${seed}`).toEqual(referenceInference(graph, x).data);
        }
        const timing = await g.timing();
        expect(timing.slice(0, graph.stages.length).every((ms) => ms > 0)).toBe(true);
        await input.destroy();
        await output.destroy();
        await g.destroy();
      }
      await session.close();
      expect(replay(findModel(model)!, session.port.recorder!.events).divergence).toBeNull();
    }, 120_000);
  }
});
