/**
 * One process of the alternating recording-overhead measure (trace-bench.ts runs several):
 * boot-and-echo runs in pairs, one plain and one recorded, after a warm-up. Prints as JSON the
 * median of the per-pair ratios (recorded / plain), and the median times (ms). The two runs of a
 * pair see the machine in the same state, so the per-pair ratio cancels phases in which the whole
 * machine is slower (other tenants of the host), which a ratio of two medians does not. The order
 * inside a pair alternates: with two plain runs, the second of a pair measured 1.5 to 3.5 % faster
 * than the first, a bias that would otherwise count for or against recording. Each recorded run
 * writes a new file, deleted after its timing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootAndEcho } from './trace-scenarios.js';

const [pairs, warmUp] = [Number(process.argv[2] ?? 100), Number(process.argv[3] ?? 20)];
const scratch = mkdtempSync(join(tmpdir(), 'myriad-bench-pairs-'));
const times = { plain: [] as number[], recorded: [] as number[], ratio: [] as number[] };
async function timed(trace: string | null): Promise<number> {
  const start = performance.now();
  await bootAndEcho(trace);
  return performance.now() - start;
}
for (let i = 0; i < warmUp + pairs; i++) {
  const trace = join(scratch, `run-${i}.myrtrace`);
  let plain: number;
  let recorded: number;
  if (i % 2 === 0) {
    plain = await timed(null);
    recorded = await timed(trace);
  } else {
    recorded = await timed(trace);
    plain = await timed(null);
  }
  rmSync(trace);
  if (i < warmUp) continue;
  times.plain.push(plain);
  times.recorded.push(recorded);
  times.ratio.push(recorded / plain);
}
rmSync(scratch, { recursive: true, force: true });
const median = (xs: number[]) => xs.sort((x, y) => x - y)[xs.length >> 1]!;
process.stdout.write(`${JSON.stringify({ plain: median(times.plain), recorded: median(times.recorded), ratio: median(times.ratio) })}\n`);
