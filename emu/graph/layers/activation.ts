/**
 * The activation a stage may apply to its own f16 result (conv, depthConv, fullyConnected),
 * so that a Conv + Relu / Clip / LeakyRelu pair of the source network costs one stage.
 *
 * Every kind is the same three f16 operations with its own operands, which is why a kernel
 * needs no branch for it:
 *
 *     out = min(max(max(x, -0 + x * slope), low), high)
 *
 * (vau.mac.f16 with a -0 accumulator, vau.max.f16, vau.max.f16, vau.min.f16). The -0
 * accumulator keeps x * slope's sign of zero, so slope 1 gives x back exactly. A NaN comes out
 * as the default NaN 0x7E00.
 *
 *   none        slope 1, low -inf, high +inf
 *   relu        slope 1, low +0, high +inf            (max(x, +0): -0 becomes +0)
 *   leakyRelu   slope s in (0, 1], low -inf, high +inf (max(x, x * s); for s = 1 that is x)
 *   clip        slope 1, low, high (low <= high)       (ReLU6 is clip(0, 6))
 *
 * Parameter words: the kind (0 none, 1 relu, 2 leakyRelu, 3 clip), then slope, low and high as
 * f16 bit patterns. Kernels read only the last three; decoding checks they are the kind's.
 */
import { F16, f16ToNumber } from '../f16.js';
import { LayerError } from './layer.js';

export type FusedActivation =
  | { readonly kind: 'none' }
  | { readonly kind: 'relu' }
  /** The negative slope as f16 bits, in (0, 1]. */
  | { readonly kind: 'leakyRelu'; readonly slope: number }
  /** The bounds as f16 bits, neither NaN, low <= high. */
  | { readonly kind: 'clip'; readonly low: number; readonly high: number };

/** Parameter words an activation takes. */
export const ACTIVATION_WORDS = 4;

const KINDS = ['none', 'relu', 'leakyRelu', 'clip'] as const;
const ONE = 0x3c00;
const MINUS_INFINITY = 0xfc00;
const INFINITY = 0x7c00;

const isF16Bits = (h: number) => Number.isInteger(h) && h >= 0 && h <= 0xffff;

/** The words of an activation, after checking its operands; `layer` names the stage in errors. */
export function encodeActivation(activation: FusedActivation, layer: string): number[] {
  switch (activation.kind) {
    case 'none':
      return [0, ONE, MINUS_INFINITY, INFINITY];
    case 'relu':
      return [1, ONE, 0, INFINITY];
    case 'leakyRelu': {
      const { slope } = activation;
      const s = f16ToNumber(slope);
      if (!isF16Bits(slope) || !(s > 0 && s <= 1)) throw new LayerError(`${layer}: a leaky ReLU's slope must be an f16 in (0, 1], not ${isF16Bits(slope) ? s : slope}`);
      return [2, slope, MINUS_INFINITY, INFINITY];
    }
    case 'clip': {
      const { low, high } = activation;
      if (!isF16Bits(low) || !isF16Bits(high)) throw new LayerError(`${layer}: clip bounds must be f16 bit patterns, not ${low} and ${high}`);
      const [l, h] = [f16ToNumber(low), f16ToNumber(high)];
      if (!(l <= h)) throw new LayerError(`${layer}: clip needs low <= high, neither NaN; got ${l} and ${h}`);
      return [3, ONE, low, high];
    }
    default:
      throw new LayerError(`${layer}: unknown activation ${JSON.stringify(activation)}`);
  }
}

/** The activation back from its ACTIVATION_WORDS words; a LayerError for words encode() never gives. */
export function decodeActivation(words: readonly number[], layer: string): FusedActivation {
  const [kind, slope, low, high] = words;
  const name = KINDS[kind as number];
  const activation: FusedActivation | undefined =
    name === 'none' || name === 'relu' ? { kind: name } : name === 'leakyRelu' ? { kind: name, slope: slope! } : name === 'clip' ? { kind: name, low: low!, high: high! } : undefined;
  if (!activation || words.length !== ACTIVATION_WORDS) throw new LayerError(`${layer}: no activation has the words ${JSON.stringify(words)}`);
  const expected = encodeActivation(activation, layer);
  if (expected.some((w, i) => w !== words[i])) throw new LayerError(`${layer}: a ${name} activation has the words ${JSON.stringify(expected)}, not ${JSON.stringify(words)}`);
  return activation;
}

/** The three f16 operands (slope, low, high) a kernel applies. */
export function activationOperands(activation: FusedActivation, layer: string): { slope: number; low: number; high: number } {
  const [, slope, low, high] = encodeActivation(activation, layer);
  return { slope: slope!, low: low!, high: high! };
}

/** The activation of one f16 value, in the kernels' operations (see the module comment). */
export function applyActivation(x: number, { slope, low, high }: { slope: number; low: number; high: number }): number {
  return F16.min(F16.max(F16.max(x, F16.mac(0x8000, x, slope)), low), high);
}
