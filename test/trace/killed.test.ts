/**
 * A killed recording keeps its trace. A trace that was never closed has no index and no trailer,
 * and may end anywhere, in the middle of a chunk even; the reader then scans its chunks, keeps
 * every whole one, and says how much is lost, and the replay runs up to there. A file that is
 * damaged rather than cut short is still refused. And a `serve --record` process killed with
 * SIGKILL leaves such a trace, while SIGINT and SIGTERM close it, even under a flood.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { bootDevice } from '../../emu/host/boot.js';
import { Hub } from '../../emu/host/hub.js';
import type { EmulatedUSBDevice } from '../../emu/host/webusb.js';
import { XLinkClient } from '../../emu/host/xlink.js';
import { Chunk, TraceError, TraceReader, TraceWriter, type TraceIndex } from '../../emu/trace/format.js';
import { replayTrace } from '../../emu/trace/replay-trace.js';
import { UsbredirClient } from '../support/usbredir-client.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'dist/emu/cli/bin.js');
const dir = mkdtempSync(join(tmpdir(), 'myriad-killed-'));
const VSC = readFileSync(join(root, 'firmware-stubs/vsc/vsc-ma2485.mvcmd'));

/** Boots the open firmware and echoes through XLink, recording; `close` false leaves the writer open. */
async function record(file: string, close = true): Promise<TraceWriter> {
  const writer = new TraceWriter(file, { emulator: 'test', images: [VSC], snapshotEvery: 60 });
  const hub = new Hub();
  hub.plug({ model: 'ma2485', attach: (stick) => writer.attach(stick) });
  await hub.sleep(300);
  const [rom] = await hub.usb.getDevices();
  const booted = await bootDevice(hub.usb, rom!, VSC, { sleep: (ms) => hub.sleep(ms), reattachTimeoutMs: 3000 });
  const client = await XLinkClient.connect(booted.reattached as EmulatedUSBDevice, { sleep: (ms) => hub.sleep(ms), cancelSleep: (p) => hub.cancelSleep(p) });
  const stream = await client.openStream('echo', 8192);
  for (let i = 0; i < 3; i++) {
    await client.write(stream, new Uint8Array(2000).fill(i + 1));
    await client.read(stream);
  }
  if (close) writer.close();
  return writer;
}

/** Reads a trace to the end of its events and replays it: what every tool needs of a file. */
function readAndReplay(file: string) {
  const reader = TraceReader.open(file);
  try {
    const events = [...reader.events()].length;
    return { index: reader.index, recovered: reader.recovered, events, result: replayTrace(reader) };
  } finally {
    reader.close();
  }
}

function openError(file: string): string | null {
  try {
    TraceReader.open(file).close();
    return null;
  } catch (error) {
    if (error instanceof TraceError) return error.message;
    throw error;
  }
}

let whole: Buffer;
let honest: TraceIndex;
/** The end of each chunk of the honest file (the index's chunks, then the index chunk). */
let ends: { kind: number; offset: number; end: number }[];

beforeAll(async () => {
  const file = join(dir, 'whole.myrtrace');
  await record(file);
  whole = readFileSync(file);
  const reader = TraceReader.open(file);
  honest = reader.index;
  reader.close();
  const indexAt = Number(whole.readBigUInt64LE(whole.length - 16));
  ends = [...honest.chunks, { kind: Chunk.INDEX, offset: indexAt }].map((c) => ({ kind: c.kind, offset: c.offset, end: c.offset + 5 + whole.readUInt32LE(c.offset + 1) }));
  expect(ends.filter((c) => c.kind === Chunk.EVENTS).length).toBeGreaterThan(5);
  expect(ends.filter((c) => c.kind === Chunk.SNAPSHOT).length).toBeGreaterThan(5);
});

/** The events in the whole chunks of the first `bytes` bytes of the honest file. */
function eventsWithin(bytes: number): number {
  return honest.chunks.filter((c, i) => c.kind === Chunk.EVENTS && ends[i]!.end <= bytes).reduce((n, c) => n + c.lastSeq - c.firstSeq + 1, 0);
}

