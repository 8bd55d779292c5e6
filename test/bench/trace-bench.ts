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
import { bootAndEcho, firmware, longTrace, replayVerified } from './trace-scenarios.js';
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
  b.add('replay of that trace (verifying every event)', () => replayVerified(recorded)),
);
const saved = JSON.parse(readFileSync(join(folder, 'trace.json'), 'utf8')) as { results: { details?: { median: number } }[] };
const med = (i: number, ops: number) => (saved.results[i]?.details?.median ?? 1 / ops) * 1000;
const [plainMs, recordMs, replayMs] = [med(0, plain!.ops), med(1, recording!.ops), med(2, replaying!.ops)];
// benny runs each case in its own batch, minutes apart: the host's slow phases moved the ratio
// of its medians from 10 to 32 % in identical runs. So the targets are judged on pairs of runs
// whose ratio is taken inside each pair (trace-pairs.ts says why), in PROCESSES processes of
// PAIRS pairs, since JIT decisions and heap layout move one process's figure by 3 to 4 points.
// benny's medians are shown for information.
const [PROCESSES, PAIRS] = [5, 150];
function pairs(kind: 'overhead' | 'replay') {
  const runs = Array.from({ length: PROCESSES }, () => {
    const out = execFileSync(process.execPath, [join(root, 'dist', 'test', 'bench', 'trace-pairs.js'), kind, String(PAIRS)], { encoding: 'utf8' });
    return JSON.parse(out) as { plain?: number; recorded: number; replay?: number; ratio: number };
  }).sort((x, y) => x.ratio - y.ratio);
  return { typical: runs[PROCESSES >> 1]!, all: runs.map((r) => r.ratio) };
}
const recordingPairs = pairs('overhead');
const replayPairs = pairs('replay');
const overhead = (recordingPairs.typical.ratio - 1) * 100;
summary.push({ name: 'recording overhead, boot + 16 XLink echoes of 64 KiB (benny medians)', value: (recordMs / plainMs - 1) * 100, unit: `% (${plainMs.toFixed(1)} -> ${recordMs.toFixed(1)} ms)`, target: '(information)', pass: null });
summary.push({ name: `recording overhead, same scenario, per-pair ratios (median of ${PROCESSES} processes of ${PAIRS} pairs)`, value: overhead, unit: `% (${recordingPairs.typical.plain!.toFixed(1)} -> ${recordingPairs.typical.recorded.toFixed(1)} ms; processes ${recordingPairs.all.map((r) => ((r - 1) * 100).toFixed(1)).join(', ')} %)`, target: '<= 15', pass: overhead <= 15 });
summary.push({ name: 'replay of that trace vs recording it (benny medians)', value: replayMs, unit: `ms vs ${recordMs.toFixed(1)} ms`, target: '(information)', pass: null });
summary.push({ name: `replay of that trace / recording it, per-pair ratios (median of ${PROCESSES} processes of ${PAIRS} pairs)`, value: replayPairs.typical.ratio, unit: `(${replayPairs.typical.replay!.toFixed(1)} vs ${replayPairs.typical.recorded.toFixed(1)} ms; processes ${replayPairs.all.map((r) => r.toFixed(2)).join(', ')})`, target: '<= 1', pass: replayPairs.typical.ratio <= 1 });

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
