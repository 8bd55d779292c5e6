/**
 * The MA2x boot stream (.mvcmd), myriad-facts.md section 3. All fields little-endian.
 *
 *   4D 41 32 78                    magic "MA2x" (at the start; accepted again at any record)
 *   00                             NOP
 *   A8 len:u16 bytes[len]          section name
 *   98 addr:u32 value:u8           write 8-bit
 *   9A addr:u32 value:u32          write 32-bit
 *   8A addr:u32 count:u16 data     load block of count 32-bit words
 *   BA addr:u32                    call, then continue parsing
 *   84 addr:u32 count:u16          send count bytes of memory to the host on EP 0x81
 *   A4 addr:u32                    jump to the entry point; end of boot
 *
 * NOPs before the magic are accepted: that is how host tools resynchronise the ROM.
 */

export const Opcode = {
  NOP: 0x00,
  MAGIC: 0x4d,
  NAME: 0xa8,
  WRITE8: 0x98,
  WRITE32: 0x9a,
  LOAD: 0x8a,
  CALL: 0xba,
  SEND: 0x84,
  JUMP: 0xa4,
} as const;

export const MAGIC = Uint8Array.of(0x4d, 0x41, 0x32, 0x78);
/** The longest record: a load block of 65535 words. */
export const MAX_RECORD_BYTES = 1 + 6 + 0xffff * 4;

/** Bytes after the opcode byte that a record's fixed part has; -1 for unknown opcodes. */
function headerLength(opcode: number): number {
  switch (opcode) {
    case Opcode.MAGIC:
      return 3;
    case Opcode.NAME:
      return 2;
    case Opcode.WRITE8:
      return 5;
    case Opcode.WRITE32:
      return 8;
    case Opcode.LOAD:
    case Opcode.SEND:
      return 6;
    case Opcode.CALL:
    case Opcode.JUMP:
      return 4;
    default:
      return -1;
  }
}

/**
 * Receives the records as the parser meets them. Each method gets the byte offset of the
 * record's opcode and returns true to go on parsing, false to stop after this record (the
 * parser then waits at the next record boundary until it is fed again).
 */
export interface MvcmdSink {
  magic(offset: number): boolean;
  name(offset: number, text: string): boolean;
  write8(offset: number, addr: number, value: number): boolean;
  write32(offset: number, addr: number, value: number): boolean;
  /** Header of a load block of `length` bytes; its data follows through loadData. */
  loadStart(offset: number, addr: number, length: number): boolean;
  /** The next piece of the current load block (a view into the fed chunk: copy it). */
  loadData(addr: number, data: Uint8Array): void;
  call(offset: number, addr: number): boolean;
  send(offset: number, addr: number, length: number): boolean;
  jump(offset: number, addr: number): boolean;
  /** The stream is malformed; the parser stops for good. */
  error(offset: number, reason: string): void;
}

const AWAIT_MAGIC = 0;
const OPCODE = 1;
const HEADER = 2;
const NAME_TEXT = 3;
const LOAD_DATA = 4;
const STOPPED = 5;

export interface MvcmdParserState {
  readonly state: number;
  readonly offset: number;
  readonly op: number;
  readonly opOffset: number;
  readonly header: readonly number[];
  readonly have: number;
  readonly need: number;
  readonly name: readonly number[];
  readonly loadAddr: number;
  readonly loadLeft: number;
}

/**
 * An incremental parser: feed it the stream in chunks of any size, split anywhere.
 */
export class MvcmdParser {
  /** Bytes consumed since the last reset. */
  offset = 0;
  private state = AWAIT_MAGIC;
  private op = 0;
  private opOffset = 0;
  private readonly header = new Uint8Array(8);
  private headerView = new DataView(this.header.buffer);
  private have = 0;
  private need = 0;
  private name: Uint8Array = new Uint8Array(0);
  private loadAddr = 0;
  private loadLeft = 0;

  constructor(private readonly sink: MvcmdSink) {}

  reset(): void {
    this.offset = 0;
    this.state = AWAIT_MAGIC;
    this.have = 0;
    this.need = 0;
    this.loadLeft = 0;
  }

  get stopped(): boolean {
    return this.state === STOPPED;
  }

