/**
 * `npm start`: an emulated NCS2 on an emulated host. The host enumerates the ROM, boots the open
 * firmware from firmware-stubs/vsc/ through the WebUSB-style API, the stick comes back as
 * 03e7:f63b, the host talks XLink to it (ping, a stream echo, mvnc's capabilities), resets it back
 * to the ROM, and the whole session, recorded as a trace file, is replayed. Then a SHAVE runs the
 * f16 matrix multiply tile kernel.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTime, hashEvents } from './events/canonical.js';
import { bootDevice } from './host/boot.js';
import { Hub } from './host/hub.js';
import type { EmulatedUSBDevice } from './host/webusb.js';
import { XLinkClient } from './host/xlink.js';
import { ProgressBar } from './cli/progress.js';
import { ma2485 } from './models/index.js';
import { emulatorVersion, packageRoot } from './package-root.js';
import { TraceReader, TraceWriter } from './trace/format.js';
import { replayTrace } from './trace/replay-trace.js';
import { assemble } from './shave/assembler.js';
import { KernelBench } from './shave/kernel-runner.js';

const say = (line = '') => process.stdout.write(`${line}\n`);
const id = (d: { vendorId: number; productId: number }) => `${hex(d.vendorId)}:${hex(d.productId)}`;

async function demo(): Promise<number> {
  say(`Open Myriad emulator ${emulatorVersion()}: demo`);
  say();
  const image = readFileSync(join(packageRoot(), 'firmware-stubs', 'vsc', 'vsc-ma2485.mvcmd'));
  const tracePath = join(mkdtempSync(join(tmpdir(), 'myriad-demo-')), 'demo.myrtrace');
  const writer = new TraceWriter(tracePath, { emulator: emulatorVersion(), images: [image] });
  const hub = new Hub();
  say(`1. Plugging an emulated ${ma2485.stick} (${ma2485.name}) into the emulated host`);
  hub.usb.onconnect = (event) => say(`   connect: ${id(event.device)} ${event.device.manufacturerName} / ${event.device.productName}, serial ${event.device.serialNumber}`);
  hub.usb.ondisconnect = (event) => say(`   disconnect: ${id(event.device)} left the bus`);
  const port = hub.plug({
    model: ma2485,
    record: true,
    attach: (stick) => writer.attach(stick),
    listener: (event) => {
      if (event.kind === 'console.line') say(`   [stick console] ${event.text}`);
    },
  });
  await hub.sleep(300);
  const rom = await hub.usb.requestDevice({ filters: [{ vendorId: 0x03e7, productId: 0x2485 }] });
  say();

  say(`2. Booting the open firmware (firmware-stubs/vsc/vsc-ma2485.mvcmd, ${image.length} bytes) as OpenVINO's host does`);
  const bar = new ProgressBar('   upload', process.stdout);
  const result = await bootDevice(hub.usb, rom, image, { sleep: (ms) => hub.sleep(ms), onProgress: (sent, total) => bar.update(sent, total), reattachTimeoutMs: 3000 });
  const device = result.reattached as EmulatedUSBDevice | null;
  if (!device) {
    say('   the stick did not come back as 03e7:f63b');
    return 1;
  }
  say(`   the firmware's own descriptors: USB ${device.usbVersionMajor}.${device.usbVersionMinor}, interface "${device.configuration!.interfaces[0]!.alternate.interfaceName}", ${device.configuration!.interfaces[0]!.alternate.endpoints.length} bulk endpoints`);
  say();

  say('3. XLink, as OpenVINO speaks it');
  const client = await XLinkClient.connect(device, { sleep: (ms) => hub.sleep(ms), cancelSleep: (p) => hub.cancelSleep(p) });
  const t0 = hub.now;
  await client.ping();
  say(`   PING answered in ${((hub.now - t0) / 1000).toFixed(1)} us of virtual time`);
  const stream = await client.openStream('demo-echo', 64 * 1024);
  const message = Buffer.from('Hello from the host, through XLink and back!');
  await client.write(stream, message);
  const echoed = Buffer.from(await client.read(stream));
  say(`   stream "demo-echo" (id ${stream}): sent ${message.length} bytes, got back "${echoed.toString()}"`);
  const monitor = await client.openStream('deviceMonitor', 2048);
  await client.write(monitor, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0)); // mvnc GET_CAPABILITIES
  const caps = new DataView((await client.read(monitor)).buffer);
  say(`   mvnc deviceMonitor GET_CAPABILITIES: max_graphs ${caps.getUint32(0, true)}, max_fifos ${caps.getUint32(4, true)}, max_memory ${caps.getUint32(8, true) >> 20} MiB`);
  say();

  say('4. Closing as OpenVINO does: RESET, and the stick comes back as the ROM');
  await client.close(hub.usb);
  say(`   the host now sees ${(await hub.usb.getDevices()).map(id).join(', ')}; ${formatTime(hub.now)} of virtual time in all`);
  writer.close();
  say();

  const events = port.recorder!.events;
  say(`5. Recorded ${events.length} events to ${tracePath}`);
  say(`   sha256 of the log: ${hashEvents(events)}`);
  const reader = TraceReader.open(tracePath);
  say(`   the trace file: ${reader.size} bytes for a ${image.length}-byte image upload and ${reader.index.events} events`);
  const replayed = replayTrace(reader);
  reader.close();
  if (!replayed.ok) {
    say(`   replay DIVERGED at event #${replayed.divergence!.seq}`);
    return 1;
  }
  say(`   replayed on a fresh machine: all ${replayed.events} events re-derived identically`);
  say();

  say('6. A SHAVE vector core: the f16 8x8 matrix multiply tile of firmware-stubs/shave/ on SHAVE 0');
  const shaveOk = shaveTile();
  say();
  say('Try on the trace:');
  for (const command of ['replay', 'stat', 'log --kind usb.connect --kind core.start', 'export --pcap -o demo.pcap']) {
    const [verb, ...options] = command.split(' ');
    say(`   node dist/emu/cli/bin.js ${verb} ${tracePath} ${options.join(' ')}`.trimEnd());
  }
  return echoed.equals(message) && shaveOk ? 0 : 1;
}

/** Runs the matmul tile kernel on one core and checks C = A B against a plain f64 product. */
function shaveTile(): boolean {
  const K = 16;
  const bench = new KernelBench(ma2485);
  const program = assemble(readFileSync(join(packageRoot(), 'firmware-stubs', 'shave', 'matmul-f16.s'), 'utf8'));
  const [a, b] = [0x1c00_0000, 0x1c00_2000];
  const c = 0x1c00_4000;
  // Small integers and halves: every product and sum is exact in f16, so C is exactly A B.
  const A = Array.from({ length: 8 * K }, (_, i) => ((i * 7) % 5) - 2);
  const B = Array.from({ length: K * 8 }, (_, i) => (((i * 3) % 4) - 1) / 2);
  const f16 = (x: number) => toF16Bits(x);
  bench.load(0, program);
  bench.write(0, a, new Uint8Array(new Uint16Array(A.map(f16)).buffer));
  bench.write(0, b, new Uint8Array(new Uint16Array(B.map(f16)).buffer));
  [a, b, c, K].forEach((value, n) => bench.cores.setIrf(0, 18 - n, value));
  const { result, counters } = bench.run(0, program, 1_000_000);
  const got = new Uint16Array(bench.read(0, c, 128).slice().buffer);
  let exact = true;
  for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) {
    let sum = 0;
    for (let k = 0; k < K; k++) sum += A[i * K + k]! * B[k * 8 + j]!;
    if (got[i * 8 + j] !== f16(sum)) exact = false;
  }
  const busy = Object.entries(counters.unitOps).filter(([, n]) => n > 0).map(([unit, n]) => `${unit} ${((100 * n) / counters.cycles).toFixed(0)}%`);
  say(`   ${result.kind === 'halted' ? 'halted by swih' : result.kind}: ${counters.bundles} bundles in ${counters.cycles} cycles (${((counters.cycles / ma2485.clocks.systemHz) * 1e6).toFixed(2)} us at ${ma2485.clocks.systemHz / 1e6} MHz), ${counters.stalls} stalls`);
  say(`   unit occupancy: ${busy.join(', ')}; CMX read ${counters.cmx.reduce((n, s) => n + s.read, 0)} B, written ${counters.cmx.reduce((n, s) => n + s.written, 0)} B`);
  say(`   C = A B (8 x ${K} times ${K} x 8, f16): ${exact ? 'every element exact' : 'WRONG'}`);
  return result.kind === 'halted' && exact;
}

/** The f16 bit pattern of a value that f16 holds exactly (small integers and halves here). */
function toF16Bits(x: number): number {
  if (x === 0) return Object.is(x, -0) ? 0x8000 : 0;
  const sign = x < 0 ? 0x8000 : 0;
  const exponent = Math.floor(Math.log2(Math.abs(x)));
  const fraction = Math.abs(x) / 2 ** exponent - 1;
  return sign | ((exponent + 15) << 10) | Math.round(fraction * 1024);
}

function hex(value: number): string {
  return value.toString(16).padStart(4, '0');
}

demo().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
