/**
 * Runs one stage's SHAVE kernel on a KernelBench, without a LEON: the stage's output split into
 * shares as the firmware's runtime splits it, one job block per share, each share on its own
 * core. The layer tests and the kernel benchmarks use it; the firmware does the same in C.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import { assemble, type Program } from '../shave/assembler.js';
import type { CoreCounters } from '../shave/cores.js';
import { CMX_SLICE, type KernelBench } from '../shave/kernel-runner.js';
import { JOB_BYTES, JOB_WORDS, KERNEL_OK, TENSOR_WORDS, type Split } from './job.js';
import { roundUp8, splitOf, type Constants, type Layer, type Shape, type Tensor } from './layers/layer.js';
import { hwc8, hwc8Bytes, spanOf, tensorBytes, tensorFromBytes, type TensorPlace } from './tensor-place.js';

/** Splits `units` into at most `shaves` shares, as evenly as possible, the larger ones first. */
export function shares(units: number, shaves: number): { first: number; count: number }[] {
  const n = Math.max(1, Math.min(shaves, units));
  const base = Math.floor(units / n);
  const extra = units % n;
  const out: { first: number; count: number }[] = [];
  let first = 0;
  for (let i = 0; i < n; i++) {
    const count = base + (i < extra ? 1 : 0);
    out.push({ first, count });
    first += count;
  }
  return out;
}

/** The units a stage's output has for its split. */
export function unitsOf(split: Split, out: Shape): number {
  switch (split) {
    case 'rows':
      return out.h;
    case 'channels':
      return roundUp8(out.c) / 8;
    case 'elements':
      return (roundUp8(out.c) * out.h * out.w) / 8;
  }
}

/** Writes a tensor (CHW by value) into its place; pad lanes and gaps in its span are zeroed. */
export function writeTensor(bench: KernelBench, place: TensorPlace, t: Tensor, core = 0): void {
  bench.write(core, place.address, tensorBytes(place, t));
}

export function readTensor(bench: KernelBench, place: TensorPlace, core = 0): Tensor {
  return tensorFromBytes(place, bench.read(core, place.address, spanOf(place)));
}

const programs = new Map<string, Program>();

/** A layer kernel from firmware-stubs/shave/layers/, assembled once per process. */
export function layerProgram(kernel: string): Program {
  let program = programs.get(kernel);
  if (!program) {
    program = assemble(readFileSync(join(packageRoot(), 'firmware-stubs', 'shave', 'layers', kernel), 'utf8'));
    programs.set(kernel, program);
  }
  return program;
}

export interface StageRun {
  readonly output: Tensor;
  /** Per share: the core that ran it, its units and its counters. */
  readonly shares: readonly { core: number; first: number; count: number; counters: CoreCounters }[];
  /** Host time in the kernel runs alone (not the tensor copies around them). */
  readonly kernelMs: number;
}

export interface StageRunOptions {
  /** SHAVEs to share the stage among (default: every core of the bench). */
  readonly shaves?: number;
  /** Where inputs and output go (default: HWC8 in DDR, one after another, 64-byte aligned). */
  readonly inputs?: readonly TensorPlace[];
  readonly output?: TensorPlace;
  /** Where the constants go (default: DDR after the tensors). */
  readonly constantsAt?: number;
  /** Cycles each share may take before it counts as hung. */
  readonly cycles?: number;
}

export class KernelFailed extends Error {}

/** Runs `layer` on `inputs` with its kernel, share by share; throws KernelFailed if a share does not halt with KERNEL_OK. */
export function runStage<P>(bench: KernelBench, layer: Layer<P>, inputs: readonly Tensor[], constants: Constants, params: P, options: StageRunOptions = {}): StageRun {
  const model = bench.model;
  const cmx = model.memory.find((m) => m.name === 'cmx')!.base;
  const ddr = model.memory.find((m) => m.name === 'ddr')!.base;
  const outShape = layer.outputShape(inputs.map((t) => t.shape), params);
  let next = ddr;
  const take = (bytes: number) => {
    const at = next;
    next = (next + bytes + 63) & ~63;
    return at;
  };
  const inPlaces = options.inputs ?? inputs.map((t) => hwc8(t.shape, take(hwc8Bytes(t.shape))));
  const outPlace = options.output ?? hwc8(outShape, take(hwc8Bytes(outShape)));
  bench.write(0, outPlace.address, new Uint8Array(spanOf(outPlace)).fill(0xff)); // a kernel that skips an element shows
  inputs.forEach((t, i) => writeTensor(bench, inPlaces[i]!, t)); // after: the output may be an input's place
  let constAt = options.constantsAt ?? take(0);
  const placeConstant = (bytes: Uint8Array | undefined) => {
    if (!bytes) return 0;
    const at = constAt;
    bench.write(0, at, bytes);
    constAt = (constAt + bytes.length + 63) & ~63;
    return at;
  };
  const weights = placeConstant(constants.weights);
  const bias = placeConstant(constants.bias);

  const program = layerProgram(layer.kernel);
  const words = layer.encode(params);
  const scratchBytes = layer.scratchBytes(inputs.map((t) => t.shape), params);
  const split = shares(unitsOf(splitOf(layer, params), outShape), options.shaves ?? bench.cores.count);
  let kernelMs = 0;
  const ran = split.map(({ first, count }, core) => {
    bench.resetCore(core);
    bench.load(core, program);
    // The job at the start of the core's CMX slice (window A), scratch after it.
    const jobAt = cmx + core * CMX_SLICE;
    const scratch = jobAt + JOB_BYTES;
    if (scratch + scratchBytes > jobAt + CMX_SLICE / 2) throw new KernelFailed(`${layer.name}: ${scratchBytes} bytes of scratch do not fit beside the code`);
    const job = new Uint32Array(JOB_BYTES / 4);
    const describe = (at: number, place: TensorPlace | undefined) => {
      if (!place) return;
      job[at + TENSOR_WORDS.address] = place.address;
      job[at + TENSOR_WORDS.c] = place.shape.c;
      job[at + TENSOR_WORDS.h] = place.shape.h;
      job[at + TENSOR_WORDS.w] = place.shape.w;
      job[at + TENSOR_WORDS.cStride] = place.cStride;
      job[at + TENSOR_WORDS.yStride] = place.yStride;
      job[at + TENSOR_WORDS.xStride] = place.xStride;
    };
    describe(JOB_WORDS.in0, inPlaces[0]);
    describe(JOB_WORDS.in1, inPlaces[1]);
    describe(JOB_WORDS.out, outPlace);
    job[JOB_WORDS.weights] = weights;
    job[JOB_WORDS.bias] = bias;
    job[JOB_WORDS.first] = first;
    job[JOB_WORDS.count] = count;
    job[JOB_WORDS.scratch] = scratch;
    job[JOB_WORDS.scratchBytes] = scratchBytes;
    job.set(words, JOB_WORDS.params);
    bench.write(core, jobAt, new Uint8Array(job.buffer));
    bench.cores.setIrf(core, 18, jobAt);
    const started = performance.now();
    const { result, counters } = bench.run(core, program, options.cycles ?? 200_000_000);
    kernelMs += performance.now() - started;
    if (result.kind !== 'halted' || result.code !== KERNEL_OK) {
      throw new KernelFailed(`${layer.name} share ${first}+${count} on SHAVE ${core}: ${result.kind === 'halted' ? `halted with code ${result.code}` : result.kind === 'error' ? `${result.cause} at 0x${result.address.toString(16)}` : 'ran out of cycles'}`);
    }
    return { core, first, count, counters };
  });
  return { output: readTensor(bench, outPlace), shares: ran, kernelMs };
}