  /** True between records (nothing half-read). */
  get atRecordBoundary(): boolean {
    return this.state === AWAIT_MAGIC || this.state === OPCODE;
  }

  get sawMagic(): boolean {
    return this.state !== AWAIT_MAGIC;
  }

  /** What the current half-read record still misses, for error reports. */
  get missing(): string {
    if (this.state === LOAD_DATA) return `${this.loadLeft} bytes of a load block`;
    if (this.state === NAME_TEXT) return `${this.name.length - this.have} bytes of a section name`;
    if (this.state === HEADER) return `${this.need - this.have} header bytes of record 0x${this.op.toString(16)}`;
    return 'nothing';
  }

  /** Parses as much of `chunk` as it can. Returns the bytes consumed. */
  feed(chunk: Uint8Array): number {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case AWAIT_MAGIC:
        case OPCODE: {
          const byte = chunk[i]!;
          i++;
          this.offset++;
          if (byte === Opcode.NOP) continue;
          this.op = byte;
          this.opOffset = this.offset - 1;
          this.need = headerLength(byte);
          this.have = 0;
          if (this.state === AWAIT_MAGIC && byte !== Opcode.MAGIC) {
            return this.fail(i, `bad magic: stream starts with 0x${hex2(byte)}, expected "MA2x"`);
          }
          if (this.need < 0) return this.fail(i, `unknown opcode 0x${hex2(byte)}`);
          this.state = HEADER;
          continue;
        }
        case HEADER: {
          const take = Math.min(this.need - this.have, n - i);
          for (let k = 0; k < take; k++) this.header[this.have + k] = chunk[i + k]!;
          this.have += take;
          i += take;
          this.offset += take;
          if (this.have < this.need) continue;
          if (!this.record()) return i;
          continue;
        }
        case NAME_TEXT: {
          const take = Math.min(this.name.length - this.have, n - i);
          this.name.set(chunk.subarray(i, i + take), this.have);
          this.have += take;
          i += take;
          this.offset += take;
          if (this.have < this.name.length) continue;
          this.state = OPCODE;
          if (!this.sink.name(this.opOffset, latin1(this.name))) return i;
          continue;
        }
        case LOAD_DATA: {
          const take = Math.min(this.loadLeft, n - i);
          this.sink.loadData(this.loadAddr, chunk.subarray(i, i + take));
          this.loadAddr += take;
          this.loadLeft -= take;
          i += take;
          this.offset += take;
          if (this.loadLeft === 0) this.state = OPCODE;
          continue;
        }
        default:
          return i;
      }
    }
    return i;
  }

  private record(): boolean {
    const view = this.headerView;
    const at = this.opOffset;
    this.state = OPCODE;
    switch (this.op) {
      case Opcode.MAGIC:
        if (this.header[0] !== MAGIC[1] || this.header[1] !== MAGIC[2] || this.header[2] !== MAGIC[3]) {
          this.fail(0, `bad magic at offset ${at}`);
          return false;
        }
        return this.sink.magic(at);
      case Opcode.NAME: {
        const length = view.getUint16(0, true);
        this.name = new Uint8Array(length);
        this.have = 0;
        if (length > 0) {
          this.state = NAME_TEXT;
          return true;
        }
        return this.sink.name(at, '');
      }
      case Opcode.WRITE8:
        return this.sink.write8(at, view.getUint32(0, true), view.getUint8(4));
      case Opcode.WRITE32:
        return this.sink.write32(at, view.getUint32(0, true), view.getUint32(4, true));
      case Opcode.LOAD: {
        const addr = view.getUint32(0, true);
        const length = view.getUint16(4, true) * 4;
        if (!this.sink.loadStart(at, addr, length)) return false;
        if (length > 0) {
          this.loadAddr = addr;
          this.loadLeft = length;
          this.state = LOAD_DATA;
        }
        return true;
      }
      case Opcode.CALL:
        return this.sink.call(at, view.getUint32(0, true));
      case Opcode.SEND:
        return this.sink.send(at, view.getUint32(0, true), view.getUint16(4, true));
      case Opcode.JUMP:
        this.state = STOPPED;
        this.sink.jump(at, view.getUint32(0, true));
        return false;
      default:
        this.fail(0, `unknown opcode 0x${hex2(this.op)}`);
        return false;
    }
  }

  /** Stops for good after telling the sink; returns `consumed` for feed to return. */
  fail(consumed: number, reason: string): number {
    this.state = STOPPED;
    this.sink.error(this.opOffset, reason);
    return consumed;
  }

  snapshot(): MvcmdParserState {
    return {
      state: this.state,
      offset: this.offset,
      op: this.op,
      opOffset: this.opOffset,
      header: Array.from(this.header),
      have: this.have,
      need: this.need,
      name: Array.from(this.name),
      loadAddr: this.loadAddr,
      loadLeft: this.loadLeft,
    };
  }

  restore(s: MvcmdParserState): void {
    this.state = s.state;
    this.offset = s.offset;
    this.op = s.op;
    this.opOffset = s.opOffset;
    this.header.set(s.header);
    this.have = s.have;
    this.need = s.need;
    this.name = Uint8Array.from(s.name);
    this.loadAddr = s.loadAddr;
    this.loadLeft = s.loadLeft;
  }
}

