/**
 * Reads a myriad-emu graph file (docs/graph-format.md) strictly: every offset, count, size and
 * alignment is checked against the file before it is used, and anything wrong is a GraphError
 * naming the byte offset of the field at fault. Nothing is allocated by a size the file gives
 * until that size has been checked; constants are views of the file's bytes.
 */
import { SPLIT, MAX_PARAMS, type Split } from './job.js';
import { LAYERS } from './layers/index.js';
import { LayerError, splitOf, STAGE, type Constants, type Layer, type Shape, type StageType } from './layers/layer.js';
import {
  CONSTANT_ALIGN,
  BSS_ALIGN,
  ELF_FIELDS,
  GRAPH_MAGIC,
  GRAPH_VERSION,
  HEADER_AT,
  HEADER_BYTES,
  HEADER_FIELDS,
  HEADER_FIXED,
  LOCATION,
  LOCATION_SIZE,
  MAX_SHAVES,
  MAX_STAGE_NAME_BYTES,
  OPENVINO_MAGIC,
  SECTION_ALIGN,
  STAGE_AT,
  STAGE_HEAD_BYTES,
  TENSOR_INFO_BYTES,
  TENSOR_NAME_BYTES,
  TENSOR_REF_BYTES,
  TENSOR_REF_FIELDS,
  pad4,
  stageRecordBytes,
  type HeaderField,
} from './format.js';
import { hwc8, spanOf } from './tensor-place.js';
import type { GraphDescription, GraphTensor, StageDescription, TensorInfo } from './writer.js';

export class GraphError extends Error {
  override readonly name = 'GraphError';
  constructor(
    /** The byte of the file where the fault is. */
    readonly offset: number,
    /** What is wrong, without the offset. */
    readonly detail: string,
  ) {
    super(`graph byte 0x${offset.toString(16)}: ${detail}`);
  }
}

export type LayerRegistry = ReadonlyMap<StageType, Layer<any>>;

export interface ReadOptions {
  /** The layers stage types refer to (default: every registered layer, emu/graph/layers/index.ts). */
  readonly layers?: LayerRegistry;
}

/** Where a stage's constant lies: bytes from the constant section's start, and its size (0: absent). */
export interface ConstantRef {
  readonly offset: number;
  readonly size: number;
}

export interface GraphStage<P = unknown> extends StageDescription<P> {
  readonly layer: Layer<P>;
  readonly split: Split;
  /** The parameter words as stored (what the job block gets). */
  readonly paramWords: readonly number[];
  readonly constantRefs: { readonly weights: ConstantRef; readonly bias: ConstantRef };
  /** Byte offset of the stage's record in the file. */
  readonly recordOffset: number;
}

/** A graph as read: what writeGraph takes (so a read graph can be written again), plus the header and each stage's layer. */
export interface Graph extends GraphDescription {
  readonly header: Readonly<Record<HeaderField, number>>;
  readonly stages: readonly GraphStage[];
}

export function readGraph(bytes: Uint8Array, options: ReadOptions = {}): Graph {
  return new GraphReader(bytes, options.layers ?? LAYERS).read();
}

/** The layer of stage `index`'s type, or the GraphError both the reader and the writer give. */
export function layerOf(layers: LayerRegistry, type: number, index: number, at: number): Layer<any> {
  const layer = layers.get(type as StageType);
  if (layer) return layer;
  const known = Object.entries(STAGE).find(([, number]) => number === type)?.[0];
  throw new GraphError(at, known ? `stage ${index} type ${type} (${known}) has no layer registered in this reader` : `stage ${index} type ${type} is not a stage type`);
}

const SPLIT_NAMES = Object.keys(SPLIT) as Split[];
const LOCATION_NAMES = Object.fromEntries(Object.entries(LOCATION).map(([name, n]) => [n, name])) as Record<number, keyof typeof LOCATION>;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const hex = (n: number) => `0x${n.toString(16)}`;
const shapeText = (s: Shape) => `${s.c}x${s.h}x${s.w}`;

interface Section {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  /** The header word that places it. */
  readonly field: HeaderField;
}

class GraphReader {
  private readonly view: DataView;
  private readonly header = {} as Record<HeaderField, number>;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly layers: LayerRegistry,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(at: number, detail: string): never {
    throw new GraphError(at, detail);
  }

