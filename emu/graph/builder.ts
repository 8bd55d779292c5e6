/**
 * Builds a graph description from layers, as code: tensors are handles, stages connect them,
 * and build() places every tensor (the input in the host's input element, the output in the
 * output element, the rest in the intermediate area, HWC8 unless given strides) and checks each
 * stage's shapes with its layer. The ONNX compiler plans memory with more care; this is for
 * tests, sample graphs and hand-made networks.
 */
import { BSS_ALIGN } from './format.js';
import { LayerError, type Constants, type Layer, type Shape } from './layers/layer.js';
import { hwc8, hwc8Bytes, spanOf, type TensorPlace } from './tensor-place.js';
import type { GraphDescription, GraphTensor, StageDescription } from './writer.js';

/** A tensor of the graph being built. */
export interface TensorHandle {
  readonly id: number;
  readonly shape: Shape;
}

interface PendingTensor {
  readonly shape: Shape;
  /** Strides other than HWC8 (the input and output may have the host's layout). */
  readonly layout?: Omit<TensorPlace, 'address' | 'shape'>;
}

interface PendingStage {
  readonly layer: Layer<any>;
  readonly name: string;
  readonly params: unknown;
  readonly inputs: readonly TensorHandle[];
  readonly output: TensorHandle;
  readonly constants: Constants;
}

export class GraphBuilder {
  private readonly tensors: PendingTensor[] = [];
  private readonly stages: PendingStage[] = [];
  private inputHandle: { handle: TensorHandle; name: string } | null = null;
  private outputHandle: { handle: TensorHandle; name: string } | null = null;

  constructor(private readonly options: { readonly shaves: number }) {}

  private tensor(shape: Shape, layout?: PendingTensor['layout']): TensorHandle {
    this.tensors.push({ shape, layout });
    return { id: this.tensors.length - 1, shape };
  }

  /** The graph's input, HWC8 unless `layout` gives the host's strides (CHW: planar()). */
  input(name: string, shape: Shape, layout?: PendingTensor['layout']): TensorHandle {
    if (this.inputHandle) throw new LayerError('a graph has one input');
    const handle = this.tensor(shape, layout);
    this.inputHandle = { handle, name };
    return handle;
  }

  /** A stage of `layer` on `inputs`; returns its output. */
  stage<P>(layer: Layer<P>, params: P, inputs: readonly TensorHandle[], options: { constants?: Constants; name?: string; layout?: PendingTensor['layout'] } = {}): TensorHandle {
    if (inputs.length !== layer.inputs) throw new LayerError(`${layer.name}: ${layer.inputs} inputs, not ${inputs.length}`);
    const shape = layer.outputShape(
      inputs.map((t) => t.shape),
      params,
    );
    const output = this.tensor(shape, options.layout);
    this.stages.push({ layer, name: options.name ?? `${layer.name}${this.stages.length}`, params, inputs, output, constants: options.constants ?? {} });
    return output;
  }

  /** Marks a stage's output as the graph's output. */
  output(name: string, handle: TensorHandle): void {
    if (this.outputHandle) throw new LayerError('a graph has one output');
    this.outputHandle = { handle, name };
  }

  build(): GraphDescription {
    if (!this.inputHandle || !this.outputHandle) throw new LayerError('a graph needs an input and an output');
    const input = this.inputHandle;
    const output = this.outputHandle;
    let bss = 0;
    const places = this.tensors.map((t, id): GraphTensor => {
      const location = id === input.handle.id ? 'input' : id === output.handle.id ? 'output' : 'bss';
      const offset = location === 'bss' ? bss : 0;
      const place = t.layout ? { address: offset, shape: t.shape, ...t.layout } : hwc8(t.shape, offset);
      if (location === 'bss') bss += Math.ceil((t.layout ? spanOf(place) : hwc8Bytes(t.shape)) / BSS_ALIGN) * BSS_ALIGN;
      return { location, offset, shape: t.shape, cStride: place.cStride, yStride: place.yStride, xStride: place.xStride };
    });
    const stages: StageDescription[] = this.stages.map((s) => ({
      type: s.layer.type,
      name: s.name,
      params: s.params,
      inputs: s.inputs.map((t) => places[t.id]!),
      output: places[s.output.id]!,
      constants: s.constants,
      scratchBytes: s.layer.scratchBytes(
        s.inputs.map((t) => t.shape),
        s.params,
      ),
    }));
    return {
      shaves: this.options.shaves,
      input: { ...places[input.handle.id]!, name: input.name },
      output: { ...places[output.handle.id]!, name: output.name },
      bssBytes: bss,
      stages,
    };
  }
}

/** The strides of a planar CHW f16 tensor (the host's usual layout). */
export function planar(shape: Shape): Omit<TensorPlace, 'address' | 'shape'> {
  return { cStride: 2 * shape.h * shape.w, yStride: 2 * shape.w, xStride: 2 };
}