describe('a trace that was never closed', () => {
  it('cut anywhere (in a chunk head, a chunk body, between chunks, in the trailer), it reads up to its last whole chunk and replays', () => {
    const cuts = new Set<number>();
    for (const [i, c] of ends.entries()) {
      if (c.offset === 12) continue; // before the header is whole: tested below
      cuts.add(c.offset); // between two chunks
      cuts.add(c.offset + [2, 5, Math.floor((c.end - c.offset) / 2), c.end - c.offset - 1][i % 4]!);
    }
    for (let k = 0; k < 16; k += 3) cuts.add(whole.length - 16 + k); // in the trailer
    let replayed = 0;
    for (const [n, cut] of [...cuts].sort((a, b) => a - b).entries()) {
      const file = join(dir, `cut-${cut}.myrtrace`);
      writeFileSync(file, whole.subarray(0, cut));
      const reader = TraceReader.open(file);
      const kept = ends.filter((c) => c.kind !== Chunk.INDEX && c.end <= cut).at(-1)!.end;
      const reason = cut >= whole.length - 16 ? /its trailer is cut short/ : /its index and trailer are missing/;
      expect(reader.recovered).toEqual({ reason: expect.stringMatching(reason), end: kept, dropped: cut - kept });
      expect(reader.index.events).toBe(eventsWithin(cut));
      expect([...reader.events()].length).toBe(eventsWithin(cut));
      // Replays are the slow part: every third cut, and each one past a snapshot chunk, which
      // the replay then holds the machine to (at the event after the last, as it was taken).
      const endsInSnapshot = ends.filter((c) => c.end <= cut && c.kind !== Chunk.INDEX).at(-1)!.kind === Chunk.SNAPSHOT;
      if (n % 3 === 0 || endsInSnapshot) {
        const result = replayTrace(reader);
        expect(result.divergence).toBeNull();
        expect(result.events).toBe(reader.index.events);
        replayed++;
      }
      reader.close();
    }
    expect(replayed).toBeGreaterThan(10);
  });

  it('a file without a whole header chunk, or empty, is an error that says so', () => {
    const header = ends[0]!;
    for (const [cut, message] of [
      [0, /too short for a trace \(0 bytes: a recording killed before its first chunk reached the disk leaves an empty file\)/],
      [12, /ends before its header chunk is complete/],
      [header.end - 1, /ends before its header chunk is complete/],
    ] as const) {
      const file = join(dir, `short-${cut}.myrtrace`);
      writeFileSync(file, whole.subarray(0, cut));
      expect(openError(file)).toMatch(message);
    }
  });

  it('an open writer: what is on disk after flush() reads and replays, while recording goes on', async () => {
    const file = join(dir, 'open.myrtrace');
    const writer = await record(file, false);
    writer.flush();
    const { recovered, index, events, result } = readAndReplay(file);
    expect(recovered).toMatchObject({ dropped: 0 });
    expect(index.events).toBe(writer.events);
    expect(events).toBe(writer.events);
    expect(result.divergence).toBeNull();
    expect(result.events).toBe(writer.events);
    writer.close();
    expect(readAndReplay(file).recovered).toBeNull();
  });

  it('damage is still refused: a length running past the end over whole chunks, an unknown chunk kind, bytes after the index that are not its trailer', () => {
    const events = ends.filter((c) => c.kind === Chunk.EVENTS);
    const cut = events[4]!.end;
    // The second events chunk claims to reach past the end of the (cut) file, over the chunks
    // after it: its body is whole inside the file, so this is no cut, but a damaged length.
    const longer = Buffer.from(whole.subarray(0, cut));
    longer.writeUInt32LE(cut, events[1]!.offset + 1);
    writeFileSync(join(dir, 'long-length.myrtrace'), longer);
    expect(openError(join(dir, 'long-length.myrtrace'))).toMatch(new RegExp(`byte ${events[1]!.offset}: .*(the length is damaged|does not decompress)`));

    const unknown = Buffer.from(whole.subarray(0, cut));
    unknown[events[2]!.offset] = 0x80 | 0x3f;
    writeFileSync(join(dir, 'unknown-kind.myrtrace'), unknown);
    expect(openError(join(dir, 'unknown-kind.myrtrace'))).toMatch(new RegExp(`byte ${events[2]!.offset}: unknown chunk kind 63`));

    const badTrailer = Buffer.from(whole);
    badTrailer[whole.length - 1] ^= 0xff; // "MYRTEND\0" no more
    writeFileSync(join(dir, 'bad-trailer.myrtrace'), badTrailer);
    expect(openError(join(dir, 'bad-trailer.myrtrace'))).toMatch(/what follows the index chunk is not its trailer/);

    const garbage = Buffer.concat([whole.subarray(0, cut), Buffer.from('not a chunk at all, just bytes')]);
    writeFileSync(join(dir, 'garbage.myrtrace'), garbage);
    expect(openError(join(dir, 'garbage.myrtrace'))).toMatch(new RegExp(`byte ${cut}: unknown chunk kind`));
  });
});