  /** Only for offsets already known to be inside the file. */
  private u32(at: number): number {
    return this.view.getUint32(at, true);
  }

  read(): Graph {
    this.readHeader();
    const h = this.header;
    const stageEnd = this.walkStageRecords();
    this.checkSections(stageEnd);
    const input = this.readInfo(h.input_info_offset, 'input');
    const output = this.readInfo(h.output_info_offset, 'output');
    const stages: GraphStage[] = [];
    let constantBytes = 0;
    let at = h.stage_offset;
    for (let index = 0; index < h.stages_count; index++) {
      const stage = this.readStage(at, index);
      for (const which of ['weights', 'bias'] as const) {
        constantBytes += stage.constantRefs[which].size;
        const room = this.bytes.length - h.const_offset;
        if (constantBytes > room) this.fail(at + STAGE_AT[which] + 4, `stage ${index} ${which}: the stages' constants add up to ${constantBytes} bytes, more than the ${room}-byte constant section`);
      }
      stages.push(stage);
      at += this.u32(at + STAGE_AT.record_size);
    }
    const scratch = stages.reduce((most, s) => Math.max(most, s.scratchBytes), 0);
    if (h.cmx_slices !== scratch) this.fail(HEADER_AT.cmx_slices, `cmx_slices ${h.cmx_slices} is not the largest scratch_bytes of the stages, ${scratch}`);
    if (!stages.some((s) => s.inputs.some((t) => sameTensor(t, input)))) this.fail(h.input_info_offset, `the input tensor '${input.name}' is not read by any stage`);
    if (!stages.some((s) => sameTensor(s.output, output))) this.fail(h.output_info_offset, `the output tensor '${output.name}' is not written by any stage`);
    return { header: { ...h }, shaves: h.shaves, input, output, bssBytes: h.bss_mem_size, stages };
  }

  private readHeader(): void {
    const n = this.bytes.length;
    if (n >= HEADER_AT.magic + 4 && this.u32(HEADER_AT.magic) === OPENVINO_MAGIC) {
      const version = n >= HEADER_AT.ver_minor + 4 ? `${this.u32(HEADER_AT.ver_major)}.${this.u32(HEADER_AT.ver_minor)}` : 'unknown: the file ends before it';
      this.fail(HEADER_AT.magic, `an OpenVINO compiled blob (magic ${OPENVINO_MAGIC}, version ${version}), not a myriad-emu graph`);
    }
    if (n < HEADER_BYTES) this.fail(n, `the file ends inside the ${HEADER_BYTES}-byte header (it has ${n} bytes)`);
    for (const field of ELF_FIELDS) {
      if (field.bytes > 4) {
        for (let i = 0; i < field.bytes; i++) if (this.bytes[field.at + i] !== 0) this.fail(field.at + i, `ELF header ${field.name} byte ${i} is ${hex(this.bytes[field.at + i]!)}, not 0`);
        continue;
      }
      const value = field.bytes === 4 ? this.u32(field.at) : field.bytes === 2 ? this.view.getUint16(field.at, true) : this.bytes[field.at]!;
      if (value !== field.value) this.fail(field.at, `ELF header ${field.name} is ${hex(value)}, not ${hex(field.value)}${field.at === 0 ? ': not a myriad-emu graph' : ''}`);
    }
    const h = this.header;
    for (const name of HEADER_FIELDS) h[name] = this.u32(HEADER_AT[name]);
    if (h.magic !== GRAPH_MAGIC) this.fail(HEADER_AT.magic, `magic ${hex(h.magic)} is not a myriad-emu graph's ${hex(GRAPH_MAGIC)} ("MYEG")`);
    if (h.ver_major !== GRAPH_VERSION.major) this.fail(HEADER_AT.ver_major, `version ${h.ver_major}.${h.ver_minor}: this reader reads version ${GRAPH_VERSION.major}.x`);
    if (h.file_size !== n) this.fail(HEADER_AT.file_size, `file_size ${h.file_size}, but the file has ${n} bytes`);
    for (const [name, value] of Object.entries(HEADER_FIXED) as [HeaderField, number][]) {
      if (h[name] !== value) this.fail(HEADER_AT[name], `${name} ${h[name]}: version ${GRAPH_VERSION.major}.${GRAPH_VERSION.minor} has ${value}`);
    }
    if (h.stages_count < 1) this.fail(HEADER_AT.stages_count, 'stages_count 0: a graph has at least one stage');
    if (h.shaves < 1 || h.shaves > MAX_SHAVES) this.fail(HEADER_AT.shaves, `shaves ${h.shaves} is not 1..${MAX_SHAVES}`);
    if (h.bss_mem_size % BSS_ALIGN) this.fail(HEADER_AT.bss_mem_size, `bss_mem_size ${h.bss_mem_size} is not a multiple of ${BSS_ALIGN}`);
    for (const name of ['input_info_offset', 'output_info_offset', 'stage_offset', 'const_offset'] as const) {
      const offset = h[name];
      if (offset % SECTION_ALIGN) this.fail(HEADER_AT[name], `${name} ${hex(offset)} is not a multiple of ${SECTION_ALIGN}`);
      if (offset < HEADER_BYTES) this.fail(HEADER_AT[name], `${name} ${hex(offset)} lies inside the ${HEADER_BYTES}-byte header`);
      if (offset > n) this.fail(HEADER_AT[name], `${name} ${hex(offset)} is past the end of the file (${hex(n)})`);
    }
    for (const name of ['input_info_offset', 'output_info_offset'] as const) {
      if (h[name] + TENSOR_INFO_BYTES > n) this.fail(HEADER_AT[name], `${name} ${hex(h[name])}: the ${TENSOR_INFO_BYTES}-byte tensor info runs past the end of the file (${hex(n)})`);
    }
  }

