/**
 * `npm start`: an emulated NCS2 on an emulated host. The host enumerates the ROM, boots the open
 * firmware from firmware-stubs/vsc/ through the WebUSB-style API, the stick comes back as
 * 03e7:f63b, the host talks XLink to it (ping, a stream echo), opens it as mvnc does
 * and runs a small neural network on the SHAVEs through mvnc, with a per-stage profile, resets
 * it back to the ROM, and the whole session, recorded as a trace file, is replayed.
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
import { MvncDevice } from './host/mvnc.js';
import { readGraph } from './graph/reader.js';
import { placeOf } from './graph/writer.js';
import { f16FromNumber } from './graph/f16.js';
import { tensorBytes, tensorFromBytes } from './graph/tensor-place.js';
import { formatProfile, stageReports, topK } from './cli/infer-command.js';

/** The sample graph the demo runs (firmware-stubs/graphs/). */
const DEMO_GRAPH = 'demo-cnn.graph';

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
  const result = await bootDevice(hub.usb, rom, image, { sleep: (ms) => hub.sleep(ms), cancelSleep: (p) => hub.cancelSleep(p), onProgress: (sent, total) => bar.update(sent, total), reattachTimeoutMs: 3000 });
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
  say();

  say(`4. A neural network on the SHAVEs, through mvnc as OpenVINO's host library drives it`);
  const mvnc = await MvncDevice.open(client);
  say(`   deviceMonitor CAPABILITIES: platform ${mvnc.platform}, max_graphs ${mvnc.capabilities.maxGraphs}, max_memory ${mvnc.capabilities.maxMemory >> 20} MiB`);
  const graphPath = join('firmware-stubs', 'graphs', DEMO_GRAPH);
  const blob = readFileSync(join(packageRoot(), graphPath));
  const described = readGraph(blob);
  await mvnc.setProfiling(true);
  const graph = await mvnc.allocateGraph(blob);
  const input = await mvnc.createFifo('host-write', graph.input, 2);
  const output = await mvnc.createFifo('host-read', graph.output, 2);
  say(`   ${graphPath}: ${described.stages.length} stages (${[...new Set(described.stages.map((s) => s.layer.name))].join(', ')}), input ${graph.input.c}x${graph.input.h}x${graph.input.w}, output ${graph.output.c}x${graph.output.h}x${graph.output.w}`);
  const inPlace = placeOf(described.input);
  const outPlace = placeOf(described.output);
  const picture = { shape: described.input.shape, data: Uint16Array.from({ length: described.input.shape.c * described.input.shape.h * described.input.shape.w }, (_, i) => f16FromNumber(Math.sin(i / 7))) };
  const wall0 = performance.now();
  const scores = tensorFromBytes(outPlace, await graph.infer(input, output, tensorBytes(inPlace, picture)));
  const wallMs = performance.now() - wall0;
  const timing = await graph.timing();
  const profile = await graph.profile();
  const reports = stageReports(described, timing, ma2485.clocks.systemHz, profile);
  for (const line of formatProfile(reports, { ms: reports.reduce((sum, r) => sum + r.ms, 0), deviceMs: timing[described.stages.length + 1]! })) say(`   ${line}`);
  if (scores.shape.h === 1 && scores.shape.w === 1) say(`   top classes: ${topK(scores, 3).map(({ index, value }) => `${index} (${value.toPrecision(3)})`).join(', ')}`);
  say(`   ${wallMs.toFixed(1)} ms of host time for the inference; the same input gives the same bytes and cycles on every run and on replay`);
  await input.destroy();
  await output.destroy();
  await graph.destroy();
  say();

  say('5. Closing as OpenVINO does: RESET, and the stick comes back as the ROM');
  await client.close(hub.usb);
  say(`   the host now sees ${(await hub.usb.getDevices()).map(id).join(', ')}; ${formatTime(hub.now)} of virtual time in all`);
  writer.close();
  say();

  const events = port.recorder!.events;
  say(`6. Recorded ${events.length} events to ${tracePath}`);
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
  say('Try on the trace:');
  for (const command of ['replay', 'stat', 'log --kind usb.connect --kind core.start', 'export --pcap -o demo.pcap']) {
    const [verb, ...options] = command.split(' ');
    say(`   node dist/emu/cli/bin.js ${verb} ${tracePath} ${options.join(' ')}`.trimEnd());
  }
  return echoed.equals(message) ? 0 : 1;
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
