import { MAX_ALIGNMENT, type Layout } from './linker.js';

export class LayoutError extends Error {}

/**
 * A layout file is JSON:
 *   { "entry": "_start", "limit": "0x70200000",
 *     "sections": [ { "name": ".text", "address": "0x70000000", "align": 8, "inputs": [".text*"] }, ... ],
 *     "symbols": { "__stack_top": "0x70180000" } }
 * Addresses are numbers or "0x..." strings. COMMON in a section's inputs places common symbols.
 * An alignment is a power of two up to MAX_ALIGNMENT (1 MiB); 0 means none, as 1 does.
 */
export function parseLayout(text: string, file = 'layout'): Layout {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new LayoutError(`${file}: not JSON (${(error as Error).message})`);
  }
  const fail = (message: string): never => {
    throw new LayoutError(`${file}: ${message}`);
  };
  const number = (value: unknown, what: string): number => {
    const n = typeof value === 'string' && /^0x[0-9a-f]+$/i.test(value) ? parseInt(value, 16) : typeof value === 'number' ? value : NaN;
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) fail(`${what} must be a 32-bit address (a number or "0x..."), not ${JSON.stringify(value)}`);
    return n;
  };
  const o = raw as Record<string, unknown>;
  if (o === null || typeof o !== 'object') fail('must be a JSON object');
  if (typeof o.entry !== 'string') fail('needs "entry", the name of the entry symbol');
  if (!Array.isArray(o.sections) || o.sections.length === 0) fail('needs "sections", a list');
  const alignment = (value: unknown, what: string): number => {
    const n = number(value, what) || 1;
    if (n > MAX_ALIGNMENT) fail(`${what} 0x${n.toString(16)} is more than the 0x${MAX_ALIGNMENT.toString(16)} a section may ask for`);
    if ((n & (n - 1)) !== 0) fail(`${what} 0x${n.toString(16)} is not a power of two`);
    return n;
  };
  const sections = (o.sections as unknown[]).map((s, i) => {
    const section = s as Record<string, unknown>;
    if (typeof section?.name !== 'string') fail(`section ${i} needs a "name"`);
    if (!Array.isArray(section.inputs) || !section.inputs.every((x) => typeof x === 'string')) fail(`section ${String(section.name)} needs "inputs", a list of section name patterns`);
    return {
      name: section.name as string,
      inputs: section.inputs as string[],
      ...(section.address !== undefined ? { address: number(section.address, `${String(section.name)}.address`) } : {}),
      ...(section.align !== undefined ? { align: alignment(section.align, `${String(section.name)}.align`) } : {}),
    };
  });
  const symbols: Record<string, number> = {};
  for (const [name, value] of Object.entries((o.symbols as Record<string, unknown>) ?? {})) symbols[name] = number(value, `symbol ${name}`);
  return { entry: o.entry as string, sections, symbols, ...(o.limit !== undefined ? { limit: number(o.limit, 'limit') } : {}) };
}
