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
import { encodeMvcmd, type MvcmdRecord } from '../../emu/rom/mvcmd.js';
import { Scheduler } from '../../emu/time/scheduler.js';
import { assemble } from '../../emu/shave/assembler.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { folder, root, suite, type Summary } from './suite.js';

const summary: Summary[] = [];

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

// ---- the open firmware: boot to f63b, XLink ping round trip, stream echo
{
  const { XLinkClient } = await import('../../emu/host/xlink.js');
  const fw = readFileSync(join(root, 'firmware-stubs', 'vsc', 'vsc-ma2485.mvcmd'));
  // A 1 MiB image: a megabyte of data for DDR in front of the firmware, as big images carry.
  const pad = encodeMvcmd([{ op: 'magic' }, { op: 'load', addr: 0x90000000, data: new Uint8Array(1024 * 1024 - fw.length - 32).fill(7) }]);
  const megabyteImage = new Uint8Array([...pad, ...fw.subarray(4)]);
  const bootToF63b = async () => {
    const hub = new Hub();
    hub.plug('ma2485');
    await hub.sleep(300);
    const [rom] = await hub.usb.getDevices();
    const result = await bootDevice(hub.usb, rom!, megabyteImage, { sleep: (ms) => hub.sleep(ms), reattachTimeoutMs: 3000 });
    if (!result.reattached) throw new Error('the firmware did not come back as f63b');
    return { hub, device: result.reattached as Parameters<typeof XLinkClient.connect>[0] };
  };
  const [boot] = await suite('firmware-boot', b.add('plug, enumerate, boot a 1 MiB image until 03e7:f63b is enumerated', bootToF63b));
  const { hub, device } = await bootToF63b();
  const client = await XLinkClient.connect(device, { sleep: (ms) => hub.sleep(ms), cancelSleep: (p) => hub.cancelSleep(p) });
  const stream = await client.openStream('bench', 8 << 20);
  const payload = new Uint8Array(8 << 20).fill(0x5a);
  const [ping, echo] = await suite(
    'xlink',
    b.add('XLink ping round trip', async () => {
      await client.ping();
    }),
    b.add('XLink echo of 8 MiB (write and read back)', async () => {
      await client.write(stream, payload);
      await client.read(stream);
    }),
  );
  const median = (name: string, index: number, fallbackOps: number) => {
    const saved = JSON.parse(readFileSync(join(folder, `${name}.json`), 'utf8')) as { results: { details?: { median: number } }[] };
    return saved.results[index]?.details?.median ?? 1 / fallbackOps;
  };
  const bootMs = median('firmware-boot', 0, boot!.ops) * 1000;
  const pingUs = median('xlink', 0, ping!.ops) * 1e6;
  const echoMBps = (8 * 1024 * 1024) / median('xlink', 1, echo!.ops) / 1e6;
  summary.push({ name: 'boot of a 1 MiB image to 03e7:f63b, in-process (median, with plug and enumeration)', value: bootMs, unit: 'ms wall', target: '<= 100', pass: bootMs <= 100 });
  summary.push({ name: 'XLink ping round trip (median)', value: pingUs, unit: 'us wall', target: '<= 100', pass: pingUs <= 100 });
  summary.push({ name: 'XLink stream echo, 8 MiB each way (median)', value: echoMBps, unit: 'MB/s each way', target: '>= 100', pass: echoMBps >= 100 });
}

// ---- usbredir: bulk OUT from a plain TCP client on loopback, through the server to the ROM
{
  const { usbredirBulkOut } = await import('./usbredir-throughput.js');
  const PACKETS = 64;
  let bytes = 0;
  const [session] = await suite(
    'usbredir',
    b.add(`usbredir session: hello, configure, ${PACKETS} bulk OUT packets of 1 MiB`, async () => {
      bytes = (await usbredirBulkOut(PACKETS, 1 << 20)).bytes;
    }),
  );
  const saved = JSON.parse(readFileSync(join(folder, 'usbredir.json'), 'utf8')) as { results: { details?: { median: number } }[] };
  const seconds = saved.results[0]?.details?.median ?? 1 / session!.ops;
  const mbps = bytes / seconds / 1e6;
  summary.push({ name: `usbredir bulk OUT on loopback, ${PACKETS} MiB per session (median, session set-up included)`, value: mbps, unit: 'MB/s', target: '>= 200', pass: mbps >= 200 });
}

