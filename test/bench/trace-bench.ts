/**
 * The trace benchmarks (test/bench/run.ts runs this as a process of its own): recording
 * overhead on boot-and-echo, replay speed, the size of a boot trace, seek in a 1 M-event trace.
 * benny's output goes to stderr; the last line of stdout is the summary rows as JSON.
 */
import b from 'benny';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TraceReader } from '../../emu/trace/format.js';
import { replayTrace } from '../../emu/trace/replay-trace.js';
import { bootAndEcho, firmware, longTrace } from './trace-scenarios.js';
import { folder, root, suite, type Summary } from './suite.js';

const summary: Summary[] = [];
// benny reports to stdout; the rows must be the last line there.
console.log = (...args: unknown[]) => process.stderr.write(args.join(' ') + '\n');

const scratch = mkdtempSync(join(tmpdir(), 'myriad-bench-trace-'));
const recorded = join(scratch, 'boot-echo.myrtrace');
await bootAndEcho(recorded);
// A recording writes a new file (deleted after the timing): overwriting one file each run
// would time the file system truncating it, which is not the recorder's cost.
let runs = 0;
const freshTrace = () => join(scratch, `run-${runs++}.myrtrace`);
const [plain, recording, replaying] = await suite(
  'trace',
  b.add('boot and 16 XLink echoes of 64 KiB, not recorded', () => bootAndEcho(null)),
  b.add('boot and 16 XLink echoes of 64 KiB, recorded', () => bootAndEcho(freshTrace())),
  b.add('replay of that trace (verifying every event)', () => {
    const reader = TraceReader.open(recorded);
    const result = replayTrace(reader);
    reader.close();
    if (!result.ok) throw new Error('the benchmark trace diverged');
  }),
);
const saved = JSON.parse(readFileSync(join(folder, 'trace.json'), 'utf8')) as { results: { details?: { median: number } }[] };
const med = (i: number, ops: number) => (saved.results[i]?.details?.median ?? 1 / ops) * 1000;
const [plainMs, recordMs, replayMs] = [med(0, plain!.ops), med(1, recording!.ops), med(2, replaying!.ops)];
// benny runs each case in its own batch; runs that alternate (A, B, A, B...) see the same JIT
// and heap state and show more of the cost. The target is judged on both. The alternating
// measure varies more from process to process (JIT decisions, heap layout: the same code
// measured 14 to 18 % in five processes) than within one, so it is the median over PROCESSES
// processes, each giving the median per-pair ratio of PAIRS pairs (trace-pairs.ts says why).
const [PROCESSES, PAIRS] = [5, 150];
const processes = Array.from({ length: PROCESSES }, () => {
  const out = execFileSync(process.execPath, [join(root, 'dist', 'test', 'bench', 'trace-pairs.js'), String(PAIRS)], { encoding: 'utf8' });
  const { plain, recorded, ratio } = JSON.parse(out) as { plain: number; recorded: number; ratio: number };
  return { plain, recorded, overhead: (ratio - 1) * 100 };
}).sort((x, y) => x.overhead - y.overhead);
const typical = processes[PROCESSES >> 1]!;
const overhead = (recordMs / plainMs - 1) * 100;
summary.push({ name: 'recording overhead, boot + 16 XLink echoes of 64 KiB (benny medians)', value: overhead, unit: `% (${plainMs.toFixed(1)} -> ${recordMs.toFixed(1)} ms)`, target: '<= 15', pass: overhead <= 15 });
summary.push({ name: `recording overhead, same scenario, alternating (per-pair ratios: median of ${PROCESSES} processes of ${PAIRS} pairs)`, value: typical.overhead, unit: `% (${typical.plain.toFixed(1)} -> ${typical.recorded.toFixed(1)} ms; processes ${processes.map((p) => p.overhead.toFixed(1)).join(', ')} %)`, target: '<= 15', pass: typical.overhead <= 15 });
summary.push({ name: 'replay of that trace vs recording it (median wall)', value: replayMs, unit: `ms vs ${recordMs.toFixed(1)} ms`, target: '<= recording', pass: replayMs <= recordMs });

const boot = join(scratch, 'boot.myrtrace');
execFileSync(process.execPath, [join(root, 'dist', 'emu', 'cli', 'bin.js'), 'record', boot, join(root, 'firmware-stubs', 'vsc', 'vsc-ma2485.mvcmd')], { stdio: 'ignore' });
const bootBytes = statSync(boot).size;
summary.push({ name: `trace of a boot of the open firmware (${firmware.length}-byte image)`, value: (bootBytes / firmware.length) * 100, unit: `% of the image (${bootBytes} bytes)`, target: '<= 110', pass: bootBytes <= firmware.length * 1.1 });

const long = join(scratch, 'long.myrtrace');
const t0 = performance.now();
await longTrace(long, 1_000_000);
const recordSeconds = (performance.now() - t0) / 1000;
const reader = TraceReader.open(long);
const half = Math.floor(reader.index.events / 2);
const seeks: number[] = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  const result = replayTrace(reader, { near: half, until: half });
  if (!result.ok) throw new Error('seek diverged');
  seeks.push(performance.now() - t);
}
const seekMs = seeks.sort((x, y) => x - y)[2]!;
summary.push({ name: `seek to the middle of a ${reader.index.events}-event trace (${(reader.size / 1e6).toFixed(1)} MB, recorded in ${recordSeconds.toFixed(1)} s; median of 5)`, value: seekMs, unit: 'ms', target: '<= 1000', pass: seekMs <= 1000 });
reader.close();
rmSync(scratch, { recursive: true, force: true });

process.stdout.write(`\n${JSON.stringify(summary)}\n`);
