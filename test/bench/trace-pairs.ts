/**
 * One process of the alternating recording-overhead measure (trace-bench.ts runs several):
 * boot-and-echo runs, plain and recorded in turn, after a warm-up. Prints the two medians (ms)
 * as JSON. Each recorded run writes a new file, deleted after its timing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootAndEcho } from './trace-scenarios.js';

const [pairs, warmUp] = [Number(process.argv[2] ?? 100), Number(process.argv[3] ?? 20)];
const scratch = mkdtempSync(join(tmpdir(), 'myriad-bench-pairs-'));
const times = { plain: [] as number[], recorded: [] as number[] };
for (let i = 0; i < warmUp + pairs; i++) {
  let t = performance.now();
  await bootAndEcho(null);
  const plain = performance.now() - t;
  const trace = join(scratch, `run-${i}.myrtrace`);
  t = performance.now();
  await bootAndEcho(trace);
  const recorded = performance.now() - t;
  rmSync(trace);
  if (i < warmUp) continue;
  times.plain.push(plain);
  times.recorded.push(recorded);
}
rmSync(scratch, { recursive: true, force: true });
const median = (xs: number[]) => xs.sort((x, y) => x - y)[xs.length >> 1]!;
process.stdout.write(`${JSON.stringify({ plain: median(times.plain), recorded: median(times.recorded) })}\n`);
