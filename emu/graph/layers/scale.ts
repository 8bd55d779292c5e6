/**
 * Scale: per channel, out = x * scale[c] + shift[c] (firmware-stubs/shave/layers/scale.s):
 * folded batch norm, a bias add, ONNX Mul or Add by a constant (C,1,1) tensor, with an optional
 * fused ReLU.
 *
 * One vau.mac.f16: the exact product x * scale plus the shift, rounded to f32 and then to f16
 * (two roundings, as the SHAVE's mac does), then vau.max.f16 with +0 for the ReLU. Absent
 * weights mean scale 1 (the result is x + shift, which through f32 is the correctly rounded
 * sum); absent bias means shift -0 (the result is x * scale rounded once, signed zeros
 * included). A NaN comes out as the default NaN 0x7E00; with the ReLU, -0 becomes +0.
 *
 * Constants: weights = the scale vector, bias = the shift vector, each packChannelVector's f16
 * layout (C rounded up to 8, pad lanes zero, so pad lanes of the output stay finite); either
 * may be absent. Split by rows: in0 and out are dense HWC8 of one shape.
 * Parameter words: [1 for a fused ReLU, 0 for none].
 */
import { F16 } from '../f16.js';
import { elements, LayerError, roundUp8, STAGE, type Constants, type Layer, type Shape } from './layer.js';

export interface ScaleParams {
  /** A ReLU after the scale and shift. */
  readonly relu: boolean;
}

const ONE = 0x3c00;
const NEGATIVE_ZERO = 0x8000;
const POSITIVE_ZERO = 0;
const MINUS_INFINITY = 0xfc00;

/** A per-channel f16 vector in the kernels' layout: C rounded up to 8 lanes, the pad lanes zero. */
export function packChannelVector(values: ArrayLike<number>, c: number): Uint8Array {
  if (!Number.isInteger(c) || c < 1) throw new LayerError(`a channel vector needs a channel count of at least 1, not ${c}`);
  if (values.length !== c) throw new LayerError(`a channel vector for ${c} channels needs ${c} values, not ${values.length}`);
  const bytes = new Uint8Array(2 * roundUp8(c));
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < c; i++) {
    const h = values[i]!;
    if (!Number.isInteger(h) || h < 0 || h > 0xffff) throw new LayerError(`channel vector value ${i} is not an f16 bit pattern: ${h}`);
    view.setUint16(2 * i, h, true);
  }
  return bytes;
}

/** Channel c's f16 of a packed vector, or `absent` when there is none. */
function channelValues(bytes: Uint8Array | undefined, c: number, absent: number, what: string): (channel: number) => number {
  if (!bytes) return () => absent;
  if (bytes.length !== 2 * roundUp8(c)) throw new LayerError(`scale: the ${what} vector has ${bytes.length} bytes, not ${2 * roundUp8(c)} for ${c} channels`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return (channel) => view.getUint16(2 * channel, true);
}

export const scale: Layer<ScaleParams> = {
  type: STAGE.scale,
  name: 'scale',
  kernel: 'scale.s',
  split: 'rows',
  inputs: 1,
  encode: ({ relu }) => {
    if (typeof relu !== 'boolean') throw new LayerError(`scale: relu must be true or false, not ${String(relu)}`);
    return [relu ? 1 : 0];
  },
  decode: (words) => {
    if (words.length !== 1 || (words[0] !== 0 && words[0] !== 1)) throw new LayerError(`scale: 1 parameter word, 0 or 1, not [${words.join(', ')}]`);
    return { relu: words[0] === 1 };
  },
  outputShape: (inputs) => {
    if (inputs.length !== 1) throw new LayerError(`scale: 1 input, not ${inputs.length}`);
    const { c, h, w }: Shape = inputs[0]!;
    return { c, h, w };
  },
  scratchBytes: () => 0,
  reference: ([input], constants: Constants, { relu }) => {
    const { c, h, w } = input!.shape;
    const scaleOf = channelValues(constants.weights, c, ONE, 'scale');
    const shiftOf = channelValues(constants.bias, c, NEGATIVE_ZERO, 'shift');
    const floor = relu ? POSITIVE_ZERO : MINUS_INFINITY;
    const data = new Uint16Array(elements(input!.shape));
    for (let channel = 0; channel < c; channel++) {
      const [s, b] = [scaleOf(channel), shiftOf(channel)];
      for (let i = channel * h * w; i < (channel + 1) * h * w; i++) data[i] = F16.max(F16.mac(b, input!.data[i]!, s), floor);
    }
    return { shape: input!.shape, data };
  },
  flops: ([input]) => 2 * elements(input!),
};
