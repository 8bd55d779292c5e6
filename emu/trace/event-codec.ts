/**
 * The binary records of an events chunk (docs/trace-format.md, "Events"). Recording is on the
 * machine's hot path, so an event is written field by field into one growing buffer: no JSON,
 * no objects, no base64. The schema (schema.ts) says which fields a kind has and in what order.
 *
 *   record := u8 kind code, varint seq delta, varint zigzag t delta, the kind's fields in order
 *   number  := varint                 boolean := u8 0 or 1
 *   string  := varint 0, varint byte length, UTF-8 (added to the chunk's string table)
 *            | varint n > 0           (the chunk's n-th string)
 *   bytes   := u8 0 (null) | u8 1, varint length, the bytes | u8 2, 32 bytes of SHA-256 (a blob)
 *
 * Deltas and the string table start afresh in every chunk, so each chunk decodes on its own.
 */
import type { MachineEvent } from '../events/event.js';
import { EVENT_KINDS, FIELDS } from './schema.js';

const NUMBER = 0;
const BOOLEAN = 1;
const STRING = 2;
const BYTES = 3;

const TYPE_CODES = { number: NUMBER, boolean: BOOLEAN, string: STRING, bytes: BYTES, 'bytes?': BYTES } as const;

interface Layout {
  readonly code: number;
  readonly kind: string;
  readonly names: readonly string[];
  readonly types: readonly number[];
}

const LAYOUTS: readonly Layout[] = EVENT_KINDS.map((kind, code) => {
  const fields = Object.entries(FIELDS[kind]);
  return { code, kind, names: fields.map(([name]) => name), types: fields.map(([, type]) => TYPE_CODES[type]) };
});

/** The kinds most recordings are made of, tested first (a switch on strings tests its cases in order). */
const COMMON_KINDS: readonly string[] = ['bus.write', 'bus.read', 'irq', 'host.transfer', 'usb.transfer.done', 'core.start', 'core.halt'];

const WRITERS = ['varint', 'boolean', 'string', 'bytes'] as const;

/** String fields over all kinds: each has a slot that remembers its last value and index. */
let stringSlots = 0;

/**
 * Writes one event's record: a switch over the kinds, generated from the schema with the field
 * names spelled out. Recording is on the machine's hot path: one function for all kinds is one
 * call per event, and each case's property loads see one shape (a loop over names would make
 * every load megamorphic). Field names come from schema.ts (identifiers), never from input.
 */
const ENCODE = new Function(
  'encoder',
  'event',
  'seq',
  't',
  `switch (event.kind) {\n${[...LAYOUTS]
    .sort((a, b) => rank(a.kind) - rank(b.kind))
    .map((layout) => {
      const fields = layout.names.map((name, i) => (layout.types[i] === STRING ? `encoder.string(event.${name}, ${stringSlots++});` : `encoder.${WRITERS[layout.types[i]!]}(event.${name});`));
      return `case '${layout.kind}': encoder.head(${layout.code}, ${1 + 2 * 9 + layout.names.length * 33}, seq, t); ${fields.join(' ')} return;`;
    })
    .join('\n')}\n}\nthrow new Error('event kind ' + event.kind + ' has no trace layout');`,
) as (encoder: EventEncoder, event: MachineEvent, seq: number, t: number) => void;

function rank(kind: string): number {
  const at = COMMON_KINDS.indexOf(kind);
  return at < 0 ? COMMON_KINDS.length : at;
}

export const BYTES_NULL = 0;
export const BYTES_INLINE = 1;
export const BYTES_BLOB = 2;

/** A varint holds at most 2^53 (8 bytes of 7 bits); numbers past that are not exact in JS. */
const VARINT_MAX_BYTES = 8;

