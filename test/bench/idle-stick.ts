/**
 * Measures resident memory of a process with idle sticks: run as its own process so that
 * nothing else is in the heap. Prints JSON: RSS before any stick, with one, with eight.
 */
import { Hub } from '../../emu/host/hub.js';

const gc = (globalThis as { gc?: () => void }).gc;
const rss = () => {
  gc?.();
  gc?.();
  return process.memoryUsage().rss;
};

const hub = new Hub();
const before = rss();
hub.plug('ma2485');
await hub.sleep(300);
const one = rss();
for (let i = 0; i < 7; i++) hub.plug('ma2485');
await hub.sleep(300);
const eight = rss();
const devices = (await hub.usb.getDevices()).length;
process.stdout.write(JSON.stringify({ before, one, eight, devices }));
