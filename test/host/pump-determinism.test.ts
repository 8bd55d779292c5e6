/**
 * Wall time must never change what happens: the hub's clock breathes (yields to the event loop)
 * after a slice of wall time, and a session must log the same events whether it breathes after
 * every instant or never.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hashEvents } from '../../emu/events/canonical.js';
import { bootDevice } from '../../emu/host/boot.js';
import { Hub } from '../../emu/host/hub.js';
import type { EmulatedUSBDevice } from '../../emu/host/webusb.js';
import { XLinkClient } from '../../emu/host/xlink.js';
import { MvncDevice } from '../../emu/host/mvnc.js';

const image = readFileSync(new URL('../../firmware-stubs/vsc/vsc-ma2485.mvcmd', import.meta.url));
const graph = readFileSync(new URL('../../firmware-stubs/graphs/tiny-relu.graph', import.meta.url));

async function session(pumpSliceMs: number): Promise<string> {
  const hub = new Hub({ pumpSliceMs });
  const port = hub.plug({ model: 'ma2485', record: true });
  await hub.sleep(300);
  const [rom] = await hub.usb.getDevices();
  const booted = await bootDevice(hub.usb, rom!, image, { sleep: (ms) => hub.sleep(ms), reattachTimeoutMs: 3000 });
  const xlink = await XLinkClient.connect(booted.reattached as EmulatedUSBDevice, { sleep: (ms) => hub.sleep(ms), cancelSleep: (p) => hub.cancelSleep(p) });
  const mvnc = await MvncDevice.open(xlink);
  const g = await mvnc.allocateGraph(graph);
  const input = await mvnc.createFifo('host-write', g.input, 2);
  const output = await mvnc.createFifo('host-read', g.output, 2);
  await g.infer(input, output, new Uint8Array(g.input.totalSize).fill(0x3c));
  await xlink.close(hub.usb);
  await hub.sleep(50);
  return hashEvents(port.recorder!.events);
}

describe('the hub clock', () => {
  it('logs the same events whether it breathes after every instant or never', async () => {
    const never = await session(1e9);
    expect(await session(0)).toBe(never);
    expect(await session(1e9)).toBe(never);
  }, 60_000);
});
