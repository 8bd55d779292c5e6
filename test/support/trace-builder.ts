/**
 * Takes trace files apart and puts them back together, written from docs/trace-format.md alone
 * (not from emu/trace/format.ts), so the tests can tamper with traces and check the document.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

export const KIND = { header: 1, events: 2, blobs: 3, snapshot: 4, index: 5 } as const;

/** A chunk: JSON lines, or for blobs the raw body (records of sha256[32], u32 length, bytes). */
export interface RawChunk {
  kind: number;
  lines: string[];
  raw?: Buffer;
}

/** The chunks of a trace in file order, the index chunk left out. */
export function readChunks(file: Uint8Array): RawChunk[] {
  const bytes = Buffer.from(file);
  if (bytes.subarray(0, 8).toString('latin1') !== 'MYRTRACE') throw new Error('no magic');
  const end = bytes.length - 16;
  const chunks: RawChunk[] = [];
  let at = 12;
  while (at < end) {
    const kind = bytes.readUInt8(at);
    const length = bytes.readUInt32LE(at + 1);
    const body = gunzipSync(bytes.subarray(at + 5, at + 5 + length));
    if (kind === KIND.blobs) chunks.push({ kind, lines: [], raw: body });
    else if (kind !== KIND.index) chunks.push({ kind, lines: body.toString('utf8').split('\n') });
    at += 5 + length;
  }
  return chunks;
}

function chunkBytes(kind: number, lines: readonly string[], raw?: Buffer): Buffer {
  const body = gzipSync(raw ?? Buffer.from(lines.join('\n'), 'utf8'));
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
  magic.writeUInt32LE(options.version ?? 2, 8);
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
