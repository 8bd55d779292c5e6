import { createHash } from "node:crypto";

/**
 * One text form for an event, used for comparison, hashing and trace files: JSON with keys
 * sorted and byte arrays as {"$bytes": base64}. Two events are the same when their canonical
 * forms are equal.
 */

export function canonicalJson(value: unknown): string {
  return JSON.stringify(toCanonical(value));
}

function toCanonical(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (Array.isArray(value)) return value.map(toCanonical);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = toCanonical((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/**
 * Whether two events are the same (what equal canonical forms would say), without building
 * them: replay compares every event, so this is on its hot path. Events are flat records of
 * numbers, strings, booleans, null and byte arrays.
 */
export function sameEvent(a: object, b: object): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const key in x) {
    keys++;
    const u = x[key];
    const v = y[key];
    if (u === v) continue;
    if (u instanceof Uint8Array && v instanceof Uint8Array) {
      if (u.length !== v.length || Buffer.compare(u, v) !== 0) return false;
      continue;
    }
    if (u !== null && v !== null && typeof u === 'object' && typeof v === 'object') {
      if (canonicalJson(u) !== canonicalJson(v)) return false;
      continue;
    }
    return false;
  }
  for (const _ in y) keys--;
  return keys === 0;
}

/** Inverse of canonicalJson for values that were produced by it. */
export function fromCanonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromCanonical);
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (keys.length === 1 && keys[0] === '$bytes' && typeof record.$bytes === 'string') {
      return new Uint8Array(Buffer.from(record.$bytes, 'base64'));
    }
    const out: Record<string, unknown> = {};
    for (const key of keys) out[key] = fromCanonical(record[key]);
    return out;
  }
  return value;
}

/** A short human-readable line for an event, for reports and the CLI. */
export function describeEvent(event: { seq: number; t: number; kind: string }): string {
  const fields: string[] = [];
  // Canonical (sorted) field order, so a recorded and a replayed event line up in reports.
  for (const [key, value] of Object.entries(event).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (key === 'seq' || key === 't' || key === 'kind') continue;
    fields.push(`${key}=${formatValue(key, value)}`);
  }
  return `#${event.seq} ${formatTime(event.t)} ${event.kind} ${fields.join(' ')}`.trimEnd();
}

function formatValue(key: string, value: unknown): string {
  if (value instanceof Uint8Array) {
    const head = Buffer.from(value.subarray(0, 16)).toString('hex');
    return value.length > 16 ? `[${value.length} bytes ${head}…]` : `[${value.length} bytes ${head}]`;
  }
  if (typeof value === 'number' && (key === 'addr' || key === 'pc' || key === 'endpoint' || key === 'value' || key.endsWith('Id'))) {
    return `0x${value.toString(16)}`;
  }
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Virtual nanoseconds as seconds with microsecond digits. */
export function formatTime(ns: number): string {
  return `${(ns / 1e9).toFixed(6)}s`;
}

/** SHA-256 over the canonical lines of a sequence of events: equal logs, equal hashes. */
export function hashEvents(events: Iterable<object>): string {
  const hash = createHash('sha256');
  for (const event of events) hash.update(canonicalJson(event)).update('\n');
  return hash.digest('hex');
}
