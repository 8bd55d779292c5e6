import { describe, expect, it } from 'vitest';
import { describeGraph } from '../../emu/graph/describe.js';
import { F16, f16FromNumber } from '../../emu/graph/f16.js';
import { elements, LayerError, STAGE, type Layer, type Shape } from '../../emu/graph/layers/layer.js';
import { relu } from '../../emu/graph/layers/relu.js';
import { GraphError, readGraph, type Graph, type LayerRegistry } from '../../emu/graph/reader.js';
import { hwc8, type TensorPlace } from '../../emu/graph/tensor-place.js';
import { graphTensor, writeGraph, type GraphDescription, type GraphTensor } from '../../emu/graph/writer.js';
import { xorshift32 } from '../support/random.js';

/**
 * A two-input layer with constants and scratch, split by channels, only for these tests: it shows
 * the format carries any layer, with no dependence on layers not registered yet.
 */
interface ShiftParams {
  readonly shift: number;
}
/** A registry with ReLU alone, for the messages about types without a layer. */
const onlyRelu = new Map([[relu.type, relu]]);

const testSum: Layer<ShiftParams> = {
  type: STAGE.sum,
  name: 'test-sum',
  kernel: 'test-sum.s',
  split: 'channels',
  inputs: 2,
  encode: ({ shift }) => {
    if (!Number.isInteger(shift) || shift < 0 || shift > 15) throw new LayerError(`test-sum: shift ${shift} is not 0..15`);
    return [shift];
  },
  decode: (words) => {
    if (words.length !== 1) throw new LayerError(`test-sum: 1 parameter word, not ${words.length}`);
    const params = { shift: words[0]! };
    testSum.encode(params);
    return params;
  },
  outputShape: ([a, b]) => {
    if (a!.c !== b!.c || a!.h !== b!.h || a!.w !== b!.w) throw new LayerError('test-sum: the inputs differ in shape');
    return { c: a!.c, h: a!.h, w: a!.w };
  },
  scratchBytes: () => 256,
  reference: ([a, b]) => ({ shape: a!.shape, data: a!.data.map((x, i) => F16.add(x, b!.data[i]!)) }),
  flops: ([a]) => elements(a!),
};
/** A layer whose decode takes words its encode does not give back: the reader must refuse them. */
const sloppy: Layer<ShiftParams> = { ...testSum, name: 'sloppy', decode: (words) => ({ shift: words[0]! & 15 }) };
const registry = (...layers: Layer<any>[]): LayerRegistry => new Map(layers.map((layer) => [layer.type, layer]));
const withTestSum = registry(relu, testSum);
const withSloppy = registry(relu, sloppy);

/** A tensor without the name an info adds: what a stage's operand reads back as. */
const bare = ({ location, offset, shape, cStride, yStride, xStride }: GraphTensor): GraphTensor => ({ location, offset, shape, cStride, yStride, xStride });
const tensorAt = (location: GraphTensor['location'], place: TensorPlace) => graphTensor(location, place);
const inputInfo = (name: string, shape: Shape) => ({ name, ...tensorAt('input', hwc8(shape, 0)) });

/** input -> relu -> bss -> relu -> bss -> relu -> output, 3x5x7 HWC8 (560 bytes). */
function reluChain(): GraphDescription {
  const shape = { c: 3, h: 5, w: 7 };
  const input = inputInfo('data', shape);
  const output = { name: 'relu out', ...tensorAt('output', hwc8(shape, 0)) };
  const t1 = tensorAt('bss', hwc8(shape, 0));
  const t2 = tensorAt('bss', hwc8(shape, 576));
  const stage = (index: number, slope: number, from: GraphTensor, to: GraphTensor) => ({ type: STAGE.relu, name: `relu${index}`, params: { slope }, inputs: [from], output: to, constants: {}, scratchBytes: 0 });
  return {
    shaves: 12,
    input,
    output,
    bssBytes: 1152,
    stages: [stage(0, 0, input, t1), stage(1, f16FromNumber(0.1), t1, t2), stage(2, f16FromNumber(1), t2, output)],
  };
}