/** Writes events as records into one buffer, until the writer takes the chunk. */
export class EventEncoder {
  /** Room for a short run's records at once; doubles as needed. */
  private buffer = Buffer.allocUnsafe(64 << 10);
  /** Bytes written since the last take(). */
  length = 0;
  /** Events since the last take(), and the seq and time of the first and the last of them. */
  count = 0;
  firstSeq = 0;
  firstT = 0;
  lastSeq = 0;
  lastT = 0;
  private readonly strings = new Map<string, number>();
  /**
   * Per string field of each kind: the value it had last and that value's index in the string
   * table. A field mostly repeats itself (the initiator of bus accesses), and comparing two
   * interned strings costs less than a lookup in the table.
   */
  private readonly lastStrings: (string | undefined)[] = new Array(stringSlots).fill(undefined);
  private readonly lastIndices: number[] = new Array(stringSlots).fill(0);

  /**
   * `inlineBelow`: byte arrays shorter than this are written in the record; longer ones go
   * through `blobName`, which stores them once and names them by their SHA-256 (32 bytes).
   */
  constructor(
    private readonly inlineBelow: number,
    private readonly blobName: (bytes: Uint8Array) => Uint8Array,
  ) {}

  /** Adds an event; `seq` and `t` are its own (the event log passes them, saving two loads from events of many shapes). */
  add(event: MachineEvent, seq = event.seq, t = event.t): void {
    ENCODE(this, event, seq, t);
  }