function cli(...args: string[]) {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build it with npx tsc -p tsconfig.build.json`);
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A `serve --usbredir 0 --record FILE` process, its output, and its port once it listens. */
async function serve(trace: string) {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build it with npx tsc -p tsconfig.build.json`);
  const child = spawn(process.execPath, [bin, 'serve', '--usbredir', '0', '--record', trace], { cwd: root });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const deadline = Date.now() + 10_000;
  let port: number | null = null;
  while (port === null) {
    if (Date.now() > deadline) throw new Error(`serve did not listen: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
    const match = /usbredir on 127\.0\.0\.1:(\d+)/.exec(out);
    if (match) port = Number(match[1]);
  }
  return { child, exited, port, output: () => out };
}

/** The whole chunks of events a trace being written holds so far (0 while it has none). */
function eventsChunksOnDisk(file: string): number {
  try {
    const reader = TraceReader.open(file);
    const n = reader.index.chunks.filter((c) => c.kind === Chunk.EVENTS).length;
    reader.close();
    return n;
  } catch {
    return 0;
  }
}

const GET_DEVICE_DESCRIPTOR = Buffer.from([0x80, 6, 0x80, 0, 0x00, 0x01, 0, 0, 18, 0]);

describe('myriad-emu serve --record, stopped by a signal', () => {
  it('SIGKILL: the trace reads up to its last whole chunk, replays, and replay says what is lost', async () => {
    const trace = join(dir, 'killed.myrtrace');
    const running = await serve(trace);
    const client = await UsbredirClient.open(running.port);
    await client.waitFor(() => client.device !== null);
    // Requests answered one batch at a time, until three events chunks are on disk.
    const deadline = Date.now() + 20_000;
    while (eventsChunksOnDisk(trace) < 3 && Date.now() < deadline) {
      await Promise.all(Array.from({ length: 200 }, () => client.request(100, GET_DEVICE_DESCRIPTOR).reply));
    }
    running.child.kill('SIGKILL');
    expect((await running.exited).signal).toBe('SIGKILL');
    client.close();
    const { recovered, index, result } = readAndReplay(trace);
    expect(recovered?.reason).toMatch(/its index and trailer are missing/);
    expect(index.chunks.filter((c) => c.kind === Chunk.EVENTS).length).toBeGreaterThanOrEqual(3);
    expect(index.events).toBeGreaterThan(1000);
    expect(result.divergence).toBeNull();
    expect(result.events).toBe(index.events);

    const r = cli('replay', trace);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`its index and trailer are missing: the recording was not closed (the recording process was killed or crashed)`);
    expect(r.out).toMatch(new RegExp(`it ends at event #${index.events - 1} \\(t=\\d+\\.\\d{6}s\\), the end of its last whole chunk; (the \\d+ bytes after byte \\d+ \\(what was being written when it stopped\\) are not read|nothing follows it)`));
    expect(r.out).toContain(`all ${index.events} events re-derived identically, up to where the trace ends`);
    expect(cli('stat', trace).out).toContain('its index and trailer are missing');
  }, 60_000);

  it('SIGKILL of a quiet session: what it recorded more than a second before is in the trace (serve flushes every second)', async () => {
    const trace = join(dir, 'quiet.myrtrace');
    const running = await serve(trace);
    const client = await UsbredirClient.open(running.port);
    await client.waitFor(() => client.device !== null);
    for (let i = 0; i < 5; i++) await client.request(100, GET_DEVICE_DESCRIPTOR).reply;
    // Far fewer events than fill a chunk: only the writer's flush puts them on disk.
    await new Promise((r) => setTimeout(r, 2500));
    running.child.kill('SIGKILL');
    await running.exited;
    client.close();
    const { recovered, index, result } = readAndReplay(trace);
    expect(recovered).not.toBeNull();
    const reader = TraceReader.open(trace);
    const controls = [...reader.events()].filter((e) => e.kind === 'usb.control.done' && e.length === 18).length;
    reader.close();
    expect(controls).toBeGreaterThanOrEqual(5);
    expect(index.events).toBeLessThan(20_000);
    expect(result.divergence).toBeNull();
  }, 30_000);

  it.each(['SIGTERM', 'SIGINT'] as const)('%s while a client floods it without reading: serve exits 0 and the trace is closed and replays', async (signal) => {
    const trace = join(dir, `flooded-${signal}.myrtrace`);
    const running = await serve(trace);
    const client = await UsbredirClient.open(running.port);
    await client.waitFor(() => client.device !== null);
    client.setReading(false);
    client.write(Buffer.concat(Array.from({ length: 50_000 }, (_, i) => client.encode(100, BigInt(i + 1), GET_DEVICE_DESCRIPTOR))));
    await new Promise((r) => setTimeout(r, 700));
    running.child.kill(signal);
    const timer = new Promise<null>((r) => setTimeout(() => r(null), 5000));
    const exit = await Promise.race([running.exited, timer]);
    if (exit === null) running.child.kill('SIGKILL');
    expect(exit).toEqual({ code: 0, signal: null });
    client.close();
    expect(running.output()).toMatch(/stopped; traces written/);
    const { recovered, index, result } = readAndReplay(trace);
    expect(recovered).toBeNull();
    expect(index.events).toBeGreaterThan(100);
    expect(result.divergence).toBeNull();
  }, 60_000);
});