/** input -> relu -> bss; (input, bss) -> test-sum with weights and bias -> output in CHW order. */
function sumGraph(): GraphDescription {
  const shape = { c: 10, h: 3, w: 4 };
  const input = inputInfo('image', shape);
  const chw = { address: 0, shape, cStride: 2 * 12, yStride: 2 * 4, xStride: 2 };
  const output = { name: 'sum', ...tensorAt('output', chw) };
  const t1 = tensorAt('bss', hwc8(shape, 0));
  const rand = xorshift32(7);
  return {
    shaves: 5,
    input,
    output,
    bssBytes: 384,
    stages: [
      { type: STAGE.relu, name: 'rectify ünïcode', params: { slope: f16FromNumber(0.25) }, inputs: [input], output: t1, constants: {}, scratchBytes: 0 },
      {
        type: STAGE.sum,
        name: 's',
        params: { shift: 3 },
        inputs: [input, t1],
        output,
        constants: { weights: Uint8Array.from({ length: 100 }, () => rand() & 0xff), bias: Uint8Array.of(1, 2, 3) },
        scratchBytes: 300,
      },
    ],
  };
}

const u32 = (bytes: Uint8Array, at: number) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(at, true);
/** A copy of `bytes` with u32 words set: [offset, value] pairs. */
function patched(bytes: Uint8Array, ...words: [number, number][]): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  for (const [at, value] of words) view.setUint32(at, value >>> 0, true);
  return copy;
}
function patchedBytes(bytes: Uint8Array, ...pairs: [number, number][]): Uint8Array {
  const copy = bytes.slice();
  for (const [at, value] of pairs) copy[at] = value;
  return copy;
}

function graphErrorOf(run: () => unknown): GraphError {
  try {
    run();
  } catch (e) {
    if (e instanceof GraphError) return e;
    throw e;
  }
  throw new Error('no GraphError');
}

/** What a graph means, without where the writer put things: equal for a graph and its re-write. */
function meaning(graph: Graph): string {
  return JSON.stringify({
    shaves: graph.shaves,
    input: graph.input,
    output: graph.output,
    bss: graph.bssBytes,
    stages: graph.stages.map((s) => [s.type, s.name, s.params, s.inputs, s.output, s.scratchBytes, Array.from(s.constants.weights ?? []), Array.from(s.constants.bias ?? [])]),
  });
}

// Offsets in the relu chain's file, from the spec's numbers (not from emu/graph/format.ts).
const HEADER = (k: number) => 52 + 4 * k;
const INPUT_INFO = 0xc0;
const OUTPUT_INFO = 0x100;
const S0 = 0x140; // stage 0's record; records of the chain are 144 + 4 (one param) + 8 ('reluN' padded) bytes
const S1 = S0 + 156;
const S2 = S1 + 156;

describe('graph file layout', () => {
  const bytes = writeGraph(reluChain());

  it('starts with the fixed ELF32 header and the MYEG blob header, sections 64-byte aligned', () => {
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0]);
    expect(new DataView(bytes.buffer).getUint16(40, true)).toBe(52);
    expect(u32(bytes, 20)).toBe(1);
    expect(new TextDecoder().decode(bytes.subarray(52, 56))).toBe('MYEG');
    const words = Array.from({ length: 20 }, (_, k) => u32(bytes, HEADER(k)));
    expect(words).toEqual([0x4745594d, bytes.length, 1, 0, 1, 1, 3, 560, 560, 1, 1152, 0, 12, 0, 1, 0, INPUT_INFO, OUTPUT_INFO, S0, 832]);
    expect(u32(bytes, S0 + 4)).toBe(156);
    expect(u32(bytes, S0 + 8)).toBe(2); // elements
    expect(u32(bytes, S1 + 144)).toBe(f16FromNumber(0.1));
    expect(new TextDecoder().decode(bytes.subarray(S2 + 148, S2 + 153))).toBe('relu2');
    expect(bytes.length).toBe(832); // no constants: the file ends at the aligned constant section
  });

  it('puts every constant 64-byte aligned after the stages and sizes the file to them', () => {
    const file = writeGraph(sumGraph(), { layers: withTestSum });
    const graph = readGraph(file, { layers: withTestSum });
    const sum = graph.stages[1]!;
    expect(graph.header.const_offset % 64).toBe(0);
    expect(sum.constantRefs).toEqual({ weights: { offset: 0, size: 100 }, bias: { offset: 128, size: 3 } });
    expect(graph.stages[0]!.constantRefs).toEqual({ weights: { offset: 0, size: 0 }, bias: { offset: 0, size: 0 } });
    expect(file.length).toBe(graph.header.const_offset + 192);
    expect(graph.header.cmx_slices).toBe(300);
    expect(graph.header.outputs_size).toBe(240);
  });
});