// ---- traces, in a process of their own: recording overhead compares two variants of a
// workload whose cost is much the garbage collector's, and what earlier suites leave in the heap
// (a recorder of a million events, 8 MiB echo buffers) would weigh on one variant more than the
// other. The suite prints its rows as JSON.
{
  const out = execFileSync(process.execPath, [join(root, 'dist', 'test', 'bench', 'trace-bench.js')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  summary.push(...(JSON.parse(out.slice(out.lastIndexOf('\n[') + 1)) as Summary[]));
}

// ---- inference: every layer kernel, and the largest sample graph through mvnc, in a process of its own
{
  const out = execFileSync(process.execPath, [join(root, 'dist', 'test', 'bench', 'inference-bench.js')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  summary.push(...(JSON.parse(out.slice(out.lastIndexOf('\n[') + 1)) as Summary[]));
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

// ---- SHAVE: the f16 matrix multiply tile kernel of firmware-stubs/shave on one core
{
  const K = 256;
  const shave = new KernelBench(ma2485);
  const program = assemble(readFileSync(join(root, 'firmware-stubs', 'shave', 'matmul-f16.s'), 'utf8'));
  shave.load(0, program);
  shave.write(0, 0x1c00_0000, new Uint8Array(new Uint16Array(8 * K).map((_, i) => 0x3c00 + (i % 7)).buffer));
  shave.write(0, 0x1c00_2000, new Uint8Array(new Uint16Array(K * 8).map((_, i) => 0x3800 + (i % 5)).buffer));
  const tile = () => {
    const cores = shave.cores;
    [0x1c00_0000, 0x1c00_2000, 0x1c00_4000, K].forEach((value, n) => cores.setIrf(0, 18 - n, value));
    return shave.run(0, program, 1e9);
  };
  const { result, counters } = tile();
  if (result.kind !== 'halted') throw new Error(`the matmul tile did not halt: ${JSON.stringify(result)}`);
  const [run] = await suite('shave-matmul', b.add(`8x8 f16 tile, K = ${K} (${counters.bundles} bundles, ${counters.cycles} cycles)`, () => void tile()));
  const bundlesPerSecond = run!.ops * counters.bundles;
  const cyclesPerSecond = run!.ops * counters.cycles;
  summary.push({ name: `SHAVE f16 matrix multiply tile (8x8, K = ${K}), one core`, value: bundlesPerSecond / 1e6, unit: 'M bundles/s', target: '>= 150', pass: bundlesPerSecond >= 150e6 });
  // A SHAVE issues one bundle per cycle; idle (nop N) and stall cycles make the kernel's cycles more than its bundles.
  summary.push({ name: 'the same, as a fraction of a 600 MHz SHAVE (bundles per second / 600 M)', value: bundlesPerSecond / 600e6, unit: `(emulated cycles: ${(cyclesPerSecond / 1e6).toFixed(1)} M/s, ${(cyclesPerSecond / 600e6).toFixed(2)} of 600 MHz)`, target: '(information)', pass: null });
}

// ---- LEON: the mixed workload (CRC32, matmul, call-heavy recursion with window traps)
{
  const leon = await leonBenchmark();
  if (leon) {
    summary.push({ name: 'LEON core, mixed workload (median)', value: leon.emuMips, unit: 'M instructions/s', target: '>= 150', pass: leon.emuMips >= 150 });
    summary.push({ name: 'QEMU leon3_generic, same ELF (startup subtracted)', value: leon.qemuMips, unit: 'M instructions/s', target: '(information)', pass: null });
    summary.push({ name: 'LEON core / QEMU', value: leon.emuMips / leon.qemuMips, unit: '', target: '(information)', pass: null });
  } else {
    summary.push({ name: 'LEON core, mixed workload: not measured (sparc64-linux-gnu-gcc or qemu-system-sparc missing)', value: 0, unit: '', target: '>= 150', pass: false });
  }
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

async function leonBenchmark(): Promise<{ emuMips: number; qemuMips: number } | null> {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { Leon3Board } = await import('../../emu/boards/leon3.js');
  const have = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
  if (!have('sparc64-linux-gnu-gcc') || !have('qemu-system-sparc')) return null;
  const dir = mkdtempSync(join(tmpdir(), 'leon-bench-'));
  const rt = join(root, 'test', 'leon', 'rt');
  const build = (source: string, out: string, defines: string[]) => {
    const flags = ['-m32', '-mcpu=v8', '-O2', '-ffreestanding', '-nostdlib', '-static', '-fno-pic', '-fno-pie', '-no-pie', '-fno-tree-loop-distribute-patterns', '-msoft-float', '-Wa,-Aleon', '-Wl,-m,elf32_sparc', '-Wl,--build-id=none', '-Wl,--no-warn-execstack'];
    const r = spawnSync('sparc64-linux-gnu-gcc', [...flags, ...defines, `-I${rt}`, `-I${join(root, 'firmware-stubs', 'common')}`, '-T', join(rt, 'link.ld'), join(rt, 'start.S'), join(rt, 'rt.c'), source, '-o', out], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return readFileSync(out);
  };
  const mix = build(join(root, 'test', 'bench', 'leon', 'mix.c'), join(dir, 'mix.elf'), ['-DROUNDS=100']);
  const big = join(dir, 'mix-big.elf');
  build(join(root, 'test', 'bench', 'leon', 'mix.c'), big, ['-DROUNDS=2000']);
  const empty = join(dir, 'empty.elf');
  build(join(root, 'test', 'bench', 'leon', 'mix.c'), empty, ['-DROUNDS=0']);

  let instructions = 0;
  const [result] = await suite(
    'leon-mix',
    b.add('mixed workload on the leon3 board', () => {
      const board = new Leon3Board();
      board.load(mix);
      const stop = board.run(1e10);
      if (stop.kind !== 'exit') throw new Error(`benchmark program stopped with ${stop.kind}`);
      instructions = board.cpu.instructions;
    }),
  );
  void result;
  const saved = JSON.parse(readFileSync(join(folder, 'leon-mix.json'), 'utf8')) as { results: { details?: { median: number } }[] };
  const medianSeconds = saved.results[0]?.details?.median ?? 1 / result!.ops;
  const emuMips = instructions / medianSeconds / 1e6;

  // QEMU: the big run minus an empty run, so that QEMU's start-up is not counted.
  const wall = (elf: string) => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      spawnSync('qemu-system-sparc', ['-M', 'leon3_generic', '-nographic', '-monitor', 'none', '-kernel', elf]);
      times.push(performance.now() - t0);
    }
    return times.sort((x, y) => x - y)[2]!;
  };
  const boardBig = new Leon3Board();
  boardBig.load(readFileSync(big));
  boardBig.run(1e11);
  const boardEmpty = new Leon3Board();
  boardEmpty.load(readFileSync(empty));
  boardEmpty.run(1e9);
  const qemuMips = (boardBig.cpu.instructions - boardEmpty.cpu.instructions) / ((wall(big) - wall(empty)) / 1000) / 1e6;
  return { emuMips, qemuMips };
}
