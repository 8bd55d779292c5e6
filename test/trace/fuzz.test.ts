/**
 * Mutation fuzzing of the trace reader: golden traces, mutated as bytes, and inside their chunks
 * as JSON (header, snapshot) or as binary records (events, blobs), must only ever give TraceErrors: no other exception, no hang, no memory growth.
 * A mutant that reads is also replayed, as `myriad-emu replay` would: its inputs (setup packets,
 * endpoints, lengths, payloads, times) may be anything, and the emulated stick must take them
 * as a real one would, so the replay ends in a result (a match or a divergence) or a TraceError.
 * FUZZ_TRACES sets the number of files (10 000 by default, which CI runs).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TraceError, TraceReader } from '../../emu/trace/format.js';
import { PcapWriter } from '../../emu/trace/pcap.js';
import { replayTrace } from '../../emu/trace/replay-trace.js';
import { tracesDir } from '../../emu/trace/golden.js';
import { buildTrace, encodeRecords, KIND, readChunks } from '../support/trace-builder.js';

const COUNT = Number(process.env.FUZZ_TRACES ?? 10_000);
const dir = mkdtempSync(join(tmpdir(), 'myriad-fuzz-'));

/** xorshift32: the same mutations on every run, so a failure can be reproduced by its number. */
function prng(seed: number) {
  let x = seed | 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  return { next, below: (n: number) => next() % n, pick: <T>(items: readonly T[]) => items[next() % items.length]! };
}

const NASTY = ['-1', '1e308', '4294967296', '9007199254740993', 'null', '"x"', '[]', '{}', 'true', '0.5', '""', `"${'f'.repeat(64)}"`];

function mutateBytes(source: Buffer, r: ReturnType<typeof prng>): Buffer {
  const out = Buffer.from(source);
  switch (r.below(5)) {
    case 0: // flip bits
      for (let i = 1 + r.below(4); i > 0; i--) out[r.below(out.length)]! ^= 1 << r.below(8);
      return out;
    case 1: // truncate
      return out.subarray(0, r.below(out.length));
    case 2: {
      // overwrite a length-like word with something large
      const at = r.below(out.length - 4);
      out.writeUInt32LE(r.pick([0, 1, 0x7fffffff, 0xffffffff, out.length, r.next()]), at);
      return out;
    }
    case 3: {
      // duplicate a slice somewhere else
      const from = r.below(out.length);
      const length = r.below(256);
      const at = r.below(out.length);
      return Buffer.concat([out.subarray(0, at), out.subarray(from, from + length), out.subarray(at)]);
    }
    default: {
      // delete a slice
      const at = r.below(out.length);
      return Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + r.below(64))]);
    }
  }
}

