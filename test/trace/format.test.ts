import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { hashEvents } from '../../emu/events/canonical.js';
import type { MachineEvent } from '../../emu/events/event.js';
import { bootDevice } from '../../emu/host/boot.js';
import { Hub } from '../../emu/host/hub.js';
import { XLinkClient } from '../../emu/host/xlink.js';
import type { EmulatedUSBDevice } from '../../emu/host/webusb.js';
import { Chunk, imageHash, TraceError, TraceReader, TraceWriter } from '../../emu/trace/format.js';
import { replayTrace } from '../../emu/trace/replay-trace.js';
import { EVENT_KINDS } from '../../emu/trace/schema.js';
import { buildTrace, encodeRecords, KIND, readChunks, type RawChunk } from '../support/trace-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'myriad-format-'));
const VSC = readFileSync(new URL('../../firmware-stubs/vsc/vsc-ma2485.mvcmd', import.meta.url));

/** Boots the open firmware and echoes `echoes` messages through XLink, recording to `file`. */
async function record(file: string, options: { snapshotEvery?: number; echoes?: number; image?: Uint8Array } = {}) {
  const image = options.image ?? VSC;
  const writer = new TraceWriter(file, { emulator: 'test', images: [image], ...(options.snapshotEvery ? { snapshotEvery: options.snapshotEvery } : {}) });
  const hub = new Hub();
  const port = hub.plug({ model: 'ma2485', record: true, attach: (stick) => writer.attach(stick) });
  await hub.sleep(300);
  const [rom] = await hub.usb.getDevices();
  const result = await bootDevice(hub.usb, rom!, image, { sleep: (ms) => hub.sleep(ms), reattachTimeoutMs: 3000 });
  if (options.echoes) {
    const client = await XLinkClient.connect(result.reattached as EmulatedUSBDevice, { sleep: (ms) => hub.sleep(ms), cancelSleep: (p) => hub.cancelSleep(p) });
    const stream = await client.openStream('echo', 8192);
    for (let i = 0; i < options.echoes; i++) {
      await client.write(stream, new Uint8Array(100).fill(i));
      await client.read(stream);
    }
  }
  writer.close();
  return port.recorder!.events;
}

/** Records a ROM stick that is sent `payload` on bulk OUT `times` times (the ROM may STALL it). */
async function recordUploads(file: string, payload: Uint8Array, times: number, images: Uint8Array[] = []) {
  const writer = new TraceWriter(file, { emulator: 'test', images });
  const hub = new Hub();
  hub.plug({ model: 'ma2485', attach: (stick) => writer.attach(stick) });
  await hub.sleep(300);
  const [rom] = await hub.usb.getDevices();
  await rom!.open();
  await rom!.claimInterface(0);
  for (let i = 0; i < times; i++) await rom!.transferOut(1, payload).catch(() => null);
  writer.close();
}

