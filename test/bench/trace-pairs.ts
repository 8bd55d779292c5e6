/**
 * One process of the paired trace measures (trace-bench.ts runs several). Pairs of boot-and-echo
 * runs after a warm-up: `overhead` pairs a plain run with a recorded one; `replay` pairs a
 * recorded run with a replay of a trace recorded before the pairs. Prints as JSON the median
 * times (ms) of the two and the median of the per-pair ratios (second named / first named).
 *
 * Why per-pair ratios: the two runs of a pair see the machine in the same state, so their ratio
 * cancels phases in which the whole host is slower (its other tenants), which a ratio of two
 * medians taken minutes apart does not. Why the order inside a pair alternates: with two plain
 * runs, the second measured 1.5 to 3.5 % faster than the first, a bias that would otherwise
 * count for or against one of them. Why one kind of pair per process: a run right after an
 * identical one is faster than a run after anything else. A plain run took 10 to 35 % longer
 * after a replay, after 6 ms of unrelated computation, or after 6 ms idle, than after another
 * plain run: nothing is left behind by a replay as such. Replays mixed into the overhead
 * process had slowed the plain runs that followed them, which flattered the recording
 * overhead. Each recorded run writes a new file, deleted after its timing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootAndEcho, replayVerified } from './trace-scenarios.js';

type Run = 'plain' | 'recorded' | 'replay';
const PAIRS: Record<string, readonly [Run, Run]> = { overhead: ['plain', 'recorded'], replay: ['recorded', 'replay'] };
const pair = PAIRS[process.argv[2] ?? ''];
if (!pair) throw new Error(`usage: trace-pairs.js ${Object.keys(PAIRS).join('|')} [pairs] [warm-up pairs]`);
const [count, warmUp] = [Number(process.argv[3] ?? 100), Number(process.argv[4] ?? 20)];
const scratch = mkdtempSync(join(tmpdir(), 'myriad-bench-pairs-'));
const replayed = join(scratch, 'replayed.myrtrace');
await bootAndEcho(replayed);

async function time(run: Run, trace: string): Promise<number> {
  const start = performance.now();
  if (run === 'replay') replayVerified(replayed);
  else await bootAndEcho(run === 'recorded' ? trace : null);
  return performance.now() - start;
}

const [first, second] = pair;
const times = { first: [] as number[], second: [] as number[], ratio: [] as number[] };
for (let i = 0; i < warmUp + count; i++) {
  const trace = join(scratch, `run-${i}.myrtrace`);
  const taken = { [first]: 0, [second]: 0 } as Record<Run, number>;
  for (const run of i % 2 === 0 ? [first, second] : [second, first]) taken[run] = await time(run, trace);
  rmSync(trace, { force: true });
  if (i < warmUp) continue;
  times.first.push(taken[first]);
  times.second.push(taken[second]);
  times.ratio.push(taken[second] / taken[first]);
}
rmSync(scratch, { recursive: true, force: true });
const median = (xs: number[]) => xs.sort((x, y) => x - y)[xs.length >> 1]!;
process.stdout.write(`${JSON.stringify({ [first]: median(times.first), [second]: median(times.second), ratio: median(times.ratio) })}\n`);
