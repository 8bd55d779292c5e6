/**
 * Writes a graph file (docs/graph-format.md) from a plain description. The layout is fixed by
 * the description alone: header, input info, output info, the stage records in order, then each
 * stage's weights and bias, every section and constant 64-byte aligned, the gaps zero; the same
 * description gives the same bytes. What the writer emits it reads back with readGraph, so it
 * never emits a file the reader (and, by the shared rules, the firmware) refuses.
 */
import { SPLIT } from './job.js';
import { LAYERS } from './layers/index.js';
import { LayerError, splitOf, type Constants, type Shape, type StageType } from './layers/layer.js';
import {
  CONSTANT_ALIGN,
  ELF_FIELDS,
  GRAPH_MAGIC,
  GRAPH_VERSION,
  HEADER_AT,
  HEADER_BYTES,
  HEADER_FIXED,
  LOCATION,
  SECTION_ALIGN,
  STAGE_AT,
  TENSOR_INFO_BYTES,
  TENSOR_NAME_BYTES,
  TENSOR_REF_FIELDS,
  alignUp,
  stageRecordBytes,
  type HeaderField,
  type Location,
} from './format.js';
import { GraphError, layerOf, readGraph, type LayerRegistry } from './reader.js';
import { spanOf, type TensorPlace } from './tensor-place.js';

/** A tensor of the graph: where it is (a location and bytes from its start), its shape and strides in bytes. */
export interface GraphTensor {
  readonly location: Location;
  readonly offset: number;
  readonly shape: Shape;
  readonly cStride: number;
  readonly yStride: number;
  readonly xStride: number;
}

/** The graph's input (location input) or output (location output), with its name (1..31 bytes of UTF-8). */
export interface TensorInfo extends GraphTensor {
  readonly name: string;
}

export interface StageDescription<P = unknown> {
  readonly type: StageType;
  /** 1..64 bytes of UTF-8, no NUL. */
  readonly name: string;
  /** The layer's parameters, as its module defines them; stored as layer.encode gives them. */
  readonly params: P;
  readonly inputs: readonly GraphTensor[];
  readonly output: GraphTensor;
  /** Packed as the layer's kernel reads them; an empty array is the same as none. */
  readonly constants: Constants;
  /** CMX scratch one SHAVE needs for this stage, at least what the layer asks for. */
  readonly scratchBytes: number;
}

export interface GraphDescription {
  /** SHAVEs the graph may use, 1..16. */
  readonly shaves: number;
  readonly input: TensorInfo;
  readonly output: TensorInfo;
  /** Bytes of the intermediate area, a multiple of 64. */
  readonly bssBytes: number;
  /** In execution order. */
  readonly stages: readonly StageDescription[];
}

export interface WriteOptions {
  /** The layers stage types refer to (default: every registered layer). */
  readonly layers?: LayerRegistry;
}

/** A tensor of the graph at `place.address` bytes into `location`. */
export function graphTensor(location: Location, place: TensorPlace): GraphTensor {
  return { location, offset: place.address, shape: place.shape, cStride: place.cStride, yStride: place.yStride, xStride: place.xStride };
}