function latin1(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--; // names are NUL padded
  return Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('latin1');
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

// ---- writing streams

export type MvcmdRecord =
  | { readonly op: 'magic' }
  | { readonly op: 'nop'; readonly count: number }
  | { readonly op: 'name'; readonly text: string }
  | { readonly op: 'write8'; readonly addr: number; readonly value: number }
  | { readonly op: 'write32'; readonly addr: number; readonly value: number }
  /** Data is padded to whole words and split into records of at most 65535 words. */
  | { readonly op: 'load'; readonly addr: number; readonly data: Uint8Array }
  | { readonly op: 'call'; readonly addr: number }
  | { readonly op: 'send'; readonly addr: number; readonly length: number }
  | { readonly op: 'jump'; readonly addr: number };

/** Encodes records into a boot stream, byte for byte as the ROM reads it. */
export function encodeMvcmd(records: readonly MvcmdRecord[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const fixed = (op: number, fields: [number, 1 | 2 | 4][]): Uint8Array => {
    const size = 1 + fields.reduce((sum, [, width]) => sum + width, 0);
    const bytes = new Uint8Array(size);
    const view = new DataView(bytes.buffer);
    bytes[0] = op;
    let at = 1;
    for (const [value, width] of fields) {
      if (width === 1) view.setUint8(at, value);
      else if (width === 2) view.setUint16(at, value, true);
      else view.setUint32(at, value >>> 0, true);
      at += width;
    }
    return bytes;
  };
  for (const r of records) {
    switch (r.op) {
      case 'magic':
        parts.push(MAGIC);
        break;
      case 'nop':
        parts.push(new Uint8Array(r.count));
        break;
      case 'name': {
        const text = Buffer.from(r.text, 'latin1');
        if (text.length > 0xffff) throw new RangeError('section name longer than 65535 bytes');
        parts.push(fixed(Opcode.NAME, [[text.length, 2]]), text);
        break;
      }
      case 'write8':
        parts.push(fixed(Opcode.WRITE8, [[r.addr, 4], [r.value, 1]]));
        break;
      case 'write32':
        parts.push(fixed(Opcode.WRITE32, [[r.addr, 4], [r.value, 4]]));
        break;
      case 'load': {
        const padded = new Uint8Array(Math.ceil(r.data.length / 4) * 4);
        padded.set(r.data);
        const maxBytes = 0xffff * 4;
        for (let at = 0; at < padded.length || at === 0; at += maxBytes) {
          const piece = padded.subarray(at, at + maxBytes);
          parts.push(fixed(Opcode.LOAD, [[r.addr + at, 4], [piece.length / 4, 2]]), piece);
          if (padded.length === 0) break;
        }
        break;
      }
      case 'call':
        parts.push(fixed(Opcode.CALL, [[r.addr, 4]]));
        break;
      case 'send':
        parts.push(fixed(Opcode.SEND, [[r.addr, 4], [r.length, 2]]));
        break;
      case 'jump':
        parts.push(fixed(Opcode.JUMP, [[r.addr, 4]]));
        break;
    }
  }
  return new Uint8Array(Buffer.concat(parts));
}
