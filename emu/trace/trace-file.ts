import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { canonicalJson, fromCanonical } from '../events/canonical.js';
import type { EventKind, MachineEvent } from '../events/event.js';

/**
 * Trace files, format version 1: UTF-8 text, one JSON value per line.
 *
 *   line 1   header: {"format":"myriad-trace","version":1,"emulator":"x.y.z","model":"ma2485"}
 *   line 2.. one event each, in canonical form (keys sorted, bytes as {"$bytes": base64})
 *
 * Written as the machine runs, in constant memory; read line by line with every event checked.
 */

export const TRACE_FORMAT = 'myriad-trace';
export const TRACE_VERSION = 1;
/** The longest line a reader accepts: a 64 MiB transfer in base64, with room to spare. */
export const MAX_LINE_BYTES = 96 * 1024 * 1024;

export interface TraceHeader {
  readonly format: typeof TRACE_FORMAT;
  readonly version: number;
  readonly emulator: string;
  readonly model: string;
}

export class TraceError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly byteOffset: number,
    message: string,
  ) {
    super(`${file}: line ${line} (byte ${byteOffset}): ${message}`);
  }
}

/**
 * Appends a machine's events to a trace file as they happen. `listener` goes wherever events
 * are published (Hub.plug's `listener`, EventLog.subscribe) so that it sees the first one.
 */
export class TraceWriter {
  private readonly fd: number;
  private buffer: string[] = [];
  private buffered = 0;
  private closed = false;
  count = 0;

  constructor(path: string, header: Omit<TraceHeader, 'format' | 'version'>) {
    this.fd = openSync(path, 'w');
    this.write(JSON.stringify({ format: TRACE_FORMAT, version: TRACE_VERSION, emulator: header.emulator, model: header.model }));
  }

  readonly listener = (event: MachineEvent): void => {
    if (this.closed) return;
    this.count++;
    this.write(canonicalJson(event));
  };

  close(): void {
    if (this.closed) return;
    this.flush();
    closeSync(this.fd);
    this.closed = true;
  }

  private write(line: string): void {
    this.buffer.push(line, '\n');
    this.buffered += line.length + 1;
    if (this.buffered > 1 << 20) this.flush();
  }

  private flush(): void {
    if (this.buffer.length > 0) writeSync(this.fd, this.buffer.join(''));
    this.buffer = [];
    this.buffered = 0;
  }
}

/** Reads the header of a trace file. */
export function readTraceHeader(path: string): TraceHeader {
  for (const { text, line, offset } of lines(path)) {
    let header: unknown;
    try {
      header = JSON.parse(text);
    } catch {
      throw new TraceError(path, line, offset, 'not a trace file: the first line is not JSON');
    }
    const h = header as Partial<TraceHeader>;
    if (h === null || typeof h !== 'object' || h.format !== TRACE_FORMAT) throw new TraceError(path, line, offset, 'not a trace file: no myriad-trace header');
    if (h.version !== TRACE_VERSION) throw new TraceError(path, line, offset, `trace format version ${String(h.version)} is not supported (this emulator reads ${TRACE_VERSION})`);
    if (typeof h.model !== 'string' || typeof h.emulator !== 'string') throw new TraceError(path, line, offset, 'header lacks model or emulator');
    return h as TraceHeader;
  }
  throw new TraceError(path, 1, 0, 'empty file');
}

/** The events of a trace file, one at a time, each checked against the event schema. */
export function* readTraceEvents(path: string): Generator<MachineEvent> {
  let first = true;
  let expectedSeq = 0;
  for (const { text, line, offset } of lines(path)) {
    if (first) {
      first = false;
      continue;
    }
    if (text.length === 0) continue;
    let value: unknown;
    try {
      value = fromCanonical(JSON.parse(text));
    } catch (error) {
      throw new TraceError(path, line, offset, `not valid JSON (${(error as Error).message})`);
    }
    const problem = checkEvent(value);
    if (problem) throw new TraceError(path, line, offset, problem);
    const event = value as MachineEvent;
    if (event.seq !== expectedSeq) throw new TraceError(path, line, offset, `event seq ${event.seq} where ${expectedSeq} was expected`);
    expectedSeq++;
    yield event;
  }
}

