import { ma2450 } from './ma2450.js';
import { ma2485 } from './ma2485.js';
import type { ChipModel } from './model.js';

export const models: Readonly<Record<string, ChipModel>> = { ma2450, ma2485 };

/** The model named on a command line or in a trace header, or undefined. */
export function findModel(name: string): ChipModel | undefined {
  return Object.prototype.hasOwnProperty.call(models, name) ? models[name] : undefined;
}

export { ma2450, ma2485 };
export type { ChipModel } from './model.js';
