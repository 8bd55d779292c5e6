/**
 * myriad-emu infer: boots an emulated stick, allocates a graph through mvnc as a host program
 * would, runs inferences and prints the output's summary and a per-stage profile like
 * mvNCProfile's.
 */
import { parseArgs } from 'node:util';
import { f16FromNumber, f16ToNumber } from '../graph/f16.js';
import { readGraph, GraphError, type Graph } from '../graph/reader.js';
import type { Tensor } from '../graph/layers/layer.js';
import { tensorBytes, tensorFromBytes } from '../graph/tensor-place.js';
import { placeOf } from '../graph/writer.js';
import { MvncError, type StageProfile } from '../host/mvnc.js';
import { firmwareImagePath, openStickSession, SessionError } from '../host/stick-session.js';
import { XLinkError } from '../host/xlink.js';
import { readFileSync } from 'node:fs';
import { findModel, models } from '../models/index.js';
import { emulatorVersion } from '../package-root.js';
import { TraceWriter } from '../trace/format.js';
import { EXIT, InputError, readInput, UsageError, type Print } from './errors.js';

export const INFER_HELP = `Usage: myriad-emu infer <graph> [--input FILE | --random SEED] [--count N] [--model ma2450|ma2485]
                       [--flavour openvino|ncsdk2] [--profile] [--json] [--record FILE]

Boots an emulated stick with the open firmware, allocates the graph (a myriad-emu graph file,
docs/graph-format.md) through mvnc as the host libraries do, runs N inferences on the SHAVEs and
prints the output (top 5 for a classifier) and the device's per-stage time (GET_TIMING).
  --input    f16 input: C*H*W values in CHW order, little-endian (or exactly the graph's input
             element, in its own layout)
  --random   a seeded input, uniform in [-1, 1) (default: seed 1)
  --count    inferences to run (default 1); each must give the same output and cycles
  --model    ma2485 (NCS2, default) or ma2450 (NCS)
  --flavour  the mvnc protocol: openvino (OpenVINO 2021.4, default) or ncsdk2
  --profile  also read the SHAVEs' counters per stage: bundles, unit occupancy, memory traffic
  --json     one JSON document instead of text (see docs/inference.md)
  --record   write the session's trace to FILE (myriad-emu replay FILE)
Exit 0 when every inference ran, 1 when the device refused the graph or an inference failed,
3 for a graph file that does not read.`;


export interface StageReport {
  readonly index: number;
  readonly name: string;
  readonly layer: string;
  readonly mflops: number;
  readonly cycles: number;
  readonly ms: number;
  readonly shaves: number;
  readonly megabytesPerSecond?: number;
  /** Share of the stage's SHAVE cycles each unit issued an operation in (0..1), slot order. */
  readonly occupancy?: Readonly<Record<string, number>>;
  readonly stallCycles?: number;
}

const UNITS = ['peu', 'bru', 'lsu0', 'lsu1', 'iau', 'sau', 'vau', 'cmu'] as const;

export function stageReports(graph: Graph, timing: Float32Array, clockHz: number, profile: readonly StageProfile[] | null): StageReport[] {
  return graph.stages.map((stage, index) => {
    const ms = timing[index]!;
    const p = profile?.[index];
    const flops = stage.layer.flops(
      stage.inputs.map((t) => t.shape),
      stage.params,
    );
    const base = { index, name: stage.name, layer: stage.layer.name, mflops: flops / 1e6, cycles: p ? p.cycles : Math.round((ms * clockHz) / 1000), ms, shaves: p?.shaves ?? 0 };
    if (!p) return base;
    const shaveCycles = p.cycles * p.shaves;
    return {
      ...base,
      megabytesPerSecond: ms > 0 ? (p.ddrBytes + p.cmxBytes) / 1e6 / (ms / 1000) : 0,
      occupancy: Object.fromEntries(UNITS.map((unit, u) => [unit, shaveCycles ? p.unitOps[u]! / shaveCycles : 0])),
      stallCycles: p.stalls,
    };
  });
}

