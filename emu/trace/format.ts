/**
 * Trace files, format version 3 (docs/trace-format.md).
 *
 *   "MYRTRACE" u32 version            magic
 *   chunk*                            u8 codec|kind, u32 length, `length` bytes of brotli or gzip
 *   u32 index offset low, u32 high, "MYRTEND\0"   trailer
 *
 * Chunk kinds: header, events (binary records, event-codec.ts), blobs (payloads stored once by
 * SHA-256), snapshot (a whole machine; memory pages are blobs too), index (where every chunk and
 * blob is). Header, snapshot and index bodies are JSON. Writing streams: each chunk goes to
 * disk whole as soon as it is made, so memory stays flat and a recording that is killed leaves a
 * file of whole chunks (and perhaps part of one). Reading goes through the index, so a reader can
 * start at any snapshot without reading what comes before it; a file without its index is read
 * by scanning its chunks, up to the last whole one.
 *
 * A trace may come from a stranger: every length is checked against the file, every inflate has a
 * hard cap, every record against the schema, and every blob against its hash. Problems are
 * TraceErrors naming the byte offset.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, writeSync, writevSync } from 'node:fs';
import { brotliCompressSync, brotliDecompressSync, constants as zlib, gunzipSync, gzipSync } from 'node:zlib';
import type { MachineEvent } from '../events/event.js';
import type { Stick, StickSnapshot } from '../machine/stick.js';
import { EventDecoder, EventEncoder, RecordError, type BlobReference } from './event-codec.js';
import { checkEvent } from './schema.js';

export const TRACE_VERSION = 3;
const MAGIC = Buffer.from('MYRTRACE', 'latin1');
const END = Buffer.from('MYRTEND\0', 'latin1');
const TRAILER_BYTES = 16;
export const Chunk = { HEADER: 1, EVENTS: 2, BLOBS: 3, SNAPSHOT: 4, INDEX: 5 } as const;
/** Byte arrays at least this long are stored as blobs (shorter ones, such as XLink headers, inline). */
const BLOB_MIN = 1024;
/** An events chunk is flushed at this many bytes of records, or events. */
const CHUNK_BYTES = 256 << 10;
const CHUNK_EVENTS = 20_000;
/** A blobs chunk is written once this many payload bytes wait (a single bigger payload gets its own). */
const BLOB_CHUNK_BYTES = 16 << 20;
/** Bytes gathered before they are written to the file. */
const WRITE_BUFFER = 1 << 20;
/**
 * A chunk's body and codec. Brotli at quality 0: recording must cost little wall time, and it
 * is several times faster than gzip at level 1 with a better ratio (test/bench/RESULTS.md). A
 * reader holds at most MAX_EXPANSION times a chunk's size, so what brotli squeezes harder than
 * that (long runs of zeros) is written as gzip, which never expands more than about 1032 times.
 * The window is no bigger than the chunk: the same output, and a small chunk (the header, the
 * index) does not pay for setting up the default 4 MiB one.
 */
function compress(text: Buffer): [Buffer, number] {
  const window = Math.min(zlib.BROTLI_DEFAULT_WINDOW, Math.max(zlib.BROTLI_MIN_WINDOW_BITS, Math.ceil(Math.log2(text.length + 1))));
  const body = brotliCompressSync(text, { params: { [zlib.BROTLI_PARAM_QUALITY]: 0, [zlib.BROTLI_PARAM_SIZE_HINT]: text.length, [zlib.BROTLI_PARAM_LGWIN]: window } });
  if (body.length * (MAX_EXPANSION - 100) >= text.length) return [body, CODEC_BROTLI];
  return [gzipSync(text, { level: 1 }), CODEC_GZIP];
}

/** Where a chunk that holds no events (header, blobs, index) sits in the event stream: nowhere. */
const NO_EVENTS = { firstSeq: 0, lastSeq: 0, firstT: 0, lastT: 0 } as const;

/** Payloads kept to recognise repeats without hashing them again. */
const RECENT_BYTES = 32 << 20;
/** The high bit of a chunk's kind byte: set for a brotli body, clear for gzip. */
const CODEC_BROTLI = 0x80;
const CODEC_GZIP = 0;
/** No chunk decompresses to more than this many times its size (deflate's limit is about 1032). */
const MAX_EXPANSION = 1100;
/** No chunk may decompress to more than this. */
export const MAX_CHUNK_BYTES = 256 << 20;

export interface TraceHeader {
  readonly format: 'myriad-trace';
  readonly version: number;
  readonly emulator: string;
  readonly model: string;
  /** The stick's chip id, 16 hex digits. */
  readonly chipId: string;
  /** 'default': every bus transaction (RAM accesses are not recorded). */
  readonly level: 'default';
  /** The boot images the run used, when known, by SHA-256. */
  readonly images: readonly ImageHash[];
  readonly snapshotEvery: number;
}

export interface ChunkEntry {
  readonly kind: number;
  readonly offset: number;
  /** Events chunks: the first and last event seq and time; snapshot chunks: its seq and time. */
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstT: number;
  readonly lastT: number;
}

export interface TraceIndex {
  readonly header: TraceHeader;
  readonly chunks: readonly ChunkEntry[];
  /** Blob hash -> offset of the blobs chunk that holds it. */
  readonly blobs: Readonly<Record<string, number>>;
  readonly events: number;
  readonly endT: number;
}

export class TraceError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    message: string,
  ) {
    super(`${file}: byte ${offset}: ${message}`);
  }
}