  /** Checks each record's head and size against the file; returns where the stage section ends. */
  private walkStageRecords(): number {
    const { stage_offset: start, stages_count: count } = this.header;
    const n = this.bytes.length;
    const room = Math.floor((n - start) / STAGE_HEAD_BYTES);
    if (count > room) this.fail(HEADER_AT.stages_count, `stages_count ${count}: the ${n - start} bytes from stage_offset to the end of the file hold at most ${room} records`);
    let at = start;
    for (let index = 0; index < count; index++) {
      if (at + STAGE_HEAD_BYTES > n) this.fail(at, `stage ${index}: the ${STAGE_HEAD_BYTES}-byte record head runs past the end of the file (${hex(n)})`);
      const size = this.u32(at + STAGE_AT.record_size);
      if (size < STAGE_HEAD_BYTES) this.fail(at + STAGE_AT.record_size, `stage ${index} record_size ${size} is smaller than the ${STAGE_HEAD_BYTES}-byte record head`);
      if (size % 4) this.fail(at + STAGE_AT.record_size, `stage ${index} record_size ${size} is not a multiple of 4`);
      if (at + size > n) this.fail(at + STAGE_AT.record_size, `stage ${index} record_size ${size}: the record runs past the end of the file (${hex(n)})`);
      at += size;
    }
    return at;
  }

  private checkSections(stageEnd: number): void {
    const h = this.header;
    const sections: Section[] = [
      { name: 'input info', start: h.input_info_offset, end: h.input_info_offset + TENSOR_INFO_BYTES, field: 'input_info_offset' },
      { name: 'output info', start: h.output_info_offset, end: h.output_info_offset + TENSOR_INFO_BYTES, field: 'output_info_offset' },
      { name: 'stage', start: h.stage_offset, end: stageEnd, field: 'stage_offset' },
      { name: 'constant', start: h.const_offset, end: this.bytes.length, field: 'const_offset' },
    ];
    for (let i = 0; i < sections.length; i++) {
      for (let j = i + 1; j < sections.length; j++) {
        const [a, b] = [sections[i]!, sections[j]!].sort((x, y) => x.start - y.start);
        if (a.start < a.end && b.start < b.end && b.start < a.end) {
          this.fail(HEADER_AT[b.field], `the ${b.name} section at ${hex(b.start)} overlaps the ${a.name} section ${hex(a.start)}..${hex(a.end)}`);
        }
      }
    }
  }

