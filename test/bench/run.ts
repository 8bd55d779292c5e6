/**
 * The benchmarks of the foundation (benny). Results: test/bench/results/*.json (benny's own
 * files) and test/bench/RESULTS.md, which the README quotes. Run: npm run bench.
 */
import b from 'benny';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventLog, EventRecorder } from '../../emu/events/log.js';
import { bootDevice } from '../../emu/host/boot.js';
import { Hub } from '../../emu/host/hub.js';
import { Stick } from '../../emu/machine/stick.js';
import { ma2485 } from '../../emu/models/index.js';
import { packageRoot } from '../../emu/package-root.js';
import { encodeMvcmd, type MvcmdRecord } from '../../emu/rom/mvcmd.js';
import { Scheduler } from '../../emu/time/scheduler.js';

const root = packageRoot();
const folder = join(root, 'test', 'bench', 'results');
type Summary = { name: string; value: number; unit: string; target: string; pass: boolean | null };
const summary: Summary[] = [];

async function suite(name: string, ...cases: ReturnType<typeof b.add>[]) {
  let result: { results: { name: string; ops: number; margin: number }[] } | undefined;
  await b.suite(name, ...cases, b.cycle(), b.complete((r) => void (result = r as never)), b.save({ file: name, folder, format: 'json', details: false }));
  return result!.results;
}

// ---- boot ROM: load-block data through BootRom.receive (the USB controller's view of it)
const STREAM_BYTES = 4 * 1024 * 1024;
const records: MvcmdRecord[] = [{ op: 'magic' }];
for (let at = 0; at < STREAM_BYTES; at += 256 * 1024) records.push({ op: 'load', addr: 0x80000000 + at, data: new Uint8Array(256 * 1024).fill(at & 0xff) });
const stream = encodeMvcmd(records);
const loadBytes = STREAM_BYTES;
const romStick = new Stick({ model: ma2485 });
romStick.plug();
romStick.bus.write(0x80000000 + STREAM_BYTES - 4, 4, 0, 'bench'); // commit DDR once, outside the timing
{
  const [whole, chunked] = await suite(
    'rom-stream',
    b.add('4 MiB of load blocks in one transfer', () => {
      romStick.rom.busReset();
      romStick.rom.receive(0x01, stream);
    }),
    b.add('4 MiB of load blocks in 512-byte transfers', () => {
      romStick.rom.busReset();
      for (let at = 0; at < stream.length; at += 512) romStick.rom.receive(0x01, stream.subarray(at, at + 512));
    }),
  );
  const mbps = (ops: number) => (ops * loadBytes) / 1e6;
  summary.push({ name: 'ROM stream consumption, 4 MiB stream in one transfer (fits the host L3 cache)', value: mbps(whole!.ops), unit: 'MB/s of load-block data', target: '>= 200', pass: mbps(whole!.ops) >= 200 });
  summary.push({ name: 'ROM stream consumption, 512-byte transfers', value: mbps(chunked!.ops), unit: 'MB/s of load-block data', target: '>= 200', pass: mbps(chunked!.ops) >= 200 });
}

// ---- event log: appends of typical events
{
  const clock = new Scheduler();
  const bare = new EventLog(clock);
  const recorded = new EventLog(clock);
  let recorder = new EventRecorder(recorded);
  const BATCH = 10_000;
  const [plain, withRecorder] = await suite(
    'event-append',
    b.add(`append ${BATCH} events`, () => {
      for (let i = 0; i < BATCH; i++) bare.append({ kind: 'bus.write', initiator: 'leon-os', target: 'cpr', addr: 0x20300000 + (i & 0xff), size: 4, value: i });
    }),
    b.add(`append ${BATCH} events with a recorder subscribed`, () => {
      if (recorder.events.length > 1_000_000) {
        recorder.stop();
        recorder = new EventRecorder(recorded);
      }
      for (let i = 0; i < BATCH; i++) recorded.append({ kind: 'bus.write', initiator: 'leon-os', target: 'cpr', addr: 0x20300000 + (i & 0xff), size: 4, value: i });
    }),
  );
  summary.push({ name: 'event append', value: (plain!.ops * BATCH) / 1e6, unit: 'M events/s', target: '>= 5', pass: (plain!.ops * BATCH) / 1e6 >= 5 });
  summary.push({ name: 'event append, recorder subscribed', value: (withRecorder!.ops * BATCH) / 1e6, unit: 'M events/s', target: '(information)', pass: null });
}

// ---- whole path: WebUSB boot of a 1 MiB image on a hub (wall time, for later issues)
{
  const image = encodeMvcmd([{ op: 'magic' }, { op: 'load', addr: 0x80000000, data: new Uint8Array(1024 * 1024 - 32) }, { op: 'jump', addr: 0x80000000 }]);
  const [boot] = await suite(
    'webusb-boot',
    b.add('plug, enumerate, boot a 1 MiB image through WebUSB', async () => {
      const hub = new Hub();
      hub.plug('ma2485');
      await hub.sleep(300);
      const [device] = await hub.usb.getDevices();
      await bootDevice(hub.usb, device!, image, { sleep: (ms) => hub.sleep(ms), reattachTimeoutMs: 10 });
    }),
  );
  summary.push({ name: 'plug + enumerate + boot 1 MiB via WebUSB', value: 1000 / boot!.ops, unit: 'ms wall', target: '(information)', pass: null });
}

// ---- memory: an idle stick, in a process of its own
{
  const out = execFileSync(process.execPath, ['--expose-gc', join(root, 'dist', 'test', 'bench', 'idle-stick.js')], { encoding: 'utf8' });
  const m = JSON.parse(out) as { before: number; one: number; eight: number; devices: number };
  const mb = (bytes: number) => bytes / (1024 * 1024);
  summary.push({ name: 'RSS of a process with one idle, enumerated stick', value: mb(m.one), unit: 'MiB', target: '<= 64', pass: mb(m.one) <= 64 });
  summary.push({ name: 'RSS added by one idle stick', value: mb(m.one - m.before), unit: 'MiB', target: '(information)', pass: null });
  summary.push({ name: 'RSS added per stick, 8 sticks', value: mb(m.eight - m.before) / 8, unit: 'MiB', target: '(information)', pass: null });
  writeFileSync(join(folder, 'idle-stick.json'), JSON.stringify(m, null, 2) + '\n');
}

const lines = [
  '# Benchmark results',
  '',
  `Written by \`npm run bench\` (test/bench/run.ts) on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU'}.`,
  '',
  '| benchmark | result | target | |',
  '|---|---|---|---|',
  ...summary.map((s) => `| ${s.name} | ${s.value.toFixed(s.value < 10 ? 2 : 0)} ${s.unit} | ${s.target} | ${s.pass === null ? '' : s.pass ? 'met' : '**missed**'} |`),
  '',
];
writeFileSync(join(root, 'test', 'bench', 'RESULTS.md'), lines.join('\n'));
// The README quotes the table between its bench markers.
const readmePath = join(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const table = lines.slice(2).join('\n').trim();
writeFileSync(readmePath, readme.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, `<!-- bench:start -->\n${table}\n<!-- bench:end -->`));
process.stdout.write(lines.join('\n'));
process.exitCode = summary.some((s) => s.pass === false) ? 1 : 0;