  /** The records so far (valid until the next add), and a fresh start for the next chunk. */
  take(): Buffer {
    const records = this.buffer.subarray(0, this.length);
    this.length = 0;
    this.count = 0;
    this.strings.clear();
    this.lastStrings.fill(undefined);
    return records;
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  /**
   * @internal The start of a record: kind code, seq and time as deltas from the record before
   * (the chunk's first record: from 0). `fixedBytes`: the most the record can take, strings and
   * inline bytes aside.
   */
  head(code: number, fixedBytes: number, seq: number, t: number): void {
    this.reserve(fixedBytes);
    const first = this.count++ === 0;
    if (first) {
      this.firstSeq = seq;
      this.firstT = t;
    }
    this.buffer[this.length++] = code;
    this.varint(first ? seq : seq - this.lastSeq);
    const dt = first ? t : t - this.lastT;
    this.varint(dt >= 0 ? dt * 2 : -dt * 2 - 1);
    this.lastSeq = seq;
    this.lastT = t;
  }

  /** @internal Used by the generated field writers. */
  varint(value: number): void {
    // Nearly every number is a 32-bit one: those take the short way.
    if (value >>> 0 !== value) return this.longVarint(value);
    const buffer = this.buffer;
    let at = this.length;
    while (value >= 0x80) {
      buffer[at++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buffer[at++] = value;
    this.length = at;
  }

  private longVarint(value: number): void {
    // An event field that is not a whole number from 0 to 2^53 is an emulator bug; writing it
    // anyway would make a trace that no reader accepts.
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot record ${value}: trace numbers are integers from 0 to 2^53`);
    const buffer = this.buffer;
    let at = this.length;
    while (value >= 0x80) {
      buffer[at++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    buffer[at++] = value;
    this.length = at;
  }

  /** @internal */
  boolean(value: boolean): void {
    this.buffer[this.length++] = value ? 1 : 0;
  }

  /** @internal `slot`: the field's (see lastStrings). */
  string(value: string, slot: number): void {
    if (value === this.lastStrings[slot]) {
      this.varint(this.lastIndices[slot]!);
      return;
    }
    const known = this.strings.get(value);
    this.lastStrings[slot] = value;
    if (known !== undefined) {
      this.lastIndices[slot] = known;
      this.varint(known);
      return;
    }
    this.lastIndices[slot] = this.strings.size + 1;
    this.strings.set(value, this.strings.size + 1);
    const bytes = Buffer.byteLength(value, 'utf8');
    this.reserve(20 + bytes);
    this.buffer[this.length++] = 0;
    this.varint(bytes);
    this.length += this.buffer.write(value, this.length, 'utf8');
  }

  /** @internal */
  bytes(value: Uint8Array | null): void {
    if (value === null) {
      this.buffer[this.length++] = BYTES_NULL;
    } else if (value.length < this.inlineBelow) {
      this.reserve(10 + value.length);
      this.buffer[this.length++] = BYTES_INLINE;
      this.varint(value.length);
      this.buffer.set(value, this.length);
      this.length += value.length;
    } else {
      const digest = this.blobName(value);
      this.buffer[this.length++] = BYTES_BLOB;
      this.buffer.set(digest, this.length);
      this.length += 32;
    }
  }
}

/** What a decoded record holds where its bytes are a blob: the reader fetches it. */
export interface BlobReference {
  readonly $blob: string;
}

/**
 * Reads the records of one events chunk, one at a time (a chunk may hold many; memory stays at
 * one event). Every read is bounds-checked: a bad record is an Error with a message that says
 * what and where, which the reader turns into a TraceError.
 */
export class EventDecoder {
  private at = 0;
  private previousSeq = 0;
  private previousT = 0;
  private readonly strings: string[] = [];

  constructor(private readonly records: Uint8Array) {}

  /** The next event (byte arrays as Uint8Array or BlobReference), or null at the end. */
  next(): Record<string, unknown> | null {
    if (this.at >= this.records.length) return null;
    const start = this.at;
    const code = this.records[this.at++]!;
    const layout = LAYOUTS[code];
    if (!layout) this.fail(start, `unknown event kind code ${code}`);
    const seq = this.previousSeq + this.varint();
    const zigzag = this.varint();
    const t = this.previousT + (zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2);
    this.previousSeq = seq;
    this.previousT = t;
    const event: Record<string, unknown> = { seq, t, kind: layout.kind };
    for (let i = 0; i < layout.names.length; i++) {
      const name = layout.names[i]!;
      switch (layout.types[i]) {
        case NUMBER:
          event[name] = this.varint();
          break;
        case BOOLEAN: {
          const value = this.byte();
          if (value > 1) this.fail(this.at - 1, `${layout.kind}.${name} is ${value}, not a boolean 0 or 1`);
          event[name] = value === 1;
          break;
        }
        case STRING:
          event[name] = this.string(layout.kind, name);
          break;
        default:
          event[name] = this.bytes(layout.kind, name);
      }
    }
    return event;
  }

  /** Where the next record starts, for error messages. */
  get offset(): number {
    return this.at;
  }

  private fail(at: number, message: string): never {
    throw new RecordError(at, message);
  }

  private byte(): number {
    if (this.at >= this.records.length) this.fail(this.at, 'a record is cut off at the end of the chunk');
    return this.records[this.at++]!;
  }

  private varint(): number {
    const start = this.at;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < VARINT_MAX_BYTES; i++) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (value > Number.MAX_SAFE_INTEGER) break;
        return value;
      }
      scale *= 0x80;
    }
    this.fail(start, 'a number longer than 53 bits');
  }

  private take(length: number, what: string): Uint8Array {
    if (length > this.records.length - this.at) this.fail(this.at, `${what} claims ${length} bytes, more than the chunk has left`);
    const bytes = this.records.subarray(this.at, this.at + length);
    this.at += length;
    return bytes;
  }

  private string(kind: string, name: string): string {
    const reference = this.varint();
    if (reference > 0) {
      const known = this.strings[reference - 1];
      if (known === undefined) this.fail(this.at - 1, `${kind}.${name} refers to string ${reference}; the chunk has defined ${this.strings.length}`);
      return known;
    }
    const text = Buffer.from(this.take(this.varint(), `${kind}.${name}`)).toString('utf8');
    this.strings.push(text);
    return text;
  }

  private bytes(kind: string, name: string): Uint8Array | BlobReference | null {
    const tag = this.byte();
    if (tag === BYTES_NULL) return null;
    if (tag === BYTES_INLINE) return new Uint8Array(this.take(this.varint(), `${kind}.${name}`));
    if (tag === BYTES_BLOB) return { $blob: Buffer.from(this.take(32, `${kind}.${name}`)).toString('hex') };
    this.fail(this.at - 1, `${kind}.${name} has byte-array tag ${tag} (0 null, 1 inline, 2 blob)`);
  }
}

/** A record that does not decode: `at` is its byte offset inside the uncompressed chunk. */
export class RecordError extends Error {
  constructor(
    readonly at: number,
    message: string,
  ) {
    super(message);
  }
}