  private readInfo(at: number, location: 'input' | 'output'): TensorInfo {
    const label = `the ${location} tensor`;
    const ref = this.readTensor(at, label);
    if (ref === undefined || ref.location !== location) this.fail(at, `${label}'s location is ${ref?.location ?? 'none'}, not ${location} (${LOCATION[location]})`);
    const sizeField = LOCATION_SIZE[location];
    // The host's element is exactly this tensor: its size is the tensor's span, so nothing precedes it.
    if (ref.offset !== 0) this.fail(at + 4, `${label}'s offset is ${ref.offset}, not 0: the ${location} element is the tensor itself`);
    const span = spanOf({ ...ref, address: 0 });
    if (this.header[sizeField] !== span) this.fail(HEADER_AT[sizeField], `${sizeField} ${this.header[sizeField]} is not the ${location} tensor's span, ${span} bytes`);
    const nameAt = at + TENSOR_REF_BYTES;
    const raw = this.bytes.subarray(nameAt, nameAt + TENSOR_NAME_BYTES);
    const length = raw.indexOf(0);
    if (length < 0) this.fail(nameAt, `${label}'s name has no NUL in its ${TENSOR_NAME_BYTES} bytes`);
    if (length === 0) this.fail(nameAt, `${label}'s name is empty`);
    for (let i = length; i < TENSOR_NAME_BYTES; i++) if (raw[i] !== 0) this.fail(nameAt + i, `${label}'s name has a byte ${hex(raw[i]!)} after its NUL`);
    return { name: this.text(raw.subarray(0, length), nameAt, `${label}'s name`), ...ref };
  }

  private text(raw: Uint8Array, at: number, what: string): string {
    try {
      return utf8.decode(raw);
    } catch {
      return this.fail(at, `${what} is not UTF-8`);
    }
  }

  /** A tensor reference; undefined for location none (then every word is 0). */
  private readTensor(at: number, label: string): GraphTensor | undefined {
    const [location, offset, c, h, w, cStride, yStride, xStride] = TENSOR_REF_FIELDS.map((_, k) => this.u32(at + 4 * k)) as [number, number, number, number, number, number, number, number];
    if (location === LOCATION.none) {
      for (let k = 1; k < TENSOR_REF_FIELDS.length; k++) if (this.u32(at + 4 * k) !== 0) this.fail(at + 4 * k, `${label} has location none but ${TENSOR_REF_FIELDS[k]} ${this.u32(at + 4 * k)}, not 0`);
      return undefined;
    }
    const name = LOCATION_NAMES[location];
    if (name === undefined || name === 'none') this.fail(at, `${label} location ${location} is not 1 input, 2 output or 3 bss`);
    const size = this.header[LOCATION_SIZE[name]];
    const alignment = name === 'bss' ? BSS_ALIGN : 2;
    if (offset % alignment) this.fail(at + 4, `${label} offset ${offset} in ${name} is not a multiple of ${alignment}`);
    const dims = { c, h, w };
    for (const [k, dim] of (['c', 'h', 'w'] as const).entries()) if (dims[dim] < 1) this.fail(at + 8 + 4 * k, `${label} ${dim} is 0`);
    const strides = { cStride, yStride, xStride };
    for (const [k, stride] of (['cStride', 'yStride', 'xStride'] as const).entries()) if (strides[stride] % 2) this.fail(at + 20 + 4 * k, `${label} ${stride} ${strides[stride]} is not a multiple of 2`);
    // Bounds the elements a stage may describe, whatever its strides (0 included): without it a
    // 2-byte span could claim 2^32 channels. Keeps roundUp8(c) inside 31 bits as well.
    if (c * h * w * 2 > size) this.fail(at + 8, `${label} has ${c}x${h}x${w} elements, more f16 than the ${size}-byte ${name} location holds`);
    const tensor: GraphTensor = { location: name, offset, shape: { c, h, w }, cStride, yStride, xStride };
    const span = spanOf({ ...tensor, address: offset });
    if (offset + span > size) this.fail(at + 4, `${label} at offset ${offset} spans ${span} bytes, past the ${size} bytes of ${name} (${LOCATION_SIZE[name]})`);
    return tensor;
  }