describe('trace files, format 3', () => {
  it('round-trip: every event comes back as recorded, and the trace replays from its first snapshot', async () => {
    const file = join(dir, 'round.myrtrace');
    const events = await record(file, { echoes: 3 });
    const reader = TraceReader.open(file);
    expect(reader.header).toMatchObject({ format: 'myriad-trace', version: 3, model: 'ma2485', chipId: '0d2c3b4a59687f80', level: 'default' });
    expect(reader.header.images).toEqual([imageHash(VSC)]);
    const back = [...reader.events()];
    expect(back.length).toBe(events.length);
    expect(hashEvents(back)).toBe(hashEvents(events));
    const replayed = replayTrace(reader);
    expect(replayed.divergence).toBeNull();
    expect(replayed.events).toBe(events.length);
    reader.close();
  });

  it('a payload that compresses past what a reader accepts is stored as gzip, and reads back', async () => {
    // 8 MiB of zeros: brotli makes a few bytes of it, more than the 1100-fold expansion a
    // reader allows, so the writer falls back to gzip for that chunk.
    const file = join(dir, 'zeros.myrtrace');
    await recordUploads(file, new Uint8Array(8 << 20), 1);
    const reader = TraceReader.open(file);
    const codecs = reader.index.chunks.map((c) => readFileSync(file)[c.offset]! & 0x80 ? 'brotli' : 'gzip');
    expect(codecs[reader.index.chunks.findIndex((c) => c.kind === Chunk.BLOBS)]).toBe('gzip');
    expect(codecs.filter((c) => c === 'brotli').length).toBeGreaterThan(0);
    const upload = [...reader.events()].find((e) => e.kind === 'host.transfer' && e.endpoint === 1);
    expect(upload?.kind === 'host.transfer' && upload.data?.length).toBe(8 << 20);
    reader.close();
  });

  it('a boot trace is smaller than the image it uploads plus 10%', async () => {
    const file = join(dir, 'boot.myrtrace');
    await record(file);
    expect(statSync(file).size).toBeLessThanOrEqual(VSC.length * 1.1);
  });

  it('a writer hooks the stick only while it records', async () => {
    const writer = new TraceWriter(join(dir, 'hooks.myrtrace'), { emulator: 'test' });
    const hub = new Hub();
    const port = hub.plug({ model: 'ma2485', attach: (stick) => writer.attach(stick) });
    await hub.sleep(10);
    expect(port.stick.inputHooks).toHaveLength(1);
    const recorded = writer.events;
    writer.close();
    expect(port.stick.inputHooks).toHaveLength(0);
    hub.unplug(port);
    expect(writer.events).toBe(recorded);
    expect(TraceReader.open(join(dir, 'hooks.myrtrace')).index.events).toBe(recorded);
  });

  it('a payload sent twice is stored once', async () => {
    // Random bytes do not compress: the only way the file stays small is storing them once.
    let x = 0x9e3779b9;
    const payload = new Uint8Array(200_000).map(() => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x & 0xff;
    });
    const once = join(dir, 'once.myrtrace');
    const twice = join(dir, 'twice.myrtrace');
    for (const [file, times] of [[once, 1], [twice, 2]] as const) await recordUploads(file, payload, times);
    expect(statSync(once).size).toBeGreaterThan(payload.length);
    expect(statSync(twice).size - statSync(once).size).toBeLessThan(2000);
    const reader = TraceReader.open(twice);
    const outs = [...reader.events()].filter((e): e is Extract<MachineEvent, { kind: 'host.transfer' }> => e.kind === 'host.transfer' && e.length === payload.length);
    expect(outs.length).toBe(2);
    expect(Buffer.from(outs[1]!.data!).equals(Buffer.from(payload))).toBe(true);
    reader.close();
  });

  it('a boot image named in the options is in the header, and stored only once the stick is sent it', async () => {
    const image = VSC.subarray(0, 5000);
    const [unsent, sent] = [join(dir, 'image-unsent.myrtrace'), join(dir, 'image-sent.myrtrace')];
    await recordUploads(unsent, image, 0, [image]);
    await recordUploads(sent, image, 2, [image]);
    for (const [file, blobs] of [[unsent, []], [sent, [imageHash(image).sha256]]] as const) {
      const reader = TraceReader.open(file);
      expect(reader.header.images).toEqual([imageHash(image)]);
      expect(Object.keys(reader.index.blobs)).toEqual(blobs);
      const uploads = [...reader.events()].filter((e) => e.kind === 'host.transfer' && e.endpoint === 1);
      expect(uploads.map((e) => e.kind === 'host.transfer' && Buffer.from(e.data!).equals(image))).toEqual(blobs.length ? [true, true] : []);
      reader.close();
    }
  });

  it('snapshots every N events: replay from any of them reaches the same end', async () => {
    const file = join(dir, 'snapshots.myrtrace');
    const events = await record(file, { snapshotEvery: 100, echoes: 20 });
    const reader = TraceReader.open(file);
    const snapshots = reader.index.chunks.filter((c) => c.kind === Chunk.SNAPSHOT).map((c) => c.firstSeq);
    expect(snapshots.length).toBeGreaterThan(5);
    for (const seq of snapshots) {
      const result = replayTrace(reader, { near: seq });
      expect(result.startSeq).toBe(seq);
      expect(result.divergence).toBeNull();
      expect(result.stick.log.length).toBe(events.length);
    }
    reader.close();
  });

  it('a writer keeps memory flat: events go to disk in chunks as they come', async () => {
    const file = join(dir, 'chunks.myrtrace');
    await record(file, { echoes: 400 });
    const reader = TraceReader.open(file);
    const chunks = reader.index.chunks.filter((c) => c.kind === Chunk.EVENTS);
    expect(chunks.length).toBeGreaterThan(1);
    for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.firstSeq).toBe(chunks[i - 1]!.lastSeq + 1);
    reader.close();
  });
});

