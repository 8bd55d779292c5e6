/**
 * The trace index is a claim, not a fact: a reader holds it against itself when the trace is
 * opened (events chunks in seq order without gaps, each running forwards; totals and end time
 * what the chunks add up to; snapshots single moments inside the events), and each chunk against
 * its entry when the chunk is read. Anything else is a TraceError naming the byte, so that
 * `log --from` never silently skips events and `seek` never blames the command line for the
 * file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { tracesDir } from '../../emu/trace/golden.js';
import { Chunk, TraceError, TraceReader, TraceWriter } from '../../emu/trace/format.js';
import { replayTrace } from '../../emu/trace/replay-trace.js';
import { buildTrace, KIND, readChunks, type RawChunk } from '../support/trace-builder.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'dist/emu/cli/bin.js');
const dir = mkdtempSync(join(tmpdir(), 'myriad-index-'));

interface Entry {
  kind: number;
  offset: number;
  firstSeq: number;
  lastSeq: number;
  firstT: number;
  lastT: number;
}
type Index = Record<string, unknown> & { chunks: Entry[]; events: number; endT: number };

let chunks: RawChunk[];
/** The index the builder derives for `chunks`, which the reader accepts. */
let honest: Index;

/** A trace of `chunks` with the index `change` makes of the honest one. */
function withIndex(name: string, change: (index: Index) => void): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    buildTrace(chunks, {
      index: (i) => {
        const index = structuredClone(i) as Index;
        change(index);
        return index;
      },
    }),
  );
  return path;
}

/** The TraceError that opening `path` and reading it (events from `from`, every snapshot) gives. */
function failure(path: string, from = 0): TraceError | null {
  try {
    const reader = TraceReader.open(path);
    try {
      for (const _ of reader.events(from));
      for (const c of reader.index.chunks) if (c.kind === Chunk.SNAPSHOT) reader.snapshotAtOrBefore(c.firstSeq);
    } finally {
      reader.close();
    }
  } catch (error) {
    expect(error).toBeInstanceOf(TraceError);
    return error as TraceError;
  }
  return null;
}

const eventsChunks = (index: Index) => index.chunks.filter((c) => c.kind === KIND.events);
const indexOffset = (path: string) => {
  const bytes = readFileSync(path);
  return bytes.readUInt32LE(bytes.length - 16);
};