describe('graph round trips', () => {
  it('reads back what was written: stages, params, operands, constants, infos', () => {
    for (const [description, layers] of [[reluChain(), undefined], [sumGraph(), withTestSum]] as const) {
      const graph = readGraph(writeGraph(description, { layers }), { layers });
      expect(graph.shaves).toBe(description.shaves);
      expect(graph.bssBytes).toBe(description.bssBytes);
      expect(graph.input).toEqual(description.input);
      expect(graph.output).toEqual(description.output);
      expect(graph.stages.length).toBe(description.stages.length);
      graph.stages.forEach((stage, i) => {
        const given = description.stages[i]!;
        expect(stage.type).toBe(given.type);
        expect(stage.layer.type).toBe(given.type);
        expect(stage.name).toBe(given.name);
        expect(stage.params).toEqual(given.params);
        expect(stage.paramWords).toEqual(stage.layer.encode(given.params));
        expect(stage.inputs).toEqual(given.inputs.map(bare));
        expect(stage.output).toEqual(bare(given.output));
        expect(stage.scratchBytes).toBe(given.scratchBytes);
        expect(stage.constants.weights).toEqual(given.constants.weights);
        expect(stage.constants.bias).toEqual(given.constants.bias);
      });
    }
  });

  it('re-writes a read graph byte for byte, and writes the same description the same way twice', () => {
    for (const [description, layers] of [[reluChain(), undefined], [sumGraph(), withTestSum]] as const) {
      const bytes = writeGraph(description, { layers });
      expect(writeGraph(description, { layers })).toEqual(bytes);
      expect(writeGraph(readGraph(bytes, { layers }), { layers })).toEqual(bytes);
    }
  });

  it('gives constants as views of the file, and reads a graph inside a larger buffer', () => {
    const bytes = writeGraph(sumGraph(), { layers: withTestSum });
    const framed = new Uint8Array(bytes.length + 24);
    framed.set(bytes, 8);
    const graph = readGraph(framed.subarray(8, 8 + bytes.length), { layers: withTestSum });
    const weights = graph.stages[1]!.constants.weights!;
    expect(weights.buffer).toBe(framed.buffer);
    expect(weights.byteOffset).toBe(8 + graph.header.const_offset);
  });

  it('accepts any minor version of its major', () => {
    const bytes = patched(writeGraph(reluChain()), [HEADER(3), 7]);
    expect(readGraph(bytes).header.ver_minor).toBe(7);
  });
});