export function formatProfile(reports: readonly StageReport[], total: { ms: number; deviceMs?: number }): string[] {
  const lines = [
    `${'#'.padStart(3)}  ${'stage'.padEnd(24)} ${'layer'.padEnd(15)} ${'MFLOPs'.padStart(8)} ${'MB/s'.padStart(9)} ${'cycles'.padStart(10)} ${'ms'.padStart(9)} ${'SHAVEs'.padStart(6)}  occupancy (VAU LSU IAU SAU CMU)`,
  ];
  for (const r of reports) {
    const o = r.occupancy;
    const occupancy = o ? [o.vau!, (o.lsu0! + o.lsu1!) / 2, o.iau!, o.sau!, o.cmu!].map((x) => `${Math.round(100 * x)}%`.padStart(4)).join(' ') : '(--profile)';
    lines.push(
      `${String(r.index).padStart(3)}  ${r.name.slice(0, 24).padEnd(24)} ${r.layer.padEnd(15)} ${r.mflops.toFixed(3).padStart(8)} ${(r.megabytesPerSecond === undefined ? '' : r.megabytesPerSecond.toFixed(0)).padStart(9)} ${String(r.cycles).padStart(10)} ${r.ms.toFixed(4).padStart(9)} ${String(r.shaves || '').padStart(6)}  ${occupancy}`,
    );
  }
  lines.push(`total stage time ${total.ms.toFixed(4)} ms${total.deviceMs === undefined ? '' : `; the whole inference on the device ${total.deviceMs.toFixed(4)} ms`}`);
  return lines;
}

/** The top k classes of a classifier output (C x 1 x 1), largest first. */
export function topK(output: Tensor, k = 5): { index: number; value: number }[] {
  return Array.from(output.data, (h, index) => ({ index, value: f16ToNumber(h) }))
    .filter((e) => !Number.isNaN(e.value))
    .sort((a, b) => b.value - a.value || a.index - b.index)
    .slice(0, k);
}

function randomInput(graph: Graph, seed: number): Tensor {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const { c, h, w } = graph.input.shape;
  return { shape: graph.input.shape, data: Uint16Array.from({ length: c * h * w }, () => f16FromNumber(next() * 2 - 1)) };
}