  private readConstant(at: number, label: string): ConstantRef {
    const offset = this.u32(at);
    const size = this.u32(at + 4);
    const room = this.bytes.length - this.header.const_offset;
    if (size === 0 && offset !== 0) this.fail(at, `${label} is absent (size 0) but has offset ${offset}, not 0`);
    if (offset % CONSTANT_ALIGN) this.fail(at, `${label} offset ${offset} is not a multiple of ${CONSTANT_ALIGN}`);
    if (offset + size > room) this.fail(at + 4, `${label} at offset ${offset} with ${size} bytes runs past the ${room}-byte constant section`);
    return { offset, size };
  }

  private readStage(at: number, index: number): GraphStage {
    const word = (field: keyof typeof STAGE_AT) => this.u32(at + STAGE_AT[field]);
    const type = word('type');
    const layer = layerOf(this.layers, type, index, at + STAGE_AT.type);
    let label = `stage ${index} (${layer.name})`;
    const splitNumber = word('split');
    const split = SPLIT_NAMES.find((name) => SPLIT[name] === splitNumber);
    if (split === undefined) this.fail(at + STAGE_AT.split, `${label} split ${splitNumber} is not 0 rows, 1 channels or 2 elements`);
    if (split !== layer.split && !layer.splits?.includes(split!)) this.fail(at + STAGE_AT.split, `${label} split ${splitNumber} (${split}): ${layer.name} splits by ${layer.split} (${SPLIT[layer.split]})`);
    const nInputs = word('n_inputs');
    if (nInputs !== layer.inputs) this.fail(at + STAGE_AT.n_inputs, `${label} n_inputs ${nInputs}: ${layer.name} takes ${layer.inputs}`);
    const nParams = word('n_params');
    if (nParams > MAX_PARAMS) this.fail(at + STAGE_AT.n_params, `${label} n_params ${nParams} is more than ${MAX_PARAMS}`);
    const nameLength = word('name_length');
    if (nameLength < 1 || nameLength > MAX_STAGE_NAME_BYTES) this.fail(at + STAGE_AT.name_length, `${label} name_length ${nameLength} is not 1..${MAX_STAGE_NAME_BYTES}`);
    if (word('reserved') !== 0) this.fail(at + STAGE_AT.reserved, `${label} reserved word is ${word('reserved')}, not 0`);
    const recordSize = word('record_size');
    const expected = stageRecordBytes(nParams, nameLength);
    if (recordSize !== expected) this.fail(at + STAGE_AT.record_size, `${label} record_size ${recordSize} is not ${expected} (${STAGE_HEAD_BYTES} + 4 * n_params ${nParams} + name_length ${nameLength} padded to 4)`);

    const nameAt = at + STAGE_AT.params + 4 * nParams;
    const rawName = this.bytes.subarray(nameAt, nameAt + nameLength);
    const zeroAt = rawName.indexOf(0);
    if (zeroAt >= 0) this.fail(nameAt + zeroAt, `${label} name has a NUL byte`);
    const name = this.text(rawName, nameAt, `${label} name`);
    for (let i = nameAt + nameLength; i < nameAt + pad4(nameLength); i++) if (this.bytes[i] !== 0) this.fail(i, `${label} name padding byte is ${hex(this.bytes[i]!)}, not 0`);
    label = `stage ${index} '${name}' (${layer.name})`;

    const inputs: GraphTensor[] = [];
    for (const [k, slot] of (['in0', 'in1'] as const).entries()) {
      if (k >= nInputs) {
        const location = this.u32(at + STAGE_AT[slot]);
        if (location !== LOCATION.none) this.fail(at + STAGE_AT[slot], `${label} ${slot} is location ${location}, but the stage has ${nInputs} input: it must be none (0)`);
        this.readTensor(at + STAGE_AT[slot], `${label} ${slot}`);
        continue;
      }
      const tensor = this.readTensor(at + STAGE_AT[slot], `${label} ${slot}`);
      if (tensor === undefined || tensor.location === 'output') this.fail(at + STAGE_AT[slot], `${label} ${slot} is location ${tensor?.location ?? 'none'}: an input is in input (1) or bss (3)`);
      inputs.push(tensor);
    }
    const output = this.readTensor(at + STAGE_AT.out, `${label} out`);
    if (output === undefined || output.location === 'input') this.fail(at + STAGE_AT.out, `${label} out is location ${output?.location ?? 'none'}: an output is in output (2) or bss (3)`);

    const weightsRef = this.readConstant(at + STAGE_AT.weights, `${label} weights`);
    const biasRef = this.readConstant(at + STAGE_AT.bias, `${label} bias`);
    const constantBytes = (ref: ConstantRef) => {
      const start = this.header.const_offset + ref.offset;
      return ref.size === 0 ? undefined : this.bytes.subarray(start, start + ref.size);
    };
    const constants: Constants = { weights: constantBytes(weightsRef), bias: constantBytes(biasRef) };

    const paramWords = Array.from({ length: nParams }, (_, k) => this.u32(at + STAGE_AT.params + 4 * k));
    let params: unknown;
    try {
      params = layer.decode(paramWords);
      const canonical = layer.encode(params);
      if (canonical.length !== paramWords.length || canonical.some((w, k) => w !== paramWords[k])) {
        this.fail(at + STAGE_AT.params, `${label} params [${paramWords.map(hex).join(', ')}] are not as ${layer.name} encodes them ([${canonical.map(hex).join(', ')}])`);
      }
    } catch (e) {
      if (e instanceof LayerError) this.fail(at + STAGE_AT.params, `${label} params: ${e.message}`);
      throw e;
    }
    const chosen = splitOf(layer, params);
    if (split !== chosen) this.fail(at + STAGE_AT.split, `${label} split ${splitNumber} (${split}): with these parameters ${layer.name} splits by ${chosen} (${SPLIT[chosen]})`);
    const inShapes = inputs.map((t) => t.shape);
    let shape: Shape;
    try {
      shape = layer.outputShape(inShapes, params);
    } catch (e) {
      if (e instanceof LayerError) this.fail(at + STAGE_AT.in0, `${label} inputs ${inShapes.map(shapeText).join(', ')}: ${e.message}`);
      throw e;
    }
    if (shape.c !== output.shape.c || shape.h !== output.shape.h || shape.w !== output.shape.w) {
      this.fail(at + STAGE_AT.out + 8, `${label} out is ${shapeText(output.shape)}, but ${layer.name} makes ${shapeText(shape)} of ${inShapes.map(shapeText).join(', ')}`);
    }
    if (split === 'elements') {
      // The kernel walks 8-lane vectors from the start of each tensor: only dense HWC8 tensors are such a sequence.
      for (const [slot, tensor] of [...inputs.map((t, k) => [`in${k}`, t] as const), ['out', output] as const]) {
        const dense = hwc8(tensor.shape, tensor.offset);
        if (tensor.cStride !== dense.cStride || tensor.yStride !== dense.yStride || tensor.xStride !== dense.xStride) {
          this.fail(at + STAGE_AT[slot as 'in0' | 'in1' | 'out'] + 20, `${label} ${slot} strides c ${tensor.cStride} y ${tensor.yStride} x ${tensor.xStride} are not HWC8 (${dense.cStride}, ${dense.yStride}, ${dense.xStride}), which a stage split by elements needs`);
        }
      }
    }
    const scratchBytes = word('scratch_bytes');
    const needed = layer.scratchBytes(inShapes, params);
    if (scratchBytes < needed) this.fail(at + STAGE_AT.scratch_bytes, `${label} scratch_bytes ${scratchBytes} is less than the ${needed} bytes ${layer.name} needs`);

    return {
      type: type as StageType,
      name,
      params,
      inputs,
      output,
      constants,
      scratchBytes,
      layer,
      split,
      paramWords,
      constantRefs: { weights: weightsRef, bias: biasRef },
      recordOffset: at,
    };
  }
}

/** Whether two references are one tensor: the same location, offset, shape and strides. */
export function sameTensor(a: GraphTensor, b: GraphTensor): boolean {
  return (
    a.location === b.location &&
    a.offset === b.offset &&
    a.shape.c === b.shape.c &&
    a.shape.h === b.shape.h &&
    a.shape.w === b.shape.w &&
    a.cStride === b.cStride &&
    a.yStride === b.yStride &&
    a.xStride === b.xStride
  );
}
