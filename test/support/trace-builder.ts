/**
 * Takes trace files apart and puts them back together, written from docs/trace-format.md alone
 * (not from emu/trace/format.ts or event-codec.ts), so the tests can tamper with traces and
 * check the document. Only the schema table (kinds and fields, in order) is shared.
 */
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { EVENT_KINDS, FIELDS } from '../../emu/trace/schema.js';

export const KIND = { header: 1, events: 2, blobs: 3, snapshot: 4, index: 5 } as const;

/**
 * A chunk as JSON lines: one record for header, snapshot and index; for events one event per
 * line, byte arrays as {"$bytes": base64} or {"$blob": sha256}. Blobs chunks come as `raw`
 * (records of sha256[32], u32 length, bytes); an events chunk given a `raw` body is written
 * with it instead of its lines.
 */
export interface RawChunk {
  kind: number;
  lines: string[];
  raw?: Buffer;
}

// ---- events records, as docs/trace-format.md describes them

function readVarint(body: Buffer, at: { p: number }): number {
  let value = 0;
  for (let scale = 1; ; scale *= 128) {
    const byte = body[at.p++];
    if (byte === undefined) throw new Error('cut off');
    value += (byte & 127) * scale;
    if (byte < 128) return value;
  }
}

function writeVarint(out: number[], value: number): void {
  for (; value >= 128; value = Math.floor(value / 128)) out.push((value % 128) + 128);
  out.push(value);
}

/** An events body as JSON lines. */
export function decodeRecords(body: Buffer): string[] {
  const lines: string[] = [];
  const strings: string[] = [];
  const at = { p: 0 };
  let seq = 0;
  let t = 0;
  while (at.p < body.length) {
    const kind = EVENT_KINDS[body[at.p++]!]!;
    seq += readVarint(body, at);
    const zigzag = readVarint(body, at);
    t += zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
    const event: Record<string, unknown> = { seq, t, kind };
    for (const [name, type] of Object.entries(FIELDS[kind])) {
      if (type === 'number') event[name] = readVarint(body, at);
      else if (type === 'boolean') event[name] = body[at.p++] === 1;
      else if (type === 'string') {
        const ref = readVarint(body, at);
        if (ref === 0) {
          const length = readVarint(body, at);
          strings.push(body.toString('utf8', at.p, (at.p += length)));
        }
        event[name] = strings[ref === 0 ? strings.length - 1 : ref - 1];
      } else {
        const tag = body[at.p++];
        if (tag === 0) event[name] = null;
        else if (tag === 1) {
          const length = readVarint(body, at);
          event[name] = { $bytes: body.toString('base64', at.p, (at.p += length)) };
        } else event[name] = { $blob: body.toString('hex', at.p, (at.p += 32)) };
      }
    }
    lines.push(JSON.stringify(event));
  }
  return lines;
}

/** JSON event lines as an events body (the values must fit the format: this is no validator). */
export function encodeRecords(lines: readonly string[]): Buffer {
  const out: number[] = [];
  const strings: string[] = [];
  let seq = 0;
  let t = 0;
  for (const line of lines) {
    const event = JSON.parse(line);
    out.push(EVENT_KINDS.indexOf(event.kind));
    writeVarint(out, event.seq - seq);
    const dt = event.t - t;
    writeVarint(out, dt >= 0 ? dt * 2 : -dt * 2 - 1);
    [seq, t] = [event.seq, event.t];
    for (const [name, type] of Object.entries(FIELDS[event.kind as keyof typeof FIELDS])) {
      const value = event[name];
      if (type === 'number') writeVarint(out, value);
      else if (type === 'boolean') out.push(value ? 1 : 0);
      else if (type === 'string') {
        const known = strings.indexOf(value);
        if (known >= 0) writeVarint(out, known + 1);
        else {
          strings.push(value);
          const bytes = Buffer.from(value, 'utf8');
          out.push(0);
          writeVarint(out, bytes.length);
          out.push(...bytes);
        }
      } else if (value === null) out.push(0);
      else if ('$bytes' in value) {
        const bytes = Buffer.from(value.$bytes, 'base64');
        out.push(1);
        writeVarint(out, bytes.length);
        out.push(...bytes);
      } else out.push(2, ...Buffer.from(value.$blob, 'hex'));
    }
  }
  return Buffer.from(out);
}