describe('graph reader refuses each broken rule with the field at fault', () => {
  const chain = writeGraph(reluChain());
  const sum = writeGraph(sumGraph(), { layers: withTestSum });
  const sumGraphRead = readGraph(sum, { layers: withTestSum });
  const T0 = sumGraphRead.stages[0]!.recordOffset;
  const T1 = sumGraphRead.stages[1]!.recordOffset;

  const cases: [string, Uint8Array, number, RegExp, LayerRegistry?][] = [
    ['an OpenVINO blob', patched(chain, [HEADER(0), 9709], [HEADER(2), 6], [HEADER(3), 0]), 0x34, /^an OpenVINO compiled blob \(magic 9709, version 6\.0\), not a myriad-emu graph$/],
    ['a file shorter than the header', chain.subarray(0, 100), 100, /ends inside the 132-byte header \(it has 100 bytes\)/],
    ['an empty file', new Uint8Array(0), 0, /ends inside the 132-byte header/],
    ['no ELF magic', patchedBytes(chain, [0, 0x4d]), 0, /ELF header e_ident magic is 0x464c454d, not 0x464c457f: not a myriad-emu graph/],
    ['ELF class 64', patchedBytes(chain, [4, 2]), 4, /EI_CLASS is 0x2, not 0x1/],
    ['an ELF pad byte', patchedBytes(chain, [12, 1]), 12, /EI_PAD byte 3 is 0x1, not 0/],
    ['e_type ET_EXEC', patchedBytes(chain, [16, 2]), 16, /e_type is 0x2, not 0x0/],
    ['e_ehsize', patchedBytes(chain, [40, 64]), 40, /e_ehsize is 0x40, not 0x34/],
    ['another magic', patched(chain, [HEADER(0), 0x12345678]), 0x34, /magic 0x12345678 is not a myriad-emu graph's 0x4745594d/],
    ['another major version', patched(chain, [HEADER(2), 2]), 0x3c, /version 2\.0: this reader reads version 1\.x/],
    ['file_size not the file', patched(chain, [HEADER(1), 831]), 0x38, /file_size 831, but the file has 832 bytes/],
    ['bytes after the file', Uint8Array.from([...chain, 0]), 0x38, /file_size 832, but the file has 833 bytes/],
    ['two inputs', patched(chain, [HEADER(4), 2]), 0x44, /inputs_count 2: version 1\.0 has 1/],
    ['no output', patched(chain, [HEADER(5), 0]), 0x48, /outputs_count 0: version 1\.0 has 1/],
    ['a batch of 2', patched(chain, [HEADER(9), 2]), 0x58, /batch_size 2/],
    ['a hardware stage', patched(chain, [HEADER(13), 1]), 0x68, /has_hw_stage 1/],
    ['no SHAVE stage', patched(chain, [HEADER(14), 0]), 0x6c, /has_shave_stage 0/],
    ['a DMA stage', patched(chain, [HEADER(15), 1]), 0x70, /has_dma_stage 1/],
    ['no stages', patched(chain, [HEADER(6), 0]), 0x4c, /stages_count 0: a graph has at least one stage/],
    ['more stages than the file holds', patched(chain, [HEADER(6), 0xffffffff]), 0x4c, /stages_count 4294967295: the 512 bytes from stage_offset to the end of the file hold at most 3 records/],
    ['0 SHAVEs', patched(chain, [HEADER(12), 0]), 0x64, /shaves 0 is not 1\.\.16/],
    ['17 SHAVEs', patched(chain, [HEADER(12), 17]), 0x64, /shaves 17 is not 1\.\.16/],
    ['bss not a multiple of 64', patched(chain, [HEADER(10), 1153]), 0x5c, /bss_mem_size 1153 is not a multiple of 64/],
    ['an unaligned section', patched(chain, [HEADER(16), 0xc4]), 0x74, /input_info_offset 0xc4 is not a multiple of 64/],
    ['a section in the header', patched(chain, [HEADER(17), 0x40]), 0x78, /output_info_offset 0x40 lies inside the 132-byte header/],
    ['a section past the file', patched(chain, [HEADER(19), 0x380]), 0x80, /const_offset 0x380 is past the end of the file \(0x340\)/],
    ['an info past the file', patched(chain, [HEADER(16), 0x340]), 0x74, /input_info_offset 0x340: the 64-byte tensor info runs past the end of the file/],
    ['two infos in one place', patched(chain, [HEADER(17), INPUT_INFO]), 0x78, /the output info section at 0xc0 overlaps the input info section 0xc0\.\.0x100/],
    ['constants inside the stages', patched(chain, [HEADER(19), 0x200]), 0x80, /the constant section at 0x200 overlaps the stage section 0x140\.\.0x314/],
    ['an info inside the stages', patched(chain, [HEADER(17), 0x180]), 0x78, /the output info section at 0x180 overlaps the stage section/],
    ['a record head past the file', patched(chain, [S0 + 4, 412]), S0 + 412, /^stage 1: the 144-byte record head runs past the end of the file \(0x340\)$/],
    ['a record smaller than its head', patched(chain, [S0 + 4, 12]), 0x144, /^stage 0 record_size 12 is smaller than the 144-byte record head$/],
    ['a record size not a multiple of 4', patched(chain, [S1 + 4, 158]), S1 + 4, /stage 1 record_size 158 is not a multiple of 4/],
    ['a record past the file', patched(chain, [S2 + 4, 0x10000]), S2 + 4, /stage 2 record_size 65536: the record runs past the end of the file/],
    ['a record size its fields do not give', patched(chain, [S1 + 24, 4]), S1 + 4, /stage 1 \(relu\) record_size 156 is not 152 \(144 \+ 4 \* n_params 1 \+ name_length 4 padded to 4\)/],
    ['an unknown stage type', patched(chain, [S1, 999]), S1, /^stage 1 type 999 is not a stage type$/],
    ['a stage type with no layer', patched(chain, [S0, STAGE.conv]), S0, /^stage 0 type 0 \(conv\) has no layer registered in this reader$/, onlyRelu],
    ['a split that is none', patched(chain, [S0 + 8, 3]), S0 + 8, /stage 0 \(relu\) split 3 is not 0 rows, 1 channels or 2 elements/],
    ['a split not the layer\'s', patched(chain, [S0 + 8, 1]), S0 + 8, /split 1 \(channels\): relu splits by elements \(2\)/],
    ['inputs not the layer\'s', patched(chain, [S0 + 16, 2]), S0 + 16, /n_inputs 2: relu takes 1/],
    ['too many params', patched(chain, [S0 + 20, 33]), S0 + 20, /n_params 33 is more than 32/],
    ['an empty name', patched(chain, [S0 + 24, 0]), S0 + 24, /name_length 0 is not 1\.\.64/],
    ['a long name', patched(chain, [S0 + 24, 65]), S0 + 24, /name_length 65 is not 1\.\.64/],
    ['a reserved word', patched(chain, [S0 + 28, 1]), S0 + 28, /reserved word is 1, not 0/],
    ['a NUL in a name', patchedBytes(chain, [S0 + 150, 0]), S0 + 150, /stage 0 \(relu\) name has a NUL byte/],
    ['a name not UTF-8', patchedBytes(chain, [S0 + 148, 0xff]), S0 + 148, /stage 0 \(relu\) name is not UTF-8/],
    ['a name padded with non-zero', patchedBytes(chain, [S0 + 154, 0x20]), S0 + 154, /name padding byte is 0x20, not 0/],
    ['a second input to a one-input stage', patched(chain, [S0 + 64, 3]), S0 + 64, /stage 0 'relu0' \(relu\) in1 is location 3, but the stage has 1 input: it must be none \(0\)/],
    ['an absent tensor with words', patched(chain, [S0 + 64 + 8, 3]), S0 + 72, /in1 has location none but c 3, not 0/],
    ['an input read from the output', patched(chain, [S1 + 32, 2]), S1 + 32, /in0 is location output: an input is in input \(1\) or bss \(3\)/],
    ['an absent first input', patched(chain, [S1 + 32, 0], [S1 + 36, 0], [S1 + 40, 0], [S1 + 44, 0], [S1 + 48, 0], [S1 + 52, 0], [S1 + 56, 0], [S1 + 60, 0]), S1 + 32, /in0 is location none/],
    ['an output into the input', patched(chain, [S0 + 96, 1]), S0 + 96, /out is location input: an output is in output \(2\) or bss \(3\)/],
    ['an unknown location', patched(chain, [S0 + 96, 4]), S0 + 96, /out location 4 is not 1 input, 2 output or 3 bss/],
    ['an odd offset', patched(chain, [S0 + 36, 1]), S0 + 36, /in0 offset 1 in input is not a multiple of 2/],
    ['a bss offset not a multiple of 64', patched(chain, [S1 + 36, 32]), S1 + 36, /in0 offset 32 in bss is not a multiple of 64/],
    ['a channel count of 0', patched(chain, [S0 + 40, 0]), S0 + 40, /in0 c is 0/],
    ['a width of 0', patched(chain, [S0 + 96 + 16, 0]), S0 + 112, /out w is 0/],
    ['an odd stride', patched(chain, [S0 + 96 + 24, 3]), S0 + 120, /out yStride 3 is not a multiple of 2/],
    ['more elements than the location holds', patched(chain, [S0 + 40, 0xffffffff], [S0 + 52, 0], [S0 + 56, 0], [S0 + 60, 0]), S0 + 40, /in0 has 4294967295x5x7 elements, more f16 than the 560-byte input location holds/],
    ['a tensor past its location', patched(chain, [S0 + 36, 2]), S0 + 36, /in0 at offset 2 spans 560 bytes, past the 560 bytes of input \(inputs_size\)/],
    ['a tensor past the bss', patched(chain, [HEADER(10), 1088]), S1 + 100, /stage 1 'relu1' \(relu\) out at offset 576 spans 560 bytes, past the 1088 bytes of bss/],
    ['params the layer refuses', patched(chain, [S0 + 144, f16FromNumber(-1)]), S0 + 144, /stage 0 'relu0' \(relu\) params: relu: the slope must be 0 or in \(0, 1\], not -1/],
    ['an output shape not the layer\'s', patched(chain, [S0 + 112, 6]), S0 + 104, /stage 0 'relu0' \(relu\) out is 3x5x6, but relu makes 3x5x7 of 3x5x7/],
    ['an elements split on a tensor not HWC8', patched(chain, [S0 + 60, 6]), S0 + 52, /in0 strides c 2 y 112 x 6 are not HWC8 \(2, 112, 16\), which a stage split by elements needs/],
    ['an unaligned constant', patched(sum, [T1 + 128, 32]), T1 + 128, /stage 1 's' \(test-sum\) weights offset 32 is not a multiple of 64/, withTestSum],
    ['an absent constant with an offset', patched(sum, [T0 + 136, 64]), T0 + 136, /stage 0 'rectify ünïcode' \(relu\) bias is absent \(size 0\) but has offset 64, not 0/, withTestSum],
    ['a constant past the file', patched(sum, [T1 + 140, 65]), T1 + 140, /bias at offset 128 with 65 bytes runs past the 192-byte constant section/, withTestSum],
    ['constants adding up to more than the section', patched(sum, [T0 + 128, 0], [T0 + 132, 100], [T0 + 136, 0], [T0 + 140, 100]), T0 + 140, /stage 0 bias: the stages' constants add up to 200 bytes, more than the 192-byte constant section/, withTestSum],
    ['inputs the layer cannot take', patched(sum, [T1 + 64 + 12, 2]), T1 + 32, /stage 1 's' \(test-sum\) inputs 10x3x4, 10x2x4: test-sum: the inputs differ in shape/, withTestSum],
    ['params not as the layer encodes them', patched(sum, [T1 + 144, 0x13]), T1 + 144, /params \[0x13\] are not as sloppy encodes them \(\[0x3\]\)/, withSloppy],
    ['less scratch than the layer needs', patched(sum, [T1 + 12, 255], [HEADER(11), 255]), T1 + 12, /stage 1 's' \(test-sum\) scratch_bytes 255 is less than the 256 bytes test-sum needs/, withTestSum],
    ['cmx_slices not the stages\' largest scratch', patched(sum, [HEADER(11), 301]), 0x60, /cmx_slices 301 is not the largest scratch_bytes of the stages, 300/, withTestSum],
    ['an input info in the bss', patched(chain, [INPUT_INFO, 3]), INPUT_INFO, /the input tensor's location is bss, not input \(1\)/],
    ['an output info with no location', patched(chain, [OUTPUT_INFO, 0], [OUTPUT_INFO + 8, 0], [OUTPUT_INFO + 12, 0], [OUTPUT_INFO + 16, 0], [OUTPUT_INFO + 20, 0], [OUTPUT_INFO + 24, 0], [OUTPUT_INFO + 28, 0]), OUTPUT_INFO, /the output tensor's location is none, not output \(2\)/],
    ['an input info not at the element\'s start', patched(chain, [HEADER(7), 624], [INPUT_INFO + 4, 64]), INPUT_INFO + 4, /the input tensor's offset is 64, not 0: the input element is the tensor itself/],
    ['inputs_size not the input tensor\'s span', patched(chain, [HEADER(7), 562]), HEADER(7), /inputs_size 562 is not the input tensor's span, 560 bytes/],
    ['outputs_size not the output tensor\'s span', patched(chain, [HEADER(8), 564]), HEADER(8), /outputs_size 564 is not the output tensor's span, 560 bytes/],
    ['an info name with no NUL', chain.slice().fill(0x61, INPUT_INFO + 32, INPUT_INFO + 64), INPUT_INFO + 32, /the input tensor's name has no NUL in its 32 bytes/],
    ['an empty info name', chain.slice().fill(0, OUTPUT_INFO + 32, OUTPUT_INFO + 64), OUTPUT_INFO + 32, /the output tensor's name is empty/],
    ['bytes after an info name\'s NUL', patchedBytes(chain, [INPUT_INFO + 40, 1]), INPUT_INFO + 40, /the input tensor's name has a byte 0x1 after its NUL/],
    ['an info name not UTF-8', patchedBytes(chain, [INPUT_INFO + 32, 0xc3]), INPUT_INFO + 32, /the input tensor's name is not UTF-8/],
    ['an input no stage reads', patched(chain, [S0 + 44, 4], [S0 + 108, 4]), INPUT_INFO, /the input tensor 'data' is not read by any stage/],
    ['an output no stage writes', patched(chain, [S2 + 44, 4], [S2 + 108, 4]), OUTPUT_INFO, /the output tensor 'relu out' is not written by any stage/],
  ];

  for (const [rule, bytes, offset, message, layers] of cases) {
    it(rule, () => {
      const error = graphErrorOf(() => readGraph(bytes, { layers }));
      expect(error.detail).toMatch(message);
      expect(error.offset.toString(16)).toBe(offset.toString(16));
      expect(error.message).toBe(`graph byte 0x${offset.toString(16)}: ${error.detail}`);
    });
  }

  it('says which known stage type has no layer in the registry it reads with', () => {
    expect(graphErrorOf(() => readGraph(sum, { layers: onlyRelu })).detail).toBe('stage 1 type 12 (sum) has no layer registered in this reader');
  });
});

describe('graph writer', () => {
  it('refuses what it cannot write, naming the field where it would go', () => {
    const base = reluChain();
    const withStage = (i: number, change: object): GraphDescription => ({ ...base, stages: base.stages.map((s, k) => (k === i ? { ...s, ...change } : s)) });
    expect(graphErrorOf(() => writeGraph(withStage(1, { type: STAGE.conv }), { layers: onlyRelu })).message).toBe(`graph byte 0x${S1.toString(16)}: stage 1 type 0 (conv) has no layer registered in this reader`);
    expect(graphErrorOf(() => writeGraph(withStage(0, { params: { slope: f16FromNumber(-0.5) } }))).message).toMatch(/^graph byte 0x1d0: stage 0 'relu0' \(relu\) params: relu: the slope/);
    const halfChannel = { ...base.stages[0]!.inputs[0]!, shape: { c: 1.5, h: 5, w: 7 } };
    expect(graphErrorOf(() => writeGraph(withStage(0, { inputs: [halfChannel] }))).message).toBe(`graph byte 0x${(S0 + 40).toString(16)}: stage 0 'relu0' (relu) in0 c 1.5 is not a u32`);
    expect(graphErrorOf(() => writeGraph(withStage(0, { inputs: [base.input, base.input, base.input] }))).detail).toMatch(/has 3 inputs; a record holds 1 or 2/);
    expect(graphErrorOf(() => writeGraph(withStage(0, { name: 'bad \ud800' }))).detail).toMatch(/stage 0 name 'bad \ud800' is not well-formed Unicode/);
    expect(graphErrorOf(() => writeGraph(withStage(0, { output: { ...base.stages[0]!.output, location: 'none' } }))).detail).toMatch(/out location 'none' is not input, output or bss/);
    expect(graphErrorOf(() => writeGraph({ ...base, input: { ...base.input, name: 'x'.repeat(32) } })).message).toBe(`graph byte 0xe0: the input tensor's name '${'x'.repeat(32)}' is 32 bytes of UTF-8; at most 31 fit`);
    expect(graphErrorOf(() => writeGraph(withStage(0, { constants: { weights: [1, 2] } }))).detail).toBe('stage 0 weights is not a Uint8Array');
  });

  it('refuses a graph the reader would refuse, with the reader\'s words', () => {
    const base = reluChain();
    expect(graphErrorOf(() => writeGraph({ ...base, bssBytes: 1088 })).detail).toMatch(/stage 1 'relu1' \(relu\) out at offset 576 spans 560 bytes, past the 1088 bytes of bss/);
    expect(graphErrorOf(() => writeGraph({ ...base, shaves: 0 })).detail).toBe('shaves 0 is not 1..16');
    expect(graphErrorOf(() => writeGraph({ ...base, stages: [] })).detail).toBe('stages_count 0: a graph has at least one stage');
    expect(graphErrorOf(() => writeGraph({ ...base, stages: base.stages.slice(0, 2) })).detail).toBe("the output tensor 'relu out' is not written by any stage");
    const longName = { ...base, stages: base.stages.map((s, k) => (k === 2 ? { ...s, name: 'n'.repeat(65) } : s)) };
    expect(graphErrorOf(() => writeGraph(longName)).detail).toBe("stage 2 (relu) name_length 65 is not 1..64");
    const sum = sumGraph();
    const lowScratch = { ...sum, stages: sum.stages.map((s, k) => (k === 1 ? { ...s, scratchBytes: 8 } : s)) };
    expect(graphErrorOf(() => writeGraph(lowScratch, { layers: withTestSum })).detail).toMatch(/scratch_bytes 8 is less than the 256 bytes test-sum needs/);
  });

  it('treats empty constants as none', () => {
    const sum = sumGraph();
    const empty = { ...sum, stages: sum.stages.map((s, k) => (k === 1 ? { ...s, constants: { weights: new Uint8Array(0), bias: sum.stages[1]!.constants.bias } } : s)) };
    const graph = readGraph(writeGraph(empty, { layers: withTestSum }), { layers: withTestSum });
    expect(graph.stages[1]!.constants.weights).toBeUndefined();
    expect(graph.stages[1]!.constantRefs.bias).toEqual({ offset: 0, size: 3 });
  });
});

describe('describeGraph', () => {
  it('summarises the header, the tensors and every stage', () => {
    const graph = readGraph(writeGraph(sumGraph(), { layers: withTestSum }), { layers: withTestSum });
    expect(describeGraph(graph)).toBe(
      [
        `myriad-emu graph 1.0, ${graph.header.file_size} bytes: 2 stages, up to 5 SHAVEs, bss 384 bytes, 300 bytes of CMX scratch per SHAVE`,
        "input  'image' 10x3x4 HWC8 at input+0x0 (384 bytes)",
        "output 'sum' 10x3x4 strides c 24 y 8 x 2 at output+0x0 (240 bytes)",
        "stage 0 relu (type 6) 'rectify ünïcode': 10x3x4 HWC8 at input+0x0 -> 10x3x4 HWC8 at bss+0x0; params [0x3400]; weights 0 bytes, bias 0 bytes; scratch 0",
        "stage 1 test-sum (type 12) 's': 10x3x4 HWC8 at input+0x0 + 10x3x4 HWC8 at bss+0x0 -> 10x3x4 strides c 24 y 8 x 2 at output+0x0; params [0x3]; weights 100 bytes, bias 3 bytes; scratch 300",
      ].join('\n'),
    );
  });
});

describe('graph reader against damaged files', () => {
  const EDGE = [0, 1, 0xffffffff, 0x80000000];

  /** Word offsets that hold sizes, counts and offsets: where a damaged file most often lies. */
  function sizeFields(graph: Graph): number[] {
    const fields = [1, 4, 5, 6, 7, 8, 10, 11, 12, 16, 17, 18, 19].map(HEADER);
    for (const info of [graph.header.input_info_offset, graph.header.output_info_offset]) for (let k = 1; k < 8; k++) fields.push(info + 4 * k);
    for (const stage of graph.stages) {
      const at = stage.recordOffset;
      for (const k of [1, 3, 4, 5, 6]) fields.push(at + 4 * k);
      for (const tensor of [32, 64, 96]) for (let k = 1; k < 8; k++) fields.push(at + tensor + 4 * k);
      fields.push(at + 128, at + 132, at + 136, at + 140);
    }
    return fields;
  }

  function mutant(valid: Uint8Array, fields: readonly number[], rand: () => number): { bytes: Uint8Array; how: string } {
    const pick = <T>(list: readonly T[]) => list[rand() % list.length]!;
    const kind = rand() % 6;
    if (kind === 0) {
      const bytes = valid.slice();
      const flips = 1 + (rand() % 3);
      for (let i = 0; i < flips; i++) bytes[rand() % bytes.length]! ^= 1 << (rand() % 8);
      return { bytes, how: `${flips} bit flips` };
    }
    if (kind === 1) {
      const length = rand() % valid.length;
      return { bytes: valid.slice(0, length), how: `truncated to ${length}` };
    }
    if (kind === 2) {
      const at = 4 * (rand() % (valid.length / 4));
      const value = pick(EDGE);
      return { bytes: patched(valid, [at, value]), how: `word ${at} = ${value}` };
    }
    if (kind === 3 || kind === 4) {
      const at = pick(fields);
      const was = u32(valid, at);
      const value = pick([...EDGE, was + 1, was - 1, was + 2, was + 4, was - 4, was + 64, was - 64, was * 2, was >>> 1, valid.length, valid.length - was, 144, 64]) >>> 0;
      return { bytes: patched(valid, [at, value]), how: `size field ${at}: ${was} -> ${value}` };
    }
    // Longer files: some with file_size following, so the reader meets constant bytes it must ignore.
    const extra = 1 + (rand() % 128);
    const bytes = new Uint8Array(valid.length + extra);
    bytes.set(valid);
    for (let i = valid.length; i < bytes.length; i++) bytes[i] = rand() & 0xff;
    const follow = rand() & 1;
    return { bytes: follow ? patched(bytes, [HEADER(1), bytes.length]) : bytes, how: `${extra} bytes appended${follow ? ', file_size following' : ''}` };
  }

  for (const [name, description, layers, count, minRefused] of [
    ['relu chain', reluChain(), undefined, 20_000, 0.86],
    ['two-input graph with constants', sumGraph(), withTestSum, 6_000, 0.79],
  ] as const) {
    it(`${name}: ${count} seeded mutants each read or refused with a GraphError; accepted ones re-write`, () => {
      const valid = writeGraph(description, { layers });
      const fields = sizeFields(readGraph(valid, { layers }));
      const rand = xorshift32(0x6a09e667);
      let refused = 0;
      for (let i = 0; i < count; i++) {
        const { bytes, how } = mutant(valid, fields, rand);
        if (bytes.length === valid.length && bytes.every((b, k) => b === valid[k])) {
          i--; // overwriting a word with the value it has is no mutant
          continue;
        }
        let graph: Graph;
        try {
          graph = readGraph(bytes, { layers });
        } catch (e) {
          if (!(e instanceof GraphError)) throw new Error(`mutant ${i} (${how}): ${String(e)}`, { cause: e });
          if (!(e.offset >= 0 && e.offset <= bytes.length) || !/^graph byte 0x[0-9a-f]+: \S/.test(e.message)) throw new Error(`mutant ${i} (${how}): ${e.message}`);
          refused++;
          continue;
        }
        // Whatever the reader accepts the writer takes, and it means the same after a re-write.
        const again = readGraph(writeGraph(graph, { layers }), { layers });
        if (meaning(again) !== meaning(graph)) throw new Error(`mutant ${i} (${how}): the re-written graph differs`);
      }
      expect(refused / count).toBeGreaterThanOrEqual(minRefused);
    });
  }
});