/** Where a graph tensor's elements are in its location: graphTensor's inverse (an input or output info's place in its element). */
export function placeOf(t: GraphTensor): TensorPlace {
  return { address: t.offset, shape: t.shape, cStride: t.cStride, yStride: t.yStride, xStride: t.xStride };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A name's UTF-8, or a GraphError if the string has lone surrogates (they would not come back). */
function utf8Of(text: string, at: number, what: string): Uint8Array {
  const bytes = encoder.encode(text);
  if (decoder.decode(bytes) !== text) throw new GraphError(at, `${what} '${text}' is not well-formed Unicode`);
  return bytes;
}

interface PlannedStage {
  readonly at: number;
  readonly words: readonly number[];
  readonly name: Uint8Array;
  readonly weights: number;
  readonly bias: number;
}

export function writeGraph(graph: GraphDescription, options: WriteOptions = {}): Uint8Array {
  const layers = options.layers ?? LAYERS;
  const inputInfoAt = alignUp(HEADER_BYTES, SECTION_ALIGN);
  const outputInfoAt = inputInfoAt + TENSOR_INFO_BYTES;
  const stageAt = alignUp(outputInfoAt + TENSOR_INFO_BYTES, SECTION_ALIGN);

  let at = stageAt;
  const planned = graph.stages.map((stage, index): Omit<PlannedStage, 'weights' | 'bias'> => {
    const layer = layerOf(layers, stage.type, index, at + STAGE_AT.type);
    const label = `stage ${index} '${stage.name}' (${layer.name})`;
    if (stage.inputs.length > 2) throw new GraphError(at + STAGE_AT.n_inputs, `${label} has ${stage.inputs.length} inputs; a record holds 1 or 2`);
    let words: number[];
    try {
      words = layer.encode(stage.params);
    } catch (e) {
      if (e instanceof LayerError) throw new GraphError(at + STAGE_AT.params, `${label} params: ${e.message}`);
      throw e;
    }
    const name = utf8Of(stage.name, at + STAGE_AT.params + 4 * words.length, `stage ${index} name`);
    const record = { at, words, name };
    at += stageRecordBytes(words.length, name.length);
    return record;
  });
  const constOffset = alignUp(at, SECTION_ALIGN);

  let constBytes = 0;
  const place = (bytes: Uint8Array | undefined, where: number, label: string) => {
    if (bytes !== undefined && !(bytes instanceof Uint8Array)) throw new GraphError(where, `${label} is not a Uint8Array`);
    if (!bytes?.length) return -1;
    const offset = constBytes;
    constBytes = alignUp(offset + bytes.length, CONSTANT_ALIGN);
    return offset;
  };
  const stages: PlannedStage[] = planned.map((record, index) => {
    const { weights, bias } = graph.stages[index]!.constants ?? {};
    return {
      ...record,
      weights: place(weights, record.at + STAGE_AT.weights, `stage ${index} weights`),
      bias: place(bias, record.at + STAGE_AT.bias, `stage ${index} bias`),
    };
  });
  const fileSize = constOffset + constBytes;
  if (fileSize > 0xffff_ffff) throw new GraphError(HEADER_AT.file_size, `the graph would take ${fileSize} bytes, more than a u32 file_size can say`);

  const bytes = new Uint8Array(fileSize);
  const view = new DataView(bytes.buffer);
  const put = (where: number, value: number, what: string) => {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new GraphError(where, `${what} ${value} is not a u32`);
    view.setUint32(where, value, true);
  };
  const putTensor = (where: number, tensor: GraphTensor, label: string) => {
    const location: number | undefined = Object.hasOwn(LOCATION, tensor.location) ? LOCATION[tensor.location] : undefined;
    if (location === undefined || location === LOCATION.none) throw new GraphError(where, `${label} location '${tensor.location}' is not input, output or bss`);
    const words = [location, tensor.offset, tensor.shape.c, tensor.shape.h, tensor.shape.w, tensor.cStride, tensor.yStride, tensor.xStride];
    words.forEach((value, k) => put(where + 4 * k, value, `${label} ${TENSOR_REF_FIELDS[k]}`));
  };
  const putInfo = (where: number, info: TensorInfo, label: string) => {
    putTensor(where, info, label);
    const nameAt = where + 4 * TENSOR_REF_FIELDS.length;
    const name = utf8Of(info.name, nameAt, `${label}'s name`);
    if (name.length >= TENSOR_NAME_BYTES) throw new GraphError(nameAt, `${label}'s name '${info.name}' is ${name.length} bytes of UTF-8; at most ${TENSOR_NAME_BYTES - 1} fit`);
    bytes.set(name, nameAt);
  };

  for (const field of ELF_FIELDS) for (let i = 0; i < Math.min(field.bytes, 4); i++) bytes[field.at + i] = (field.value >>> (8 * i)) & 0xff;
  const spanOfInfo = (info: TensorInfo) => spanOf({ ...info, address: info.offset });
  const header: Record<HeaderField, number> = {
    magic: GRAPH_MAGIC,
    file_size: fileSize,
    ver_major: GRAPH_VERSION.major,
    ver_minor: GRAPH_VERSION.minor,
    inputs_count: HEADER_FIXED.inputs_count!,
    outputs_count: HEADER_FIXED.outputs_count!,
    stages_count: graph.stages.length,
    inputs_size: spanOfInfo(graph.input),
    outputs_size: spanOfInfo(graph.output),
    batch_size: HEADER_FIXED.batch_size!,
    bss_mem_size: graph.bssBytes,
    cmx_slices: graph.stages.reduce((most, stage) => Math.max(most, stage.scratchBytes), 0),
    shaves: graph.shaves,
    has_hw_stage: HEADER_FIXED.has_hw_stage!,
    has_shave_stage: HEADER_FIXED.has_shave_stage!,
    has_dma_stage: HEADER_FIXED.has_dma_stage!,
    input_info_offset: inputInfoAt,
    output_info_offset: outputInfoAt,
    stage_offset: stageAt,
    const_offset: constOffset,
  };

  putInfo(inputInfoAt, graph.input, 'the input tensor');
  putInfo(outputInfoAt, graph.output, 'the output tensor');
  stages.forEach((record, index) => {
    const stage = graph.stages[index]!;
    const layer = layerOf(layers, stage.type, index, record.at);
    const label = `stage ${index} '${stage.name}' (${layer.name})`;
    const field = (name: keyof typeof STAGE_AT, value: number) => put(record.at + STAGE_AT[name], value, `${label} ${name}`);
    field('type', stage.type);
    field('record_size', stageRecordBytes(record.words.length, record.name.length));
    field('split', SPLIT[splitOf(layer, stage.params)]);
    field('scratch_bytes', stage.scratchBytes);
    field('n_inputs', stage.inputs.length);
    field('n_params', record.words.length);
    field('name_length', record.name.length);
    (['in0', 'in1'] as const).forEach((slot, k) => {
      const tensor = stage.inputs[k];
      if (tensor) putTensor(record.at + STAGE_AT[slot], tensor, `${label} ${slot}`);
    });
    putTensor(record.at + STAGE_AT.out, stage.output, `${label} out`);
    for (const which of ['weights', 'bias'] as const) {
      const offset = record[which];
      if (offset < 0) continue;
      const data = stage.constants[which]!;
      field(which, offset);
      put(record.at + STAGE_AT[which] + 4, data.length, `${label} ${which} size`);
      bytes.set(data, constOffset + offset);
    }
    record.words.forEach((word, k) => put(record.at + STAGE_AT.params + 4 * k, word, `${label} param word ${k}`));
    bytes.set(record.name, record.at + STAGE_AT.params + 4 * record.words.length);
  });

  // The header last: a field that is no u32 is then named where it is, not through a size computed from it.
  for (const [name, value] of Object.entries(header) as [HeaderField, number][]) put(HEADER_AT[name], value, name);
  readGraph(bytes, { layers }); // the reader's rules are the writer's: a GraphError here names the offending field
  return bytes;
}