const FIELDS: Record<EventKind, Record<string, 'number' | 'string' | 'boolean' | 'bytes' | 'bytes?'>> = {
  'host.plug': {},
  'host.unplug': {},
  'host.reset': {},
  'host.control': { id: 'number', setup: 'bytes', data: 'bytes?' },
  'host.transfer': { id: 'number', endpoint: 'number', length: 'number', data: 'bytes?' },
  'host.cancel': { id: 'number' },
  'machine.power': { on: 'boolean' },
  'machine.halt': { reason: 'string' },
  'machine.reset': { reason: 'string' },
  irq: { line: 'number', active: 'boolean' },
  'console.line': { device: 'string', text: 'string' },
  'device.error': { device: 'string', reason: 'string' },
  'usb.connect': { vendorId: 'number', productId: 'number', speed: 'string' },
  'usb.disconnect': { reason: 'string' },
  'usb.state': { state: 'string', address: 'number', configuration: 'number' },
  'usb.control.done': { id: 'number', status: 'string', data: 'bytes?', length: 'number' },
  'usb.transfer.done': { id: 'number', endpoint: 'number', status: 'string', data: 'bytes?', length: 'number' },
  'usb.halt': { endpoint: 'number', halted: 'boolean' },
  'bus.read': { initiator: 'string', target: 'string', addr: 'number', size: 'number', value: 'number' },
  'bus.write': { initiator: 'string', target: 'string', addr: 'number', size: 'number', value: 'number' },
  'bus.error': { initiator: 'string', access: 'string', addr: 'number', size: 'number', reason: 'string' },
  'rom.record': { offset: 'number', op: 'string', addr: 'number', value: 'number', length: 'number', text: 'string' },
  'rom.phase': { phase: 'string' },
  'rom.error': { offset: 'number', reason: 'string' },
  'core.start': { core: 'string', pc: 'number', mode: 'string' },
  'core.return': { core: 'string' },
  'core.halt': { core: 'string', pc: 'number', reason: 'string' },
};

/** Why a parsed value is not an event of this format, or null when it is. */
export function checkEvent(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'an event must be a JSON object';
  const e = value as Record<string, unknown>;
  if (!Number.isSafeInteger(e.seq) || (e.seq as number) < 0) return 'seq must be a non-negative integer';
  if (typeof e.t !== 'number' || !Number.isFinite(e.t) || e.t < 0) return 't must be a non-negative number';
  if (typeof e.kind !== 'string' || !Object.prototype.hasOwnProperty.call(FIELDS, e.kind)) return `unknown event kind ${JSON.stringify(e.kind)}`;
  const fields = FIELDS[e.kind as EventKind];
  for (const key of Object.keys(e)) {
    if (key !== 'seq' && key !== 't' && key !== 'kind' && !(key in fields)) return `${e.kind} has an unknown field ${key}`;
  }
  for (const [key, type] of Object.entries(fields)) {
    const v = e[key];
    const ok =
      type === 'bytes' ? v instanceof Uint8Array : type === 'bytes?' ? v === null || v instanceof Uint8Array : type === 'number' ? typeof v === 'number' && Number.isFinite(v) : typeof v === type;
    if (!ok) return `${e.kind}.${key} must be ${type === 'bytes?' ? 'bytes or null' : type}`;
  }
  // Inputs drive a machine on replay: they must be what a host could have sent.
  const uint = (v: unknown, max: number) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;
  if ('id' in fields && e.kind.startsWith('host.') && !uint(e.id, Number.MAX_SAFE_INTEGER)) return `${e.kind}.id must be a non-negative integer`;
  if (e.kind === 'host.control' && (e.setup as Uint8Array).length !== 8) return 'host.control.setup must be 8 bytes';
  if (e.kind === 'host.transfer') {
    if (!uint(e.endpoint, 0xff)) return 'host.transfer.endpoint must be an integer from 0 to 255';
    if (!uint(e.length, 0xffffffff)) return 'host.transfer.length must be an unsigned 32-bit integer';
    if ((e.endpoint as number) & 0x80 ? e.data !== null : !(e.data instanceof Uint8Array) || e.data.length !== e.length) {
      return 'host.transfer.data must be null for IN endpoints and length bytes for OUT endpoints';
    }
  }
  return null;
}

/** Lines of a file, read in 1 MiB pieces (never the whole file at once). */
function* lines(path: string): Generator<{ text: string; line: number; offset: number }> {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(1 << 20);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let line = 1;
    let lineStart = 0;
    let position = 0;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, position);
      if (n === 0) break;
      let from = 0;
      for (let i = 0; i < n; i++) {
        if (chunk[i] !== 0x0a) continue;
        const piece = chunk.subarray(from, i);
        const text = pending.length > 0 ? Buffer.concat([...pending, piece]).toString('utf8') : piece.toString('utf8');
        yield { text, line, offset: lineStart };
        pending = [];
        pendingBytes = 0;
        line++;
        lineStart = position + i + 1;
        from = i + 1;
      }
      if (from < n) {
        pendingBytes += n - from;
        if (pendingBytes > MAX_LINE_BYTES) throw new TraceError(path, line, lineStart, `line longer than ${MAX_LINE_BYTES} bytes`);
        pending.push(Buffer.from(chunk.subarray(from, n)));
      }
      position += n;
    }
    if (pendingBytes > 0) yield { text: Buffer.concat(pending).toString('utf8'), line, offset: lineStart };
  } finally {
    closeSync(fd);
  }
}