function cli(...args: string[]) {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: 'npm test' builds it (npm run build)`);
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  // The golden XLink trace replayed into a writer that takes a snapshot every 40 events: several
  // events chunks, with snapshots between them.
  const source = TraceReader.open(join(tracesDir(), 'xlink-ma2485.myrtrace'));
  const file = join(dir, 'chunked.myrtrace');
  const writer = new TraceWriter(file, { emulator: 'test', snapshotEvery: 40 });
  let attached = false;
  const result = replayTrace(source, {
    onInput: (_event, stick) => {
      if (attached) return;
      writer.attach(stick);
      attached = true;
    },
  });
  writer.close();
  source.close();
  expect(result.ok).toBe(true);
  chunks = readChunks(readFileSync(file));
  buildTrace(chunks, {
    index: (i) => {
      honest = structuredClone(i) as Index;
      return i;
    },
  });
  expect(eventsChunks(honest).length).toBeGreaterThanOrEqual(3);
  expect(honest.chunks.filter((c) => c.kind === KIND.snapshot).length).toBeGreaterThanOrEqual(2);
  expect(failure(withIndex('honest.myrtrace', () => {}))).toBeNull();
});

describe('the index is checked against itself when a trace is opened', () => {
  it.each([
    ['2^53-1 events', (i: Index) => void (i.events = Number.MAX_SAFE_INTEGER), /the index claims 9007199254740991 events, but its events chunks hold \d+/],
    ['0 events', (i: Index) => void (i.events = 0), /the index claims 0 events, but its events chunks hold \d+/],
    ['one event too many', (i: Index) => void (i.events += 1), /the index claims \d+ events, but its events chunks hold \d+/],
    ['2^53 events', (i: Index) => void (i.events = 2 ** 53), /the index claims 9007199254740992 events, not a whole number up to 2\^53/],
    ['an end time of 1e308', (i: Index) => void (i.endT = 1e308), /the index says the trace ends at t 1e\+308, not a whole number of nanoseconds/],
    ['an end time 1 ns late', (i: Index) => void (i.endT += 1), /the index says the trace ends at t \d+ ns, but its last event is at t \d+ ns/],
    ['a fractional time', (i: Index) => void (eventsChunks(i)[1]!.lastT += 0.5), /the index lists a bad chunk/],
    [
      'a chunk whose first seq is after its last',
      (i: Index) => {
        const c = eventsChunks(i)[1]!;
        c.firstSeq = c.lastSeq + 1;
      },
      /the index gives the events chunk at byte \d+ events \d+ to \d+ .*: it runs backwards/,
    ],
    [
      'a chunk whose first time is after its last',
      (i: Index) => {
        const c = eventsChunks(i)[1]!;
        c.firstT = c.lastT + 1;
      },
      /: it runs backwards/,
    ],
    ['a gap between chunks', (i: Index) => void (eventsChunks(i)[2]!.firstSeq += 1), /begin at event \d+, but the chunk before it ends at event \d+/],
    ['chunks that overlap', (i: Index) => void (eventsChunks(i)[2]!.firstSeq -= 1), /begin at event \d+, but the chunk before it ends at event \d+/],
    ['a chunk that goes back in time', (i: Index) => void (eventsChunks(i)[2]!.firstT = 0), /begin at t 0 ns, before the chunk before it ends/],
    [
      'a snapshot that spans events',
      (i: Index) => void (i.chunks.find((c) => c.kind === KIND.snapshot)!.lastSeq += 1),
      /the index gives the snapshot at byte \d+ events \d+ to \d+ .*, not one event and time/,
    ],
    [
      'a snapshot past the last event',
      (i: Index) => {
        const s = i.chunks.find((c) => c.kind === KIND.snapshot)!;
        s.firstSeq = s.lastSeq = 1e6;
      },
      /the index puts the snapshot at byte \d+ at event 1000000, outside the trace's events 0 to \d+/,
    ],
  ])('%s: a TraceError at the index', (name, change, message) => {
    const path = withIndex(`index-${name.replace(/\W+/g, '-')}.myrtrace`, change);
    const error = failure(path);
    expect(error?.message).toMatch(message);
    expect(error?.offset).toBe(indexOffset(path));
    expect(error?.message).toContain(`: byte ${indexOffset(path)}: `);
  });
});

describe('each chunk is held to its index entry when it is read', () => {
  /** The index with the boundary between events chunks 1 and 2 moved one event back. */
  const shifted = (i: Index) => {
    const [, a, b] = eventsChunks(i);
    a!.lastSeq -= 1;
    b!.firstSeq -= 1;
  };

  it('a chunk that holds more events than its entry says', () => {
    const path = withIndex('shifted.myrtrace', shifted);
    const entry = eventsChunks(honest)[1]!;
    const error = failure(path);
    expect(error?.offset).toBe(entry.offset);
    expect(error?.message).toMatch(new RegExp(`the chunk holds event ${entry.lastSeq}, past event ${entry.lastSeq - 1} where the index says it ends`));
  });

  it('reading from an event in that chunk: the next chunk does not begin where the index says, no event is skipped silently', () => {
    const path = withIndex('shifted-from.myrtrace', shifted);
    const next = eventsChunks(honest)[2]!;
    // The index sends `--from` the moved event to the next chunk, which does not hold it.
    const error = failure(path, next.firstSeq - 1);
    expect(error?.offset).toBe(next.offset);
    expect(error?.message).toMatch(new RegExp(`the chunk begins with event ${next.firstSeq} at t \\d+ ns; the index says event ${next.firstSeq - 1}`));
  });

  it('a chunk that ends before its entry says, and one whose last time is not its entry’s', () => {
    const last = eventsChunks(honest).at(-1)!;
    const short = withIndex('short.myrtrace', (i) => {
      eventsChunks(i).at(-1)!.lastSeq += 1;
      i.events += 1;
    });
    expect(failure(short)?.message).toMatch(new RegExp(`byte ${last.offset}: the chunk holds events up to ${last.lastSeq} at t ${last.lastT} ns; the index says it ends with event ${last.lastSeq + 1}`));
    const first = eventsChunks(honest)[0]!;
    expect(first.lastT).toBeGreaterThan(first.firstT);
    const early = withIndex('early.myrtrace', (i) => void (eventsChunks(i)[0]!.lastT -= 1)); // still in order
    expect(failure(early)?.message).toMatch(new RegExp(`byte ${first.offset}: the chunk holds events up to ${first.lastSeq} at t ${first.lastT} ns; the index says it ends with event ${first.lastSeq} at t ${first.lastT - 1} ns`));
  });

  it('a snapshot whose entry names another event than the snapshot holds', () => {
    const snapshots = honest.chunks.filter((c) => c.kind === KIND.snapshot);
    const [a, b] = snapshots;
    const path = withIndex('snapshot-seq.myrtrace', (i) => {
      const s = i.chunks.find((c) => c.offset === a!.offset)!;
      // Still one moment inside the events, and still before the next snapshot.
      s.firstSeq = s.lastSeq = a!.firstSeq + 1;
    });
    const error = failure(path);
    expect(b!.firstSeq).toBeGreaterThan(a!.firstSeq + 1);
    expect(error?.offset).toBe(a!.offset);
    expect(error?.message).toMatch(new RegExp(`the snapshot is of event ${a!.firstSeq} at t ${a!.firstT} ns; the index says event ${a!.firstSeq + 1}`));
  });
});

describe('the trace commands on a lying index', () => {
  it('log --from exits 3 naming the chunk instead of dropping events; seek blames the file, not the command line', () => {
    const next = eventsChunks(honest)[2]!;
    const shifted = withIndex('cli-shifted.myrtrace', (i) => {
      const [, a, b] = eventsChunks(i);
      a!.lastSeq -= 1;
      b!.firstSeq -= 1;
    });
    expect(cli('log', shifted, '--from', String(next.firstSeq - 1))).toMatchObject({ code: 3, err: expect.stringContaining(`byte ${next.offset}: the chunk begins with event ${next.firstSeq}`) });
    const none = withIndex('cli-none.myrtrace', (i) => void (i.events = 0));
    expect(cli('seek', none, '5')).toMatchObject({ code: 3, err: expect.stringMatching(/byte \d+: the index claims 0 events/) });
    expect(cli('replay', none)).toMatchObject({ code: 3, err: expect.stringMatching(/byte \d+: the index claims 0 events/) });
    const backwards = withIndex('cli-backwards.myrtrace', (i) => {
      const c = eventsChunks(i)[1]!;
      c.firstSeq = c.lastSeq + 1;
    });
    expect(cli('log', backwards, '--from', '0')).toMatchObject({ code: 3, err: expect.stringContaining('runs backwards') });
    // The honest trace: an event past its end is the command line's mistake.
    const honestPath = withIndex('cli-honest.myrtrace', () => {});
    const last = eventsChunks(honest).at(-1)!.lastSeq;
    expect(cli('seek', honestPath, String(last + 1))).toMatchObject({ code: 2, err: expect.stringContaining(`holds events 0 to ${last}; there is no event ${last + 1}`) });
  });
});