/** A payload's SHA-256, as the index names it and as records hold it. */
function blobName(bytes: Uint8Array): BlobName {
  const digest = createHash('sha256').update(bytes).digest();
  return { hex: digest.toString('hex'), digest };
}

const sha256 = (bytes: Uint8Array) => blobName(bytes).hex;

/**
 * Length and 48 bytes from the start, middle and end, mixed into 32 bits: equal payloads have
 * equal fingerprints. A number, not a string: no allocation per payload on the recording path.
 * Payloads are at least BLOB_MIN bytes, so the three stretches exist.
 */
function fingerprint(bytes: Uint8Array): number {
  const n = bytes.length;
  const mid = (n >> 1) - 8;
  const end = n - 16;
  let h = n | 0;
  for (let i = 0; i < 16; i++) {
    h = Math.imul(h ^ bytes[i]!, 0x01000193);
    h = Math.imul(h ^ bytes[mid + i]!, 0x01000193);
    h = Math.imul(h ^ bytes[end + i]!, 0x01000193);
  }
  return h;
}

// ---- writing

/** A payload's SHA-256, as the index names it and as records hold it. */
interface BlobName {
  readonly hex: string;
  readonly digest: Buffer;
}

export interface ImageHash {
  readonly sha256: string;
  readonly bytes: number;
}

/** How a trace header names a boot image. */
export function imageHash(image: Uint8Array): ImageHash {
  return { sha256: sha256(image), bytes: image.length };
}

export interface TraceWriterOptions {
  readonly emulator: string;
  /**
   * The boot images of the run, for the header: their bytes, or their imageHash where only that
   * is known (a trimmed trace). Bytes are hashed here, once: when the host uploads the image,
   * recognising it costs a comparison, not a second SHA-256.
   */
  readonly images?: readonly (Uint8Array | ImageHash)[];
  /** A snapshot is taken before the first input after this many events since the last one. */
  readonly snapshotEvery?: number;
}

/**
 * Records a stick into a trace file. Attach it before the stick's first input (Hub.plug's
 * `attach` option). A stick that has already run gets a snapshot there; after that, one comes
 * every `snapshotEvery` events.
 */
export class TraceWriter {
  private readonly fd: number;
  private offset = 0;
  /** Bytes on their way to the file (at most WRITE_BUFFER of them). */
  private unwritten: Uint8Array[] = [];
  private unwrittenBytes = 0;
  private readonly chunks: ChunkEntry[] = [];
  private readonly blobOffsets: Record<string, number> = {};
  private pendingBlobs = new Map<string, Uint8Array>();
  private pendingBlobBytes = 0;
  /** `stored`: false for a boot image known from the options until the stick sees it. */
  private readonly recent = new Map<number, { readonly name: BlobName; bytes: Uint8Array; stored: boolean }>();
  private recentBytes = 0;
  private readonly records = new EventEncoder(BLOB_MIN, (bytes) => this.blob(bytes).digest);
  /** Events in chunks already written, and the time of the last of them (-1: none yet). */
  private flushedEvents = 0;
  private flushedT = -1;
  /** `events` when the last snapshot was taken. */
  private eventsAtSnapshot = 0;
  private header: TraceHeader | null = null;
  /** The header chunk's JSON until the first chunk is written. */
  private pendingHeader: string | null = null;
  private stick: Stick | null = null;
  private unsubscribe: (() => void) | null = null;
  private closed = false;
  private readonly images: readonly ImageHash[];

  constructor(
    readonly path: string,
    private readonly options: TraceWriterOptions,
  ) {
    this.images = (options.images ?? []).map((image) => (image instanceof Uint8Array ? this.knownImage(image) : image));
    this.fd = openSync(path, 'w');
    const magic = Buffer.alloc(12);
    MAGIC.copy(magic);
    magic.writeUInt32LE(TRACE_VERSION, 8);
    this.write(magic);
  }

  /** Starts recording a stick (before its first input). */
  attach(stick: Stick): void {
    this.stick = stick;
    this.header = {
      format: 'myriad-trace',
      version: TRACE_VERSION,
      emulator: this.options.emulator,
      model: stick.model.name,
      chipId: stick.chipId.toString(16).padStart(16, '0'),
      level: 'default',
      images: this.images,
      snapshotEvery: this.options.snapshotEvery ?? 100_000,
    };
    // Written first, before any other chunk; compressed after that one (see chunk).
    this.pendingHeader = JSON.stringify(this.header);
    // A machine that has done nothing yet is described by the header (model, chip id) alone.
    if (stick.log.length > 0 || stick.powered) this.snapshot();
    const records = this.records;
    this.unsubscribe = stick.log.subscribe((event, seq, t) => {
      records.add(event, seq, t);
      if (records.length >= CHUNK_BYTES || records.count >= CHUNK_EVENTS) this.flushEvents();
    });
    stick.inputHooks.push(this.beforeInput);
  }

  /** Before each input of the stick: a snapshot when enough events have gone by. */
  private readonly beforeInput = (): void => {
    if (this.events - this.eventsAtSnapshot >= this.header!.snapshotEvery) this.snapshot();
  };

  /** Events recorded so far. */
  get events(): number {
    return this.flushedEvents + this.records.count;
  }

  /**
   * Bytes of the file so far, with the events and payloads not yet in a chunk counted
   * uncompressed: what the trace holds, short of its index and trailer (for a cap on its size).
   */
  get bytes(): number {
    return this.offset + this.records.length + this.pendingBlobBytes;
  }

