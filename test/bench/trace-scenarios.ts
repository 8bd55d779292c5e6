/**
 * The runs the trace benchmarks time: the open firmware booted and an XLink echo, with or without
 * a TraceWriter; and a long trace of XLink pings, for seeking.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootDevice } from '../../emu/host/boot.js';
import { Hub } from '../../emu/host/hub.js';
import type { EmulatedUSBDevice } from '../../emu/host/webusb.js';
import { XLinkClient } from '../../emu/host/xlink.js';
import { packageRoot } from '../../emu/package-root.js';
import { TraceReader, TraceWriter } from '../../emu/trace/format.js';
import { replayTrace } from '../../emu/trace/replay-trace.js';

export const firmware = readFileSync(join(packageRoot(), 'firmware-stubs', 'vsc', 'vsc-ma2485.mvcmd'));

/** Echo payload: tensor-like bytes (not all one value, not random either). */
const payload = new Uint8Array(64 * 1024).map((_, i) => (Math.sin(i / 37) * 100 + (i % 7)) & 0xff);

async function bootAndConnect(trace: string | null, snapshotEvery?: number) {
  const writer = trace ? new TraceWriter(trace, { emulator: 'bench', images: [firmware], ...(snapshotEvery ? { snapshotEvery } : {}) }) : null;
  const hub = new Hub();
  hub.plug({ model: 'ma2485', ...(writer ? { attach: (stick) => writer.attach(stick) } : {}) });
  await hub.sleep(300);
  const [rom] = await hub.usb.getDevices();
  const result = await bootDevice(hub.usb, rom!, firmware, { sleep: (ms) => hub.sleep(ms), reattachTimeoutMs: 3000 });
  if (!result.reattached) throw new Error('the firmware did not come back as f63b');
  const client = await XLinkClient.connect(result.reattached as EmulatedUSBDevice, { sleep: (ms) => hub.sleep(ms), cancelSleep: (p) => hub.cancelSleep(p) });
  return { hub, client, writer };
}

/** Boot, then 16 echoes of 64 KiB through an XLink stream, then RESET; recorded when `trace` is set. */
export async function bootAndEcho(trace: string | null): Promise<void> {
  const { hub, client, writer } = await bootAndConnect(trace);
  const stream = await client.openStream('bench', 64 * 1024);
  for (let i = 0; i < 16; i++) {
    await client.write(stream, payload);
    await client.read(stream);
  }
  await client.close(hub.usb);
  writer?.close();
}

/** A trace of at least `events` events: a boot, then XLink pings. */
export async function longTrace(trace: string, events: number): Promise<void> {
  const { hub, client, writer } = await bootAndConnect(trace);
  while (writer!.events < events) await client.ping();
  await client.close(hub.usb);
  writer!.close();
}

/** Replays a trace, verifying every event; a divergence is an error. */
export function replayVerified(trace: string): void {
  const reader = TraceReader.open(trace);
  const result = replayTrace(reader);
  reader.close();
  if (!result.ok) throw new Error(`${trace} diverged in replay`);
}