/** The chunks of a trace in file order, the index chunk left out. */
export function readChunks(file: Uint8Array): RawChunk[] {
  const bytes = Buffer.from(file);
  if (bytes.subarray(0, 8).toString('latin1') !== 'MYRTRACE') throw new Error('no magic');
  const end = bytes.length - 16;
  const chunks: RawChunk[] = [];
  let at = 12;
  while (at < end) {
    const kind = bytes.readUInt8(at) & 0x7f;
    const length = bytes.readUInt32LE(at + 1);
    const compressed = bytes.subarray(at + 5, at + 5 + length);
    const body = bytes.readUInt8(at) & 0x80 ? brotliDecompressSync(compressed) : gunzipSync(compressed);
    if (kind === KIND.blobs) chunks.push({ kind, lines: [], raw: body });
    else if (kind === KIND.events) chunks.push({ kind, lines: decodeRecords(body) });
    else if (kind !== KIND.index) chunks.push({ kind, lines: body.toString('utf8').split('\n') });
    at += 5 + length;
  }
  return chunks;
}

function chunkBytes(kind: number, lines: readonly string[], raw?: Buffer): Buffer {
  const body = gzipSync(raw ?? (kind === KIND.events ? encodeRecords(lines) : Buffer.from(lines.join('\n'), 'utf8')));
  const head = Buffer.alloc(5);
  head.writeUInt8(kind, 0);
  head.writeUInt32LE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** A line as JSON, or an empty record when a test broke it on purpose. */
function parse(line: string | undefined): Record<string, any> {
  try {
    const value = JSON.parse(line ?? '');
    return value !== null && typeof value === 'object' ? value : {};
  } catch {
    return {};
  }
}

/** A whole trace file from chunks; the index is derived from them unless `index` replaces it. */
export function buildTrace(chunks: readonly RawChunk[], options: { version?: number; index?: (index: Record<string, unknown>) => unknown } = {}): Buffer {
  const magic = Buffer.alloc(12);
  magic.write('MYRTRACE', 0, 'latin1');
  magic.writeUInt32LE(options.version ?? 3, 8);
  const parts: Buffer[] = [magic];
  let offset = 12;
  const entries: Record<string, unknown>[] = [];
  const blobs: Record<string, number> = {};
  let header: unknown = null;
  let events = 0;
  let endT = 0;
  for (const chunk of chunks) {
    const entry = { kind: chunk.kind, offset, firstSeq: 0, lastSeq: 0, firstT: 0, lastT: 0 };
    if (chunk.kind === KIND.header) header = parse(chunk.lines[0]);
    if (chunk.kind === KIND.events) {
      const first = parse(chunk.lines[0]);
      const last = parse(chunk.lines[chunk.lines.length - 1]);
      Object.assign(entry, { firstSeq: first.seq ?? 0, lastSeq: last.seq ?? 0, firstT: first.t ?? 0, lastT: last.t ?? 0 });
      events += chunk.lines.length;
      endT = last.t ?? 0;
    }
    if (chunk.kind === KIND.snapshot) {
      const record = parse(chunk.lines[0]);
      Object.assign(entry, { firstSeq: record.seq, lastSeq: record.seq, firstT: record.t, lastT: record.t });
    }
    if (chunk.kind === KIND.blobs && chunk.raw) {
      for (let p = 0; p + 36 <= chunk.raw.length; p += 36 + chunk.raw.readUInt32LE(p + 32)) blobs[chunk.raw.toString('hex', p, p + 32)] = offset;
    }
    entries.push(entry);
    const bytes = chunkBytes(chunk.kind, chunk.lines, chunk.raw);
    parts.push(bytes);
    offset += bytes.length;
  }
  let index: unknown = { header, chunks: entries, blobs, events, endT };
  if (options.index) index = options.index(index as Record<string, unknown>);
  const at = offset;
  parts.push(chunkBytes(KIND.index, [JSON.stringify(index)]));
  const trailer = Buffer.alloc(16);
  trailer.writeUInt32LE(at, 0);
  trailer.write('MYRTEND\0', 8, 'latin1');
  parts.push(trailer);
  return Buffer.concat(parts);
}

/** Rewrites the first event line `pick` chooses with `change`; returns the event's seq. */
export function tamperEvent(file: Uint8Array, pick: (event: Record<string, unknown>) => boolean, change: (line: string) => string): { trace: Buffer; seq: number } {
  const chunks = readChunks(file);
  for (const chunk of chunks) {
    if (chunk.kind !== KIND.events) continue;
    const at = chunk.lines.findIndex((line) => pick(JSON.parse(line)));
    if (at < 0) continue;
    const seq = JSON.parse(chunk.lines[at]!).seq as number;
    chunk.lines[at] = change(chunk.lines[at]!);
    return { trace: buildTrace(chunks), seq };
  }
  throw new Error('no event to tamper with');
}