  /** The machine as it is now (between inputs), as a snapshot chunk. */
  private snapshot(): void {
    const stick = this.stick!;
    this.flushEvents();
    const snapshot = stick.snapshot();
    const record = JSON.stringify({ seq: snapshot.seq, t: stick.now, snapshot: this.encode(snapshot) });
    this.flushBlobs();
    this.chunk(Chunk.SNAPSHOT, record, { firstSeq: snapshot.seq, lastSeq: snapshot.seq, firstT: stick.now, lastT: stick.now });
    this.eventsAtSnapshot = this.events;
  }

  /** Snapshots: byte arrays become inline base64, or references to blobs stored once. */
  private encode(value: unknown): unknown {
    if (value instanceof Uint8Array) {
      if (value.length < BLOB_MIN) return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
      return { $blob: this.blob(value).hex };
    }
    if (Array.isArray(value)) return value.map((v) => this.encode(v));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value).sort()) out[key] = this.encode((value as Record<string, unknown>)[key]);
      return out;
    }
    return value;
  }

  /**
   * The SHA-256 of a payload, queued for storage when it is new. Payloads seen lately are found
   * again by a cheap fingerprint and a byte comparison instead of a hash: a stream echo or a
   * repeated upload costs a memcmp, not a SHA-256, and recording stays cheap.
   */
  private blob(bytes: Uint8Array): BlobName {
    const key = fingerprint(bytes);
    const seen = this.recent.get(key);
    if (seen && seen.bytes.length === bytes.length && Buffer.compare(seen.bytes, bytes) === 0) {
      if (!seen.stored) {
        this.store(seen.name.hex, bytes);
        seen.stored = true;
      }
      // The newest copy is the one still in the caches when the next repeat is compared.
      seen.bytes = bytes;
      return seen.name;
    }
    const name = blobName(bytes);
    this.store(name.hex, bytes);
    this.remember(key, name, bytes, true);
    return name;
  }

  /** Queues a payload for the next blobs chunk, unless it is stored already. */
  private store(hash: string, bytes: Uint8Array): void {
    if (hash in this.blobOffsets || this.pendingBlobs.has(hash)) return;
    // No copy: an event's byte arrays are its own and never change once logged.
    this.pendingBlobs.set(hash, bytes);
    this.pendingBlobBytes += bytes.length;
    // Blobs may go to disk before the events that use them; the index finds them either way.
    if (this.pendingBlobBytes >= BLOB_CHUNK_BYTES) this.flushBlobs();
  }

  /** Remembers a payload, within a fixed budget (oldest forgotten first). */
  private remember(key: number, name: BlobName, bytes: Uint8Array, stored: boolean): void {
    if (bytes.length > RECENT_BYTES / 4) return;
    this.forget(key);
    this.recent.set(key, { name, bytes, stored });
    this.recentBytes += bytes.length;
    while (this.recentBytes > RECENT_BYTES) this.forget(this.recent.keys().next().value as number);
  }

  /** A boot image from the options: its hash for the header, and remembered for its upload. */
  private knownImage(image: Uint8Array): ImageHash {
    const name = blobName(image);
    // A shorter one would be inline in the records, never a blob.
    if (image.length >= BLOB_MIN) this.remember(fingerprint(image), name, image, false);
    return { sha256: name.hex, bytes: image.length };
  }

  private forget(key: number): void {
    const entry = this.recent.get(key);
    if (!entry) return;
    this.recentBytes -= entry.bytes.length;
    this.recent.delete(key);
  }

  /** Pending payloads as one blobs chunk: binary records of 32-byte SHA-256, u32 length, bytes. */
  private flushBlobs(): void {
    if (this.pendingBlobs.size === 0) return;
    const body = Buffer.allocUnsafe(this.pendingBlobBytes + this.pendingBlobs.size * 36);
    let at = 0;
    for (const [hash, data] of this.pendingBlobs) {
      body.write(hash, at, 32, 'hex');
      body.writeUInt32LE(data.length, at + 32);
      body.set(data, at + 36);
      at += 36 + data.length;
    }
    const blobs = [...this.pendingBlobs.keys()];
    this.pendingBlobs = new Map();
    this.pendingBlobBytes = 0;
    this.chunk(Chunk.BLOBS, body, NO_EVENTS, blobs);
  }

  private flushEvents(): void {
    if (this.records.count === 0) return;
    this.flushBlobs(); // the blobs these events refer to come first
    const records = this.records;
    const where = { firstSeq: records.firstSeq, lastSeq: records.lastSeq, firstT: records.firstT, lastT: records.lastT };
    this.flushedEvents += records.count;
    this.flushedT = records.lastT;
    this.chunk(Chunk.EVENTS, records.take(), where);
  }

  /**
   * Compresses a chunk and appends it to the file. The header chunk goes first but is
   * compressed after the chunk that follows it: the first compression of a run pays for
   * brotli's code and tables coming back into the caches, and the header is the smaller one.
   */
  private chunk(kind: number, content: string | Buffer, where: Omit<ChunkEntry, 'kind' | 'offset'>, blobs: readonly string[] = []): void {
    const [body, codec] = compress(typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    if (this.pendingHeader !== null) {
      const [header, headerCodec] = compress(Buffer.from(this.pendingHeader, 'utf8'));
      this.pendingHeader = null;
      this.append(Chunk.HEADER, header, headerCodec, NO_EVENTS);
    }
    this.append(kind, body, codec, where, blobs);
  }

  /**
   * Writes a compressed chunk; `blobs`: the payloads a blobs chunk holds, which the index places
   * here. While recording, a whole chunk goes to the file at once: a process killed later
   * leaves every chunk written so far readable (TraceReader recovers a file without its index).
   * At close, the last chunks, index and trailer go together, in one system call.
   */
  private append(kind: number, body: Buffer, codec: number, where: Omit<ChunkEntry, 'kind' | 'offset'>, blobs: readonly string[] = []): void {
    for (const hash of blobs) this.blobOffsets[hash] = this.offset;
    const head = Buffer.allocUnsafe(5);
    head.writeUInt8(codec | kind, 0);
    head.writeUInt32LE(body.length, 1);
    if (kind !== Chunk.INDEX) this.chunks.push({ kind, offset: this.offset, ...where });
    this.write(head);
    this.write(body);
    if (!this.closed) this.flushWrites();
  }

  /**
   * Puts everything recorded so far into chunks on disk (the events since the last chunk and
   * their payloads): what a kill of the process from now on cannot take. `serve` calls it every
   * second; call it between inputs or events, never from inside a log listener.
   */
  flush(): void {
    if (this.closed || this.stick === null) return;
    this.flushEvents();
    this.flushBlobs();
    if (this.unwrittenBytes > 0) this.flushWrites();
  }

  /**
   * Appends to the file through a small buffer: a chunk's head and body (and, the first time,
   * the magic and the header chunk) go out in one system call, and what close() writes in one
   * more. Nothing is held past WRITE_BUFFER bytes.
   */
  private write(bytes: Uint8Array): void {
    this.unwritten.push(bytes);
    this.unwrittenBytes += bytes.length;
    this.offset += bytes.length;
    if (this.unwrittenBytes >= WRITE_BUFFER) this.flushWrites();
  }

  private flushWrites(): void {
    if (this.unwritten.length === 0) return;
    let done = writevSync(this.fd, this.unwritten);
    // A regular file takes it all or fails; anything else may take part of it.
    if (done < this.unwrittenBytes) {
      const rest = Buffer.concat(this.unwritten).subarray(done);
      for (let at = 0; at < rest.length; ) at += writeSync(this.fd, rest, at);
    }
    this.unwritten = [];
    this.unwrittenBytes = 0;
  }

  /** Flushes what is pending, writes the index and the trailer. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    const hooks = this.stick?.inputHooks ?? [];
    const hook = hooks.indexOf(this.beforeInput);
    if (hook >= 0) hooks.splice(hook, 1);
    this.flushEvents();
    this.flushBlobs();
    const index: TraceIndex = {
      header: this.header ?? ({} as TraceHeader),
      chunks: this.chunks,
      blobs: this.blobOffsets,
      events: this.events,
      endT: this.flushedT >= 0 ? this.flushedT : (this.stick?.now ?? 0),
    };
    const at = this.offset;
    this.chunk(Chunk.INDEX, JSON.stringify(index), NO_EVENTS);
    const trailer = Buffer.alloc(TRAILER_BYTES);
    trailer.writeUInt32LE(at % 0x100000000, 0);
    trailer.writeUInt32LE(Math.floor(at / 0x100000000), 4);
    END.copy(trailer, 8);
    this.write(trailer);
    this.flushWrites();
    closeSync(this.fd);
  }
}

// ---- reading

/**
 * How a trace without its index was read: the recording stopped before the writer closed it (the
 * process was killed, or crashed), so the reader scanned its chunks and kept every whole one.
 */
export interface TraceRecovery {
  /** What the file lacks, in words. */
  readonly reason: string;
  /** The end of the last whole chunk: everything before it is read. */
  readonly end: number;
  /** Bytes after it (a chunk, or the trailer, cut short), which are not. */
  readonly dropped: number;
}

/** A trace file opened for reading: header and index first, chunks as they are needed. */
export class TraceReader {
  readonly index: TraceIndex;
  private recovery: TraceRecovery | null = null;
  private readonly fd: number;
  readonly size: number;
  private readonly blobCache = new Map<number, Map<string, Uint8Array>>();
  private cachedBytes = 0;

  private constructor(
    readonly path: string,
    fd: number,
    private readonly maxChunkBytes: number,
  ) {
    this.fd = fd;
    this.size = fstatSync(fd).size;
    this.index = this.readIndex();
  }

  /** `maxChunkBytes`: the most any one chunk may decompress to (MAX_CHUNK_BYTES by default). */
  static open(path: string, options: { maxChunkBytes?: number } = {}): TraceReader {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      throw new TraceError(path, 0, `cannot open: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    try {
      return new TraceReader(path, fd, options.maxChunkBytes ?? MAX_CHUNK_BYTES);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  get header(): TraceHeader {
    return this.index.header;
  }

  /** Set when the file has no index (it was never closed) and was read by scanning its chunks. */
  get recovered(): TraceRecovery | null {
    return this.recovery;
  }

  private fail(offset: number, message: string): never {
    throw new TraceError(this.path, offset, message);
  }

  private readAt(offset: number, length: number): Buffer {
    if (offset < 0 || length < 0 || offset + length > this.size) this.fail(offset, `${length} bytes asked past the end of the ${this.size}-byte file`);
    const buffer = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buffer, done, length - done, offset + done);
      if (n === 0) this.fail(offset + done, 'the file ended early');
      done += n;
    }
    return buffer;
  }

  private readIndex(): TraceIndex {
    if (this.size < 12) this.fail(0, `too short for a trace (${this.size} bytes${this.size === 0 ? ': a recording killed before its first chunk reached the disk leaves an empty file' : ''})`);
    const head = this.readAt(0, 12);
    if (!head.subarray(0, 8).equals(MAGIC)) this.fail(0, 'not a trace file (no MYRTRACE magic)');
    const version = head.readUInt32LE(8);
    if (version !== TRACE_VERSION) this.fail(8, `trace format version ${version} is not supported (this emulator reads ${TRACE_VERSION})`);
    const trailer = this.size >= 12 + TRAILER_BYTES ? this.readAt(this.size - TRAILER_BYTES, TRAILER_BYTES) : null;
    if (!trailer?.subarray(8).equals(END)) return this.recover();
    const at = trailer.readUInt32LE(0) + trailer.readUInt32LE(4) * 0x100000000;
    if (at < 12 || at >= this.size - TRAILER_BYTES) this.fail(this.size - TRAILER_BYTES, `the index offset ${at} is outside the file`);
    const [kind, text] = this.readJsonChunk(at);
    if (kind !== Chunk.INDEX) this.fail(at, 'the trailer does not point at an index chunk');
    const index = this.parse(text, at) as TraceIndex;
    this.checkIndex(index, at);
    return index;
  }

  /**
   * The index of a file that has none: a recording that was never closed. Its chunks are read
   * one at a time from the start (memory: one chunk; time: one pass over the file) and the index
   * rebuilt from what they hold, then held to the same rules as a written one. The file may end
   * anywhere: in a chunk's head or body, or in the trailer after a complete index. A chunk cut
   * short and what follows it are dropped; anything else wrong is corruption, refused as always.
   * A chunk that runs past the end of the file is cut short only if its body is a beginning of a
   * compressed stream; one whose stream ends inside the file has a damaged length.
   */
  private recover(): TraceIndex {
    const chunks: ChunkEntry[] = [];
    const blobs: Record<string, number> = {};
    let header: TraceHeader | null = null;
    let events = 0;
    let endT = 0;
    let at = 12;
    let reason = 'its index and trailer are missing: the recording was not closed';
    while (at < this.size) {
      if (at + 5 > this.size) break; // cut in a chunk's head
      const head = this.readAt(at, 5);
      const kind = head.readUInt8(0) & ~CODEC_BROTLI;
      const length = head.readUInt32LE(1);
      if (!Object.values(Chunk).includes(kind as 1)) this.fail(at, `unknown chunk kind ${kind}`);
      if (at + 5 + length > this.size) {
        this.checkCutShort(at, head.readUInt8(0) & CODEC_BROTLI, length);
        break;
      }
      if (kind === Chunk.INDEX) {
        // The index was written, so the trailer was being written when the file ended.
        const end = at + 5 + length;
        const trailer = Buffer.alloc(TRAILER_BYTES);
        trailer.writeUInt32LE(at % 0x100000000, 0);
        trailer.writeUInt32LE(Math.floor(at / 0x100000000), 4);
        END.copy(trailer, 8);
        const rest = this.readAt(end, this.size - end);
        if (rest.length >= TRAILER_BYTES || !rest.equals(trailer.subarray(0, rest.length))) this.fail(end, 'what follows the index chunk is not its trailer');
        reason = 'its trailer is cut short';
        break;
      }
      if ((kind === Chunk.HEADER) !== (at === 12)) this.fail(at, at === 12 ? 'the first chunk is not the header' : 'a second header chunk');
      const [, raw] = this.readRawChunk(at);
      let where: Omit<ChunkEntry, 'kind' | 'offset'> = NO_EVENTS;
      if (kind === Chunk.HEADER) header = this.parse(raw.toString('utf8'), at) as TraceHeader;
      else if (kind === Chunk.EVENTS) {
        where = this.scanEvents(raw, at);
        events += where.lastSeq - where.firstSeq + 1;
        endT = where.lastT;
      } else if (kind === Chunk.BLOBS) {
        for (let p = 0; p < raw.length; ) {
          if (p + 36 > raw.length) this.fail(at, `a blob record is cut off at byte ${p} of the chunk`);
          const length = raw.readUInt32LE(p + 32);
          if (p + 36 + length > raw.length) this.fail(at, `a blob claims ${length} bytes, more than its chunk holds`);
          blobs[raw.toString('hex', p, p + 32)] = at;
          p += 36 + length;
        }
      } else {
        const record = this.parse(raw.toString('utf8'), at) as { seq?: unknown; t?: unknown } | null;
        const { seq, t } = record ?? {};
        if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(t) || (seq as number) < 0 || (t as number) < 0) this.fail(at, 'the snapshot chunk names no event and time');
        where = { firstSeq: seq as number, lastSeq: seq as number, firstT: t as number, lastT: t as number };
      }
      chunks.push({ kind, offset: at, ...where });
      at += 5 + length;
    }
    if (header === null) this.fail(at, 'the file ends before its header chunk is complete: a recording killed this early leaves nothing to read');
    const index: TraceIndex = { header, chunks, blobs, events, endT };
    this.checkIndex(index, at);
    this.recovery = { reason, end: at, dropped: this.size - at };
    return index;
  }

  /**
   * A chunk that runs past the end of the file: cut short if what the file holds of its body is
   * the beginning of a compressed stream (decompressing it runs out of input); corruption if the
   * stream ends inside the file (its length is damaged) or is not one.
   */
  private checkCutShort(at: number, codec: number, length: number): void {
    const body = this.readAt(at + 5, this.size - at - 5);
    const options = { maxOutputLength: Math.min(this.maxChunkBytes, Math.max(1 << 16, length * MAX_EXPANSION)) };
    try {
      if (codec === CODEC_BROTLI) brotliDecompressSync(body, options);
      else gunzipSync(body, options);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'Z_BUF_ERROR') return;
      this.fail(at, `the chunk is cut off by the end of the file and what there is of it does not decompress (${(error as Error).message})`);
    }
    this.fail(at, `a chunk of ${length} bytes runs past the end of the file, yet its body ends inside it: the length is damaged`);
  }

  /** An events chunk's range, found by decoding its records (and checking them on the way). */
  private scanEvents(raw: Buffer, at: number): Omit<ChunkEntry, 'kind' | 'offset'> {
    const records = new EventDecoder(raw);
    let first: Record<string, unknown> | null = null;
    let last: Record<string, unknown> | null = null;
    for (;;) {
      let event: Record<string, unknown> | null;
      try {
        event = records.next();
      } catch (error) {
        if (error instanceof RecordError) this.fail(at, `${error.message} (byte ${error.at} of the uncompressed chunk)`);
        throw error;
      }
      if (event === null) break;
      if (last !== null && event.seq !== (last.seq as number) + 1) this.fail(at, `event seq ${String(event.seq)} where ${(last.seq as number) + 1} was expected`);
      first ??= event;
      last = event;
    }
    if (first === null || last === null) this.fail(at, 'an events chunk that holds no events');
    const [firstSeq, lastSeq, firstT, lastT] = [first.seq, last.seq, first.t, last.t] as number[];
    return { firstSeq: firstSeq!, lastSeq: lastSeq!, firstT: firstT!, lastT: lastT! };
  }

  private checkIndex(index: TraceIndex, at: number): void {
    const h = index?.header as Partial<TraceHeader> | undefined;
    if (!h || h.format !== 'myriad-trace' || h.version !== TRACE_VERSION) this.fail(at, 'the index has no valid header');
    if (typeof h.model !== 'string' || typeof h.emulator !== 'string' || typeof h.chipId !== 'string' || !/^[0-9a-f]{1,16}$/.test(h.chipId)) this.fail(at, 'the header lacks model, emulator or chip id');
    const images = h.images as unknown;
    if (!Array.isArray(images) || !images.every((i: Partial<ImageHash> | null) => typeof i?.sha256 === 'string' && /^[0-9a-f]{64}$/.test(i.sha256) && Number.isSafeInteger(i.bytes))) this.fail(at, 'the header lists its images badly');
    if (h.level !== 'default') this.fail(at, `recording level '${String(h.level)}' is not one this emulator knows`);
    if (!Number.isSafeInteger(h.snapshotEvery) || (h.snapshotEvery as number) <= 0) this.fail(at, 'the header has no valid snapshotEvery');
    if (!Array.isArray(index.chunks) || index.blobs === null || typeof index.blobs !== 'object') this.fail(at, 'the index lacks its chunk list or blob table');
    if (!Number.isSafeInteger(index.events) || index.events < 0) this.fail(at, `the index claims ${JSON.stringify(index.events)} events, not a whole number up to 2^53`);
    if (!Number.isSafeInteger(index.endT) || index.endT < 0) this.fail(at, `the index says the trace ends at t ${JSON.stringify(index.endT)}, not a whole number of nanoseconds up to 2^53`);
    let last = -1;
    for (const c of index.chunks) {
      const ok =
        c !== null && typeof c === 'object' && [Chunk.EVENTS, Chunk.BLOBS, Chunk.SNAPSHOT, Chunk.HEADER].includes(c.kind as 2) &&
        Number.isSafeInteger(c.offset) && c.offset > last && c.offset < at &&
        [c.firstSeq, c.lastSeq, c.firstT, c.lastT].every((n) => Number.isSafeInteger(n) && n >= 0);
      if (!ok) this.fail(at, `the index lists a bad chunk: ${JSON.stringify(c).slice(0, 120)}`);
      last = c.offset;
    }
    for (const [hash, offset] of Object.entries(index.blobs)) {
      if (!/^[0-9a-f]{64}$/.test(hash) || !index.chunks.some((c) => c.kind === Chunk.BLOBS && c.offset === offset)) this.fail(at, `the index places blob ${hash.slice(0, 16)} nowhere`);
    }
    this.checkEventRanges(index, at);
  }

  /**
   * The index against itself, before anything trusts it: `events()` skips chunks by their
   * ranges, seek and replay count on the totals. Events chunks follow each other in seq order
   * without gaps or overlaps, each running forwards in seq and time; the totals are what those
   * chunks add up to; a snapshot is one moment, inside the events' range (at most one past the
   * last event: it is taken before the input it precedes). Each chunk's contents are held to its
   * entry when it is read.
   */
  private checkEventRanges(index: TraceIndex, at: number): void {
    const range = (c: ChunkEntry) => `events ${c.firstSeq} to ${c.lastSeq} (t ${c.firstT} to ${c.lastT} ns)`;
    let previous: ChunkEntry | null = null;
    let total = 0;
    for (const c of index.chunks) {
      if (c.kind === Chunk.SNAPSHOT && (c.firstSeq !== c.lastSeq || c.firstT !== c.lastT)) this.fail(at, `the index gives the snapshot at byte ${c.offset} ${range(c)}, not one event and time`);
      if (c.kind !== Chunk.EVENTS) continue;
      if (c.firstSeq > c.lastSeq || c.firstT > c.lastT) this.fail(at, `the index gives the events chunk at byte ${c.offset} ${range(c)}: it runs backwards`);
      if (previous && c.firstSeq !== previous.lastSeq + 1) this.fail(at, `the index has the events chunk at byte ${c.offset} begin at event ${c.firstSeq}, but the chunk before it ends at event ${previous.lastSeq}`);
      if (previous && c.firstT < previous.lastT) this.fail(at, `the index has the events chunk at byte ${c.offset} begin at t ${c.firstT} ns, before the chunk before it ends (t ${previous.lastT} ns)`);
      total += c.lastSeq - c.firstSeq + 1;
      previous = c;
    }
    if (index.events !== total) this.fail(at, `the index claims ${index.events} events, but its events chunks hold ${total}`);
    if (previous && index.endT !== previous.lastT) this.fail(at, `the index says the trace ends at t ${index.endT} ns, but its last event is at t ${previous.lastT} ns`);
    const first = index.chunks.find((c) => c.kind === Chunk.EVENTS);
    for (const c of index.chunks) {
      if (c.kind !== Chunk.SNAPSHOT) continue;
      if (first && previous && (c.firstSeq < first.firstSeq || c.firstSeq > previous.lastSeq + 1)) this.fail(at, `the index puts the snapshot at byte ${c.offset} at event ${c.firstSeq}, outside the trace's events ${first.firstSeq} to ${previous.lastSeq}`);
      // One at the event after the last was taken before an input the trace lacks: later, not earlier.
      const afterLast = previous !== null && c.firstSeq === previous.lastSeq + 1;
      if (c.firstT > index.endT && previous && !afterLast) this.fail(at, `the index puts the snapshot at byte ${c.offset} at t ${c.firstT} ns, after the trace ends (t ${index.endT} ns)`);
      if (afterLast && c.firstT < index.endT) this.fail(at, `the index puts the snapshot at byte ${c.offset} after the last event, but at t ${c.firstT} ns, before it (t ${index.endT} ns)`);
    }
  }

  /** The seq of the first and the last event the trace holds, or null when it holds none. */
  get eventRange(): { readonly first: number; readonly last: number } | null {
    let first: ChunkEntry | null = null;
    let last: ChunkEntry | null = null;
    for (const c of this.index.chunks) {
      if (c.kind !== Chunk.EVENTS) continue;
      first ??= c;
      last = c;
    }
    return first && last ? { first: first.firstSeq, last: last.lastSeq } : null;
  }

  /** A chunk's kind and its JSON text, gunzipped under the cap. */
  private readJsonChunk(offset: number): [number, string] {
    const [kind, raw] = this.readRawChunk(offset);
    return [kind, raw.toString('utf8')];
  }

  /** A chunk's kind and its decompressed bytes. */
  private readRawChunk(offset: number): [number, Buffer] {
    const head = this.readAt(offset, 5);
    const codec = head.readUInt8(0) & CODEC_BROTLI;
    const kind = head.readUInt8(0) & ~CODEC_BROTLI;
    const length = head.readUInt32LE(1);
    if (!Object.values(Chunk).includes(kind as 1)) this.fail(offset, `unknown chunk kind ${kind}`);
    if (offset + 5 + length > this.size) this.fail(offset, `a chunk of ${length} bytes runs past the end of the file`);
    try {
      // No chunk makes us hold more than MAX_EXPANSION times its size on disk (writers never
      // write one that expands more), and never more than the absolute cap.
      const body = this.readAt(offset + 5, length);
      const options = { maxOutputLength: Math.min(this.maxChunkBytes, Math.max(1 << 16, length * MAX_EXPANSION)) };
      return [kind, codec === CODEC_BROTLI ? brotliDecompressSync(body, options) : gunzipSync(body, options)];
    } catch (error) {
      this.fail(offset, `the chunk does not decompress (${(error as Error).message})`);
    }
  }

  private parse(line: string, offset: number): unknown {
    try {
      return JSON.parse(line);
    } catch (error) {
      this.fail(offset, `a record is not JSON (${(error as Error).message})`);
    }
  }

  /** The bytes of a blob, read from its chunk (checked against its hash). */
  blob(hash: string, offset = 0): Uint8Array {
    const at = this.index.blobs[hash];
    if (at === undefined) this.fail(offset, `a record refers to blob ${hash.slice(0, 16)}, which the trace does not hold`);
    let chunk = this.blobCache.get(at);
    if (!chunk) {
      chunk = new Map();
      const [kind, raw] = this.readRawChunk(at);
      if (kind !== Chunk.BLOBS) this.fail(at, 'the index points at a chunk that holds no blobs');
      for (let p = 0; p < raw.length; ) {
        if (p + 36 > raw.length) this.fail(at, `a blob record is cut off at byte ${p} of the chunk`);
        const name = raw.toString('hex', p, p + 32);
        const length = raw.readUInt32LE(p + 32);
        if (p + 36 + length > raw.length) this.fail(at, `blob ${name.slice(0, 16)} claims ${length} bytes, more than its chunk holds`);
        const bytes = new Uint8Array(raw.buffer, raw.byteOffset + p + 36, length);
        if (sha256(bytes) !== name) this.fail(at, `blob ${name.slice(0, 16)} does not match its hash`);
        chunk.set(name, bytes);
        this.cachedBytes += length;
        p += 36 + length;
      }
      // Keep what blob chunks we have read, but not without end: a trace may hold a lot.
      if (this.cachedBytes > 512 << 20) {
        this.blobCache.clear();
        this.cachedBytes = 0;
      }
      this.blobCache.set(at, chunk);
    }
    const bytes = chunk.get(hash);
    if (!bytes) this.fail(at, `blob ${hash.slice(0, 16)} is not in the chunk the index names`);
    return bytes;
  }

  private decode(value: unknown, offset: number): unknown {
    if (Array.isArray(value)) return value.map((v) => this.decode(v, offset));
    if (value !== null && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      if (keys.length === 1 && keys[0] === '$bytes' && typeof record.$bytes === 'string') return new Uint8Array(Buffer.from(record.$bytes, 'base64'));
      if (keys.length === 1 && keys[0] === '$blob' && typeof record.$blob === 'string') return this.blob(record.$blob, offset);
      const out: Record<string, unknown> = {};
      for (const key of keys) out[key] = this.decode(record[key], offset);
      return out;
    }
    return value;
  }

  /**
   * The events from `fromSeq` on, in order, each checked against the schema and each chunk
   * against its index entry (the events it holds, and their times).
   */
  *events(fromSeq = 0): Generator<MachineEvent> {
    let expected: number | null = null;
    let previousT = 0;
    for (const c of this.index.chunks) {
      if (c.kind !== Chunk.EVENTS || c.lastSeq < fromSeq) continue;
      const [kind, raw] = this.readRawChunk(c.offset);
      if (kind !== Chunk.EVENTS) this.fail(c.offset, 'the index names an events chunk that is not one');
      const records = new EventDecoder(raw);
      let last: MachineEvent | null = null;
      for (;;) {
        let event: Record<string, unknown> | null;
        try {
          event = records.next();
        } catch (error) {
          if (error instanceof RecordError) this.fail(c.offset, `${error.message} (byte ${error.at} of the uncompressed chunk)`);
          throw error;
        }
        if (event === null) break;
        if (last === null && (event.seq !== c.firstSeq || event.t !== c.firstT)) {
          this.fail(c.offset, `the chunk begins with event ${String(event.seq)} at t ${String(event.t)} ns; the index says event ${c.firstSeq} at t ${c.firstT} ns`);
        }
        for (const key in event) {
          const value = event[key] as BlobReference | null;
          if (value !== null && typeof value === 'object' && '$blob' in value) event[key] = this.blob(value.$blob, c.offset);
        }
        const problem = checkEvent(event);
        if (problem) this.fail(c.offset, problem);
        const e = event as MachineEvent;
        if (expected !== null && e.seq !== expected) this.fail(c.offset, `event seq ${e.seq} where ${expected} was expected`);
        if (expected !== null && e.t < previousT) this.fail(c.offset, `event ${e.seq} at t ${e.t} ns comes before the event before it (t ${previousT} ns)`);
        if (e.seq > c.lastSeq) this.fail(c.offset, `the chunk holds event ${e.seq}, past event ${c.lastSeq} where the index says it ends`);
        expected = e.seq + 1;
        previousT = e.t;
        last = e;
        if (e.seq >= fromSeq) yield e;
      }
      if (last === null || last.seq !== c.lastSeq || last.t !== c.lastT) {
        const held = last === null ? 'no events' : `events up to ${last.seq} at t ${last.t} ns`;
        this.fail(c.offset, `the chunk holds ${held}; the index says it ends with event ${c.lastSeq} at t ${c.lastT} ns`);
      }
    }
  }

  /** The last snapshot taken at or before event `seq`, or null when there is none. */
  snapshotAtOrBefore(seq: number): { seq: number; t: number; snapshot: StickSnapshot; offset: number } | null {
    let best: ChunkEntry | null = null;
    for (const c of this.index.chunks) if (c.kind === Chunk.SNAPSHOT && c.firstSeq <= seq && (!best || c.firstSeq >= best.firstSeq)) best = c;
    return best ? this.readSnapshot(best) : null;
  }

  /** The snapshot of a snapshot chunk's entry in the index, checked against the entry. */
  readSnapshot(best: ChunkEntry): { seq: number; t: number; snapshot: StickSnapshot; offset: number } {
    const [kind, text] = this.readJsonChunk(best.offset);
    if (kind !== Chunk.SNAPSHOT) this.fail(best.offset, 'the index names a snapshot chunk that is not one');
    const record = this.decode(this.parse(text, best.offset), best.offset) as { seq: number; t: number; snapshot: StickSnapshot };
    if (record?.snapshot?.format !== 'myriad-stick-snapshot' || record.snapshot.seq !== record.seq) this.fail(best.offset, 'the snapshot is not a machine snapshot');
    if (record.seq !== best.firstSeq || record.t !== best.firstT) this.fail(best.offset, `the snapshot is of event ${String(record.seq)} at t ${String(record.t)} ns; the index says event ${best.firstSeq} at t ${best.firstT} ns`);
    return { seq: record.seq, t: record.t, snapshot: record.snapshot, offset: best.offset };
  }
}