export async function inferCommand(args: string[], print: Print): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      input: { type: 'string' },
      random: { type: 'string' },
      count: { type: 'string', default: '1' },
      model: { type: 'string', default: 'ma2485' },
      flavour: { type: 'string', default: 'openvino' },
      profile: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      record: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('infer takes one graph file');
  const count = Number(values.count);
  if (!Number.isInteger(count) || count < 1 || count > 100_000) throw new UsageError('--count takes a number of inferences, 1 to 100000');
  if (values.input !== undefined && values.random !== undefined) throw new UsageError('--input and --random are alternatives');
  const seed = values.random === undefined ? 1 : Number(values.random);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UsageError('--random takes a seed, 0 to 4294967295');
  const modelName = values.model!;
  const model = findModel(modelName);
  if (!model || (modelName !== 'ma2450' && modelName !== 'ma2485')) throw new UsageError(`unknown model '${modelName}': ${Object.keys(models).join(' or ')}`);
  const flavour = values.flavour!;
  if (flavour !== 'openvino' && flavour !== 'ncsdk2') throw new UsageError(`unknown flavour '${flavour}': openvino or ncsdk2`);

  const blob = readInput(positionals[0], 'graph');
  let graph: Graph;
  try {
    graph = readGraph(blob);
  } catch (error) {
    if (error instanceof GraphError) throw new InputError(`${positionals[0]}: ${error.message}`);
    throw error;
  }
  const inPlace = placeOf(graph.input);
  const outPlace = placeOf(graph.output);
  let input: Tensor;
  let element: Uint8Array;
  if (values.input !== undefined) {
    const bytes = readInput(values.input, 'input');
    const { c, h, w } = graph.input.shape;
    if (bytes.length === 2 * c * h * w) {
      input = { shape: graph.input.shape, data: new Uint16Array(new Uint8Array(bytes).buffer) }; // a copy: a Buffer may share a pool
      element = tensorBytes(inPlace, input);
    } else if (bytes.length === graph.header.inputs_size) {
      element = bytes;
      input = tensorFromBytes(inPlace, bytes);
    } else {
      throw new InputError(`${values.input}: ${bytes.length} bytes, not ${2 * c * h * w} (${c}x${h}x${w} f16 in CHW order) nor the element's ${graph.header.inputs_size}`);
    }
  } else {
    input = randomInput(graph, seed);
    element = tensorBytes(inPlace, input);
  }

  const image = readFileSync(firmwareImagePath(modelName, flavour));
  const trace = values.record ? new TraceWriter(values.record, { emulator: emulatorVersion(), images: [image] }) : null;
  let session: Awaited<ReturnType<typeof openStickSession>>;
  try {
    session = await openStickSession({ model: modelName, flavour, image, ...(trace ? { attach: (stick) => trace.attach(stick) } : {}) });
  } catch (error) {
    trace?.close();
    if (error instanceof SessionError || error instanceof XLinkError || error instanceof MvncError) {
      print(`the stick did not come up: ${error.message}`);
      return EXIT.failed;
    }
    throw error;
  }
  try {
    const { mvnc } = session;
    if (values.profile) await mvnc.setProfiling(true);
    const g = await mvnc.allocateGraph(blob);
    const fifoIn = await mvnc.createFifo('host-write', g.input, 2);
    const fifoOut = await mvnc.createFifo('host-read', g.output, 2);
    let first: Uint8Array | null = null;
    let firstTiming: Float32Array | null = null;
    const started = performance.now();
    const deviceStart = session.hub.now;
    for (let i = 0; i < count; i++) {
      const result = await g.infer(fifoIn, fifoOut, element);
      const timing = await g.timing();
      if (!first) {
        first = result;
        firstTiming = timing;
      } else if (Buffer.compare(Buffer.from(first), Buffer.from(result)) !== 0 || timing.slice(0, graph.stages.length).some((t, s) => t !== firstTiming![s])) {
        print(`inference ${i + 1} differs from the first: the emulator is not deterministic here (a bug; please report it with --record)`);
        return EXIT.failed;
      }
    }
    const wallMs = performance.now() - started;
    const virtualMs = (session.hub.now - deviceStart) / 1e6;
    const profile = values.profile ? await g.profile() : null;
    const output = tensorFromBytes(outPlace, first!);
    const reports = stageReports(graph, firstTiming!, model.clocks.systemHz, profile);
    const stagesMs = reports.reduce((sum, r) => sum + r.ms, 0);
    const deviceMs = flavour === 'openvino' ? firstTiming![graph.stages.length + 1] : undefined;
    const classifier = output.shape.h === 1 && output.shape.w === 1 && output.shape.c > 1;
    const values16 = Array.from(output.data, f16ToNumber);
    const finite = values16.filter((v) => Number.isFinite(v));
    const summary = {
      shape: output.shape,
      min: Math.min(...finite),
      max: Math.max(...finite),
      mean: finite.reduce((a, b) => a + b, 0) / Math.max(1, finite.length),
      nonFinite: values16.length - finite.length,
      ...(classifier ? { top5: topK(output) } : {}),
    };
    const debug = await g.debugInfo();
    await fifoIn.destroy();
    await fifoOut.destroy();
    await g.destroy();
    if (values.json) {
      print(
        JSON.stringify(
          {
            graph: positionals[0],
            model: modelName,
            flavour,
            inferences: count,
            output: summary,
            stages: reports,
            stageMs: stagesMs,
            ...(deviceMs === undefined ? {} : { deviceMs }),
            wallMsPerInference: wallMs / count,
            virtualMsPerInference: virtualMs / count,
            device: debug,
          },
          null,
          2,
        ),
      );
    } else {
      print(`graph ${positionals[0]}: ${graph.stages.length} stages, input ${graph.input.name} ${graph.input.shape.c}x${graph.input.shape.h}x${graph.input.shape.w}, output ${graph.output.name} ${output.shape.c}x${output.shape.h}x${output.shape.w}, ${graph.shaves} SHAVEs`);
      print(`${model.stick} (${modelName}), mvnc ${flavour}: ${count} inference${count > 1 ? 's' : ''}, identical output and cycles`);
      print(`output: min ${summary.min.toPrecision(5)} max ${summary.max.toPrecision(5)} mean ${summary.mean.toPrecision(5)}${summary.nonFinite ? `, ${summary.nonFinite} not finite` : ''}`);
      if (summary.top5) {
        print('top 5:');
        for (const { index, value } of summary.top5) print(`  ${String(index).padStart(5)}  ${value.toPrecision(5)}`);
      }
      print();
      for (const line of formatProfile(reports, { ms: stagesMs, ...(deviceMs === undefined ? {} : { deviceMs }) })) print(line);
      print(`emulator: ${(wallMs / count).toFixed(2)} ms of host time per inference (${(wallMs / count / Math.max(stagesMs, 1e-9)).toFixed(1)} x the device's stage time)`);
    }
    return EXIT.ok;
  } catch (error) {
    if (error instanceof MvncError || error instanceof XLinkError) {
      print(`inference failed: ${error.message}`);
      return EXIT.failed;
    }
    throw error;
  } finally {
    await session.close().catch(() => undefined);
    trace?.close();
  }
}
