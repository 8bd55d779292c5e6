import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { canonicalJson, describeEvent } from '../../emu/events/canonical.js';
import { main } from '../../emu/cli/main.js';
import { GOLDEN, malformedImage, recordArgs, tracesDir } from '../../emu/trace/golden.js';
import { TraceReader } from '../../emu/trace/format.js';
import { replayTrace } from '../../emu/trace/replay-trace.js';
import { describeState } from '../../emu/machine/replay.js';

const dir = mkdtempSync(join(tmpdir(), 'myriad-golden-'));
const sink = () => new Writable({ write: (_chunk, _encoding, done) => done() });

async function recordAfresh(golden: (typeof GOLDEN)[number], file: string): Promise<number> {
  const out = sink();
  return main(recordArgs(golden, file), out as unknown as typeof process.stdout, sink() as unknown as typeof process.stderr);
}

/** The first event where two traces differ, in words, or null. */
function firstDifference(goldenPath: string, freshPath: string): string | null {
  const golden = TraceReader.open(goldenPath);
  const fresh = TraceReader.open(freshPath);
  try {
    const a = golden.events();
    const b = fresh.events();
    for (;;) {
      const x = a.next();
      const y = b.next();
      if (x.done && y.done) return null;
      if (x.done || y.done || canonicalJson(x.value) !== canonicalJson(y.value)) {
        return `golden: ${x.done ? '(ended)' : describeEvent(x.value)}\nfresh:  ${y.done ? '(ended)' : describeEvent(y.value)}`;
      }
    }
  } finally {
    golden.close();
    fresh.close();
  }
}

describe('golden traces (traces/, made by npm run traces)', () => {
  it('the malformed image in traces/ is the one golden.ts describes', () => {
    expect(Buffer.from(readFileSync(join(tracesDir(), 'malformed-image.mvcmd'))).equals(Buffer.from(malformedImage()))).toBe(true);
  });

  it.each(GOLDEN.map((g) => [g.file, g] as const))('%s replays: every event re-derived identically', (_file, golden) => {
    const reader = TraceReader.open(join(tracesDir(), golden.file));
    const result = replayTrace(reader);
    reader.close();
    const d = result.divergence;
    const report = d
      ? `the emulator no longer does what ${golden.file} recorded (${golden.what}). First difference, event #${d.seq}:\n` +
        `  expected ${d.expected ? describeEvent(d.expected) : '(nothing)'}\n  actual   ${d.actual ? describeEvent(d.actual) : '(nothing)'}\n` +
        `  ${describeState(result.stick)}\nIf the change is intended, run 'npm run traces' and say why in the commit.`
      : null;
    expect(report).toBeNull();
    expect(result.events).toBe(reader.index.events);
  });

  it.each(GOLDEN.map((g) => [g.file, g] as const))('%s: a trace recorded now holds the same events, and replays', async (_file, golden) => {
    const fresh = join(dir, golden.file);
    expect(await recordAfresh(golden, fresh)).toBe(golden.exit);
    expect(firstDifference(join(tracesDir(), golden.file), fresh)).toBeNull();
    const reader = TraceReader.open(fresh);
    expect(replayTrace(reader).divergence).toBeNull();
    reader.close();
  });

  it('recording is deterministic: the same run twice gives byte-identical files', async () => {
    const golden = GOLDEN.find((g) => g.file.startsWith('xlink'))!;
    const a = join(dir, 'a.myrtrace');
    const b = join(dir, 'b.myrtrace');
    await recordAfresh(golden, a);
    await recordAfresh(golden, b);
    expect(Buffer.compare(readFileSync(a), readFileSync(b))).toBe(0);
  });

  it('the boot traces are at most the image size plus 10%', () => {
    for (const golden of GOLDEN.filter((g) => g.file.startsWith('boot-'))) {
      const reader = TraceReader.open(join(tracesDir(), golden.file));
      const image = reader.header.images[0]!;
      expect(reader.size).toBeLessThanOrEqual(image.bytes * 1.1);
      reader.close();
    }
  });
});
