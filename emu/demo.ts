/**
 * `npm start`: plugs an emulated NCS2 into an emulated host, enumerates it, boots the demo
 * image from firmware-stubs/ through the WebUSB-style API, records the session and replays it.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEvent, formatTime, hashEvents } from './events/canonical.js';
import { bootDevice } from './host/boot.js';
import { Hub } from './host/hub.js';
import { ProgressBar } from './cli/progress.js';
import { replay } from './machine/replay.js';
import { ma2485 } from './models/index.js';
import { emulatorVersion, packageRoot } from './package-root.js';
import { readTraceEvents, TraceWriter } from './trace/trace-file.js';

const say = (line = '') => process.stdout.write(`${line}\n`);

async function demo(): Promise<number> {
  say(`Open Myriad emulator ${emulatorVersion()}: demo`);
  say();

  const tracePath = join(mkdtempSync(join(tmpdir(), 'myriad-demo-')), 'demo.trace.jsonl');
  const writer = new TraceWriter(tracePath, { emulator: emulatorVersion(), model: ma2485.name });
  const hub = new Hub();
  say(`1. Plugging an emulated ${ma2485.stick} (${ma2485.name}) into the emulated host`);
  const port = hub.plug({ model: ma2485, record: true, listener: writer.listener });
  hub.usb.onconnect = (event) => say(`   connect event: ${event.device.productName} ${hex(event.device.vendorId)}:${hex(event.device.productId)}`);
  hub.usb.ondisconnect = (event) => say(`   disconnect event: ${event.device.productName} left the bus`);
  await hub.sleep(300);
  for (const line of hub.messages) say(`   [host] ${line}`);
  const device = await hub.usb.requestDevice({ filters: [{ vendorId: 0x03e7, productId: 0x2485 }] });
  const alt = device.configuration!.interfaces[0]!.alternate;
  say(
    `   navigator.usb sees: ${device.manufacturerName} / ${device.productName}, serial ${device.serialNumber}, USB ${device.usbVersionMajor}.${device.usbVersionMinor}, ` +
      `interface ${hex(alt.interfaceClass, 2)}/${hex(alt.interfaceSubclass, 2)}/${hex(alt.interfaceProtocol, 2)}, endpoints ${alt.endpoints.map((e) => `${e.direction} ${e.endpointNumber} (${e.type}, ${e.packetSize})`).join(', ')}`,
  );
  say();

  const imagePath = join(packageRoot(), 'firmware-stubs', 'idle-loop', 'idle-loop.mvcmd');
  const image = readFileSync(imagePath);
  say(`2. Booting firmware-stubs/idle-loop/idle-loop.mvcmd (${image.length} bytes) the way OpenVINO's host does`);
  const bar = new ProgressBar('   upload', process.stdout);
  const wallStart = performance.now();
  const result = await bootDevice(hub.usb, device, image, { sleep: (ms) => hub.sleep(ms), chunkSize: 64 * 1024, onProgress: (sent, total) => bar.update(sent, total), reattachTimeoutMs: 1000 });
  const wallMs = performance.now() - wallStart;
  writer.close();
  const events = port.recorder!.events;
  say(`   sent ${result.bytesSent} bytes in ${result.transfers} bulk transfers; the boot ROM did:`);
  for (const event of events.filter((e) => e.kind === 'rom.record' || e.kind === 'rom.error')) say(`     ${describeEvent(event)}`);
  for (const event of events.filter((e) => e.kind === 'usb.disconnect' || e.kind.startsWith('core.'))) say(`   ${describeEvent(event)}`);
  const marker = port.stick.bus.read(0x70000100, 4, 'demo');
  say(`   the LEON ran the image's SPARC code: CMX 0x70000100 = 0x${marker.toString(16)}${marker === 0x600df00d ? ' (the marker it stores)' : ' (expected 0x600df00d!)'}`);
  say(`   (the firmware that brings the stick back as 03e7:f63b is the next piece of the emulator)`);
  say(`   ${formatTime(hub.now)} of virtual time in ${wallMs.toFixed(1)} ms of wall time`);
  say();

  say(`3. Recorded ${events.length} events to ${tracePath}`);
  say(`   sha256 of the log: ${hashEvents(events)}`);
  const kinds = new Map<string, number>();
  for (const event of events) kinds.set(event.kind, (kinds.get(event.kind) ?? 0) + 1);
  say(`   ${[...kinds].map(([kind, n]) => `${kind} ${n}`).join(', ')}`);
  say();

  say('4. Replaying the trace file on a fresh machine');
  const replayed = replay(ma2485, readTraceEvents(tracePath));
  if (!replayed.ok) {
    say(`   DIVERGED at event #${replayed.divergence!.seq}`);
    return 1;
  }
  say(`   all ${replayed.events} events re-derived identically`);
  say();
  say(`Try: node dist/emu/cli/bin.js replay ${tracePath}`);
  return result.detached && marker === 0x600df00d ? 0 : 1;
}

function hex(value: number, digits = 4): string {
  return value.toString(16).padStart(digits, '0');
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