describe('trace files from strangers', () => {
  const good = join(dir, 'good.myrtrace');
  let chunks: RawChunk[];
  const write = (name: string, bytes: Uint8Array) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };
  const failure = (path: string, maxChunkBytes?: number) => {
    try {
      const reader = TraceReader.open(path, maxChunkBytes ? { maxChunkBytes } : {});
      for (const _ of reader.events());
      reader.snapshotAtOrBefore(Number.MAX_SAFE_INTEGER);
      reader.close();
    } catch (error) {
      expect(error).toBeInstanceOf(TraceError);
      return (error as TraceError).message;
    }
    return 'no error';
  };
  /**
   * The reference trace with its first events chunk replaced by these records, under an index
   * that says the chunk holds event 0 at t 0 (the later events and the snapshots among them
   * left out, so that the index agrees with itself and the reader gets as far as the records).
   */
  const withRecords = (records: Buffer) => {
    const first = chunks.findIndex((c) => c.kind === KIND.events);
    const copy = chunks.filter((c, i) => i <= first || c.kind === KIND.blobs).map((c) => ({ ...c, lines: [...c.lines] }));
    const events = copy[first]!;
    events.lines = ['{"seq":0,"t":0}'];
    events.raw = records;
    return buildTrace(copy, { index: (i) => i });
  };
  /** Records of one event, from its JSON (byte arrays as {"$bytes"} or {"$blob"}). */
  const record1 = (event: object) => encodeRecords([JSON.stringify({ seq: 0, t: 0, ...event })]);
  const code = (kind: string) => EVENT_KINDS.indexOf(kind as never);

  it('records a reference trace', async () => {
    await record(good, { snapshotEvery: 50 });
    chunks = readChunks(readFileSync(good));
    expect(failure(write('rebuilt.myrtrace', buildTrace(chunks)))).toBe('no error'); // the builder agrees with the writer
  });

  it.each([
    ['an empty file', () => Buffer.alloc(0), /byte 0: too short for a trace/],
    ['not a trace', () => Buffer.from('{"format":"myriad-trace"}\n'.repeat(3)), /byte 0: not a trace file/],
    ['a future version', () => buildTrace(chunks, { version: 9 }), /byte 8: trace format version 9 is not supported/],
    // Cut off later, it is read up to its last whole chunk (killed.test.ts).
    ['a file cut off in its header chunk', () => readFileSync(good).subarray(0, 20), /byte 12: the file ends before its header chunk is complete/],
    ['an index with no header', () => buildTrace(chunks, { index: (i) => ({ ...i, header: null }) }), /the index has no valid header/],
    ['a chunk past the end', () => buildTrace(chunks, { index: (i) => ({ ...i, chunks: [...(i.chunks as object[]), { kind: 2, offset: 1e9, firstSeq: 0, lastSeq: 0, firstT: 0, lastT: 0 }] }) }), /lists a bad chunk/],
    ['a blob nowhere', () => buildTrace(chunks, { index: (i) => ({ ...i, blobs: { ['ab'.repeat(32)]: 12 } }) }), /places blob abababab/],
  ])('%s is a TraceError naming the byte', (_name, make, message) => {
    expect(failure(write('bad.myrtrace', make()))).toMatch(message);
  });

  it.each([
    ['a record cut off', () => record1({ kind: 'host.cancel', id: 300 }).subarray(0, 4), /a record is cut off at the end of the chunk/],
    ['an unknown kind code', () => Buffer.from([200, 0, 0]), /unknown event kind code 200 \(byte 0 of the uncompressed chunk\)/],
    ['a number longer than 53 bits', () => Buffer.from([code('host.cancel'), 0, 0, ...Array(9).fill(0xff), 1]), /a number longer than 53 bits/],
    ['a string the chunk never defined', () => Buffer.from([code('console.line'), 0, 0, 5]), /console.line.device refers to string 5; the chunk has defined 0/],
    ['a byte-array tag that is not one', () => Buffer.from([code('host.control'), 0, 0, 1, 7]), /host.control.setup has byte-array tag 7/],
    ['bytes past the chunk', () => Buffer.from([code('host.control'), 0, 0, 1, 1, 0xe8, 0x07, 1, 2]), /host.control.setup claims 1000 bytes, more than the chunk has left/],
    ['a boolean that is 2', () => Buffer.from([code('irq'), 0, 0, 3, 2]), /irq.active is 2, not a boolean/],
    ['a setup packet of 4 bytes', () => record1({ kind: 'host.control', id: 1, setup: { $bytes: 'AAAAAA==' }, data: null }), /host.control.setup must be 8 bytes/],
    ['bytes that are null', () => record1({ kind: 'host.control', id: 1, setup: null, data: null }), /host.control.setup must be bytes/],
    ['an IN length past 32 bits', () => record1({ kind: 'host.transfer', id: 1, endpoint: 129, length: 2 ** 33, data: null }), /length must be an unsigned 32-bit integer/],
    ['an endpoint out of range', () => record1({ kind: 'host.transfer', id: 1, endpoint: 300, length: 4, data: null }), /endpoint must be an integer from 0 to 255/],
    ['a blob the trace lacks', () => record1({ kind: 'host.transfer', id: 1, endpoint: 1, length: 64, data: { $blob: 'cd'.repeat(32) } }), /refers to blob cdcdcdcd/],
    ['a gap in seq', () => encodeRecords([{ seq: 0, t: 0, kind: 'host.reset' }, { seq: 2, t: 0, kind: 'host.reset' }].map((e) => JSON.stringify(e))), /event seq 2 where 1 was expected/],
    ['a time before zero', () => encodeRecords([{ seq: 0, t: 0, kind: 'host.reset' }, { seq: 1, t: -1, kind: 'host.reset' }].map((e) => JSON.stringify(e))), /t must be a whole number of nanoseconds/],
  ])('a corrupt event (%s) is a TraceError naming the chunk byte', (_name, records, message) => {
    expect(failure(write('bad-event.myrtrace', withRecords(records())))).toMatch(new RegExp(`byte \\d+: .*${message.source}`));
  });

  it('the builder, written from the document, reads the writer’s records back exactly', async () => {
    const reader = TraceReader.open(good);
    const fromDocument = chunks.filter((c) => c.kind === KIND.events).flatMap((c) => c.lines.map((line) => JSON.parse(line)));
    const fromReader = [...reader.events()];
    expect(fromDocument.length).toBe(fromReader.length);
    for (let i = 0; i < fromReader.length; i++) {
      const event = fromReader[i]! as unknown as Record<string, unknown>;
      const line = fromDocument[i]!;
      for (const key of Object.keys(event)) {
        const value = event[key];
        if (value instanceof Uint8Array) {
          const bytes = '$bytes' in line[key] ? Buffer.from(line[key].$bytes, 'base64') : reader.blob(line[key].$blob);
          expect(Buffer.compare(bytes, value)).toBe(0);
        } else expect(line[key]).toEqual(value);
      }
    }
    reader.close();
  });

  it('a blob whose bytes do not match its hash is refused', () => {
    const copy = chunks.map((c) => ({ ...c, lines: [...c.lines], raw: c.raw ? Buffer.from(c.raw) : undefined }));
    const blobs = copy.find((c) => c.kind === KIND.blobs)!;
    blobs.raw![36] ^= 1; // the first byte of the first payload
    expect(failure(write('bad-blob.myrtrace', buildTrace(copy)))).toMatch(/does not match its hash/);
  });

  it('a blob record that claims more bytes than its chunk holds is refused', () => {
    const copy = chunks.map((c) => ({ ...c, lines: [...c.lines], raw: c.raw ? Buffer.from(c.raw) : undefined }));
    copy.find((c) => c.kind === KIND.blobs)!.raw!.writeUInt32LE(0xfffffff0, 32);
    expect(failure(write('long-blob.myrtrace', buildTrace(copy)))).toMatch(/claims 4294967280 bytes, more than its chunk holds/);
  });

  /** A trace whose one events chunk is `body` (kind byte `kindByte`), behind a valid index. */
  const bombTrace = (kindByte: number, body: Buffer) => {
    const file = readFileSync(good);
    const out = Buffer.concat([file.subarray(0, 12), Buffer.from([kindByte, ...new Uint8Array(new Uint32Array([body.length]).buffer)]), body]);
    const index = { header: JSON.parse(chunks[0]!.lines[0]!), chunks: [{ kind: 2, offset: 12, firstSeq: 0, lastSeq: 0, firstT: 0, lastT: 0 }], blobs: {}, events: 1, endT: 0 };
    const indexChunk = gzipSync(Buffer.from(JSON.stringify(index)));
    const trailer = Buffer.alloc(16);
    trailer.writeUInt32LE(out.length, 0);
    trailer.write('MYRTEND\0', 8, 'latin1');
    return Buffer.concat([out, Buffer.from([KIND.index, ...new Uint8Array(new Uint32Array([indexChunk.length]).buffer)]), indexChunk, trailer]);
  };

  it('a gzip bomb stops at the cap', () => {
    // 64 MiB of spaces gzip to about 64 KiB; the reader here may hold at most 8 MiB per chunk.
    const bytes = bombTrace(KIND.events, gzipSync(Buffer.alloc(64 << 20, 0x20)));
    const before = process.memoryUsage().arrayBuffers;
    expect(failure(write('bomb.myrtrace', bytes), 8 << 20)).toMatch(/byte 12: the chunk does not decompress .*(larger|buffer)/i);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 << 20);
  });

  it('a brotli bomb stops at 1100 times its size, under the default cap', () => {
    // 64 MiB of zeros are a few dozen bytes of brotli: far past what an honest chunk expands to.
    const bytes = bombTrace(0x80 | KIND.events, brotliCompressSync(Buffer.alloc(64 << 20)));
    const before = process.memoryUsage().arrayBuffers;
    expect(failure(write('brotli-bomb.myrtrace', bytes))).toMatch(/byte 12: the chunk does not decompress .*(larger|buffer)/i);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 << 20);
  });

  it('a snapshot that does not make a machine is the trace’s fault, not a crash', () => {
    const copy = chunks.map((c) => ({ ...c, lines: [...c.lines] }));
    const snapshot = copy.find((c) => c.kind === KIND.snapshot)!;
    const record = JSON.parse(snapshot.lines[0]!);
    record.snapshot.memory.pages = [{ offset: 2 ** 40, bytes: { $bytes: 'AAAA' } }];
    snapshot.lines[0] = JSON.stringify(record);
    const reader = TraceReader.open(write('bad-snapshot.myrtrace', buildTrace(copy)));
    expect(() => replayTrace(reader, { near: record.seq })).toThrow(/byte \d+: the snapshot does not restore/);
    reader.close();
  });
});