/** Mutates the inside of one chunk and rebuilds a well-formed container around it. */
function mutateChunk(source: Buffer, r: ReturnType<typeof prng>): Buffer {
  const chunks = readChunks(source);
  const chunk = r.pick(chunks);
  if (chunk.raw) {
    // A blobs chunk is binary: change a byte, a length or a hash inside it.
    const at = r.below(chunk.raw.length);
    chunk.raw[at] = r.below(256);
    if (r.below(4) === 0 && chunk.raw.length >= 36) chunk.raw.writeUInt32LE(r.pick([0, 1, 0xffffffff, chunk.raw.length, r.next()]), 32);
    return buildTrace(chunks);
  }
  if (chunk.kind === KIND.events) {
    // Binary records: bytes changed (kind codes, varints, tags, string references), inserted,
    // deleted, or the body cut short.
    let raw = encodeRecords(chunk.lines);
    const at = r.below(raw.length);
    switch (r.below(4)) {
      case 0:
        for (let i = 1 + r.below(3); i > 0; i--) raw[r.below(raw.length)] = r.pick([0, 1, 2, 0x7f, 0x80, 0xff, r.below(256)]);
        break;
      case 1:
        raw = Buffer.concat([raw.subarray(0, at), Buffer.from([r.below(256), r.below(256)].slice(0, 1 + r.below(2))), raw.subarray(at)]);
        break;
      case 2:
        raw = Buffer.concat([raw.subarray(0, at), raw.subarray(at + 1 + r.below(8))]);
        break;
      default:
        raw = raw.subarray(0, at);
    }
    chunk.raw = raw;
    return buildTrace(chunks);
  }
  const line = r.below(chunk.lines.length);
  let text = chunk.lines[line]!;
  switch (r.below(4)) {
    case 0: {
      // a value replaced by a nasty one
      const values = [...text.matchAll(/:(-?\d+(\.\d+)?|"[^"]*"|null|true|false)/g)];
      if (values.length > 0) {
        const m = r.pick(values);
        text = text.slice(0, m.index! + 1) + r.pick(NASTY) + text.slice(m.index! + m[0].length);
      }
      break;
    }
    case 1: {
      // a key dropped
      const keys = [...text.matchAll(/"(\w+|\$\w+)":/g)];
      if (keys.length > 0) {
        const m = r.pick(keys);
        text = text.replace(m[0], `"${m[1]}_gone":`);
      }
      break;
    }
    case 2: // a character changed
      if (text.length > 0) {
        const at = r.below(text.length);
        text = text.slice(0, at) + String.fromCharCode(32 + r.below(95)) + text.slice(at + 1);
      }
      break;
    default: // lines swapped or duplicated
      chunk.lines.splice(r.below(chunk.lines.length + 1), 0, chunk.lines[r.below(chunk.lines.length)]!);
      break;
  }
  chunk.lines[line] = text;
  // Half the time the index is rebuilt to agree with the damage, half the time it is stale.
  if (r.below(2) === 0) return buildTrace(chunks);
  const rebuilt = buildTrace(chunks);
  const original = readChunks(source);
  return original.length === chunks.length ? rebuilt : Buffer.concat([rebuilt.subarray(0, rebuilt.length - 16), source.subarray(source.length - 16)]);
}

/**
 * Everything the tools do with a trace: index, every event, every snapshot, the pcap, then a
 * replay. Returns how the replay ended.
 */
function readEverything(path: string): 'replayed' | 'diverged' {
  const reader = TraceReader.open(path);
  try {
    const pcap = new PcapWriter(() => {});
    for (const event of reader.events()) pcap.event(event);
    for (const c of reader.index.chunks) reader.snapshotAtOrBefore(c.firstSeq);
    return replayTrace(reader).ok ? 'replayed' : 'diverged';
  } finally {
    reader.close();
  }
}

describe('trace tools under mutation', () => {
  it(`${COUNT} mutated golden traces read and replay to a result or a TraceError, nothing else`, () => {
    const sources = ['malformed-image.myrtrace', 'boot-ma2450.myrtrace', 'xlink-ma2485.myrtrace'].map((f) => readFileSync(join(tracesDir(), f)));
    const path = join(dir, 'mutant.myrtrace');
    const r = prng(0x5eed);
    const outcomes = new Map<string, number>();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    for (let i = 0; i < COUNT; i++) {
      // The small trace most of the time: it is the cheapest to read whole.
      const source = sources[r.below(10) < 7 ? 0 : 1 + r.below(2)]!;
      const mutant = r.below(2) === 0 ? mutateBytes(source, r) : mutateChunk(source, r);
      writeFileSync(path, mutant);
      try {
        const ending = readEverything(path);
        outcomes.set(ending, (outcomes.get(ending) ?? 0) + 1);
      } catch (error) {
        if (!(error instanceof TraceError)) {
          writeFileSync(join(dir, `crash-${i}.myrtrace`), mutant);
          throw new Error(`mutant ${i} (kept in ${dir}) threw ${(error as Error)?.stack ?? String(error)}`);
        }
        expect(error.message).toMatch(/: byte \d+: /);
        const reason = error.message.replace(/^.*?: byte \d+: /, '').replace(/[\d.]+|[0-9a-f]{16}/g, 'N').slice(0, 50);
        outcomes.set(reason, (outcomes.get(reason) ?? 0) + 1);
      }
      if (i % 500 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }
    // The mutations reach past the container into events, blobs and snapshots, and some
    // mutants get as far as a replay that diverges.
    expect(outcomes.size).toBeGreaterThan(15);
    expect(outcomes.get('diverged')).toBeGreaterThan(COUNT / 100);
    expect(rssPeak - rssBefore).toBeLessThan(256 << 20);
  });
});
