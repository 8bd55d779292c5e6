import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { bootDevice } from '../../emu/host/boot.js';
import { Hub } from '../../emu/host/hub.js';
import type { EmulatedUSBDevice } from '../../emu/host/webusb.js';
import { XLinkClient, XLinkError, XLinkFlag, XLinkType } from '../../emu/host/xlink.js';
import { replay } from '../../emu/machine/replay.js';
import { ma2450, ma2485 } from '../../emu/models/index.js';
import { mxId } from '../../emu/soc/cpr.js';
import { withWatchdogFlag } from '../support/watchdog-flag.js';

const image = (name: string) => readFileSync(new URL(`../../firmware-stubs/vsc/${name}`, import.meta.url));
const VSC = { ma2450: image('vsc-ma2450.mvcmd'), ma2485: image('vsc-ma2485.mvcmd'), ncsdk2: image('vsc-ma2485-ncsdk2.mvcmd') };


/** Every session a test runs is replayed afterwards and must re-derive every event. */
const sessions: { model: string; events: () => readonly import('../../emu/events/event.js').MachineEvent[] }[] = [];
afterEach(() => {
  for (const session of sessions.splice(0)) {
    const result = replay(session.model === 'ma2450' ? ma2450 : ma2485, session.events());
    expect(result.divergence, 'replay of the recorded session').toBeNull();
  }
});

async function booted(model = 'ma2485', stream: Uint8Array = VSC.ma2485) {
  const hub = new Hub();
  const port = hub.plug({ model, record: true });
  sessions.push({ model, events: () => port.recorder!.events });
  await hub.sleep(300);
  const [rom] = await hub.usb.getDevices();
  const result = await bootDevice(hub.usb, rom!, stream, { sleep: (ms) => hub.sleep(ms), reattachTimeoutMs: 3000 });
  expect(result.reattached, hub.messages.join('\n')).not.toBeNull();
  return { hub, port, device: result.reattached as EmulatedUSBDevice };
}

async function xlink(model = 'ma2485', stream: Uint8Array = VSC.ma2485, nameLength: 64 | 16 = 64) {
  const ctx = await booted(model, stream);
  const client = await XLinkClient.connect(ctx.device, { sleep: (ms) => ctx.hub.sleep(ms), cancelSleep: (p) => ctx.hub.cancelSleep(p), nameLength });
  return { ...ctx, client };
}

const pattern = (n: number, seed = 1) => {
  const data = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return data;
};

describe('open VSC firmware: boot to 03e7:f63b', () => {
  it.each([
    ['ma2450', VSC.ma2450],
    ['ma2485', VSC.ma2485],
  ] as const)('%s leaves the bus as the ROM and comes back with the firmware\'s own descriptors', async (model, stream) => {
    const { device, hub, port } = await booted(model, stream);
    expect([device.vendorId, device.productId, device.manufacturerName, device.productName]).toEqual([0x03e7, 0xf63b, 'Movidius', 'VSC Loopback Device']);
    // The serial is the MX ID host libraries read from the ROM (test/firmware/mxid.test.ts).
    expect(device.serialNumber).toMatch(/^[0-9A-F]{18}$/);
    expect(device.serialNumber).toBe(mxId(port.stick.chipId));
    expect([device.usbVersionMajor, device.usbVersionMinor]).toEqual([2, 0]);
    const config = device.configuration!;
    const alt = config.interfaces[0]!.alternate;
    expect([alt.interfaceClass, alt.interfaceSubclass, alt.interfaceProtocol, alt.interfaceName]).toEqual([0xff, 0, 0, 'Bulk Data']);
    expect(alt.endpoints.map((e) => `${e.direction}${e.endpointNumber}/${e.packetSize}`)).toEqual(['in1/512', 'out1/512', 'in2/512', 'out2/512', 'in3/512', 'out3/512']);
    // The bytes the host got are the firmware's, from RAM: bmAttributes 0xC0 (self powered).
    const configs = port.recorder!.events.flatMap((e) => (e.kind === 'usb.control.done' && e.data && e.data[1] === 2 && e.data.length > 9 ? [e.data] : []));
    expect(configs.at(-1)![7]).toBe(0xc0);
    expect(port.recorder!.events.filter((e) => e.kind === 'console.line').map((e) => e.kind === 'console.line' && e.text)[0]).toBe('vsc: open firmware for the Myriad emulator');
    expect(hub.messages.filter((m) => m.includes('idProduct=f63b'))).toHaveLength(1);
  });

  it('the serial follows the stick\'s chip id: two sticks, two serials', async () => {
    const hub = new Hub();
    const a = hub.plug({ model: 'ma2485' });
    const b = hub.plug({ model: 'ma2485' });
    void a;
    void b;
    await hub.sleep(300);
    const roms = await hub.usb.getDevices();
    expect(roms).toHaveLength(2);
    const serials: string[] = [];
    for (const rom of roms) {
      const r = await bootDevice(hub.usb, rom, VSC.ma2485, { sleep: (ms) => hub.sleep(ms), reattachTimeoutMs: 3000 });
      serials.push((r.reattached as EmulatedUSBDevice).serialNumber!);
    }
    expect(new Set(serials).size).toBe(2);
  });
});

describe('open VSC firmware: XLink', () => {
  it('answers PING with an ack, as the host expects', async () => {
    const { client } = await xlink();
    const answer = await client.ping();
    expect(answer.type).toBe(XLinkType.PING_RESP);
    expect(answer.flags & XLinkFlag.ACK).toBe(XLinkFlag.ACK);
  });

  it.each([1, 64 * 1024])('echoes %i bytes through a stream', async (n) => {
    const { client } = await xlink();
    const stream = await client.openStream('echo', Math.max(64, n));
    const data = pattern(n, n);
    await client.write(stream, data);
    expect(Buffer.from(await client.read(stream)).equals(Buffer.from(data))).toBe(true);
  });

  it('echoes 8 MiB in one packet', async () => {
    const { client } = await xlink();
    const stream = await client.openStream('big', 8 << 20);
    const data = pattern(8 << 20, 3);
    await client.write(stream, data);
    expect(Buffer.from(await client.read(stream)).equals(Buffer.from(data))).toBe(true);
  }, 60_000);

  it('credit: writes beyond the stream size wait for the device to release, and all come back in order', async () => {
    const { client, port } = await xlink();
    const stream = await client.openStream('credit', 4096);
    const packets = [1, 2, 3, 4, 5].map((seed) => pattern(4096, seed));
    // Five full-size writes at once, read as they come back: each write after the first has to
    // wait for the device to release the one before.
    const reader = (async () => {
      const back: Uint8Array[] = [];
      for (let i = 0; i < packets.length; i++) back.push(await client.read(stream));
      return back;
    })();
    await Promise.all(packets.map((p) => client.write(stream, p)));
    const back = await reader;
    back.forEach((data, i) => expect(Buffer.from(data).equals(Buffer.from(packets[i]!))).toBe(true));
    const events = port.recorder!.events;
    const outs = events.flatMap((e) => (e.kind === 'host.transfer' && e.data && e.length === 4096 ? [e.seq] : []));
    const releases = events.flatMap((e) =>
      e.kind === 'usb.transfer.done' && e.data && e.length === 84 && new DataView(e.data.buffer, e.data.byteOffset).getInt32(4, true) === XLinkType.READ_REL_REQ ? [e.seq] : [],
    );
    // The second payload went out only after the device had released the first.
    expect(releases[0]!).toBeLessThan(outs[1]!);
  });

  it('CLOSE_STREAM: ack when nothing is queued, nack while a packet is still on the device', async () => {
    const { client } = await xlink();
    const idle = await client.openStream('idle', 64);
    expect(await client.closeStream(idle)).toBe(true);
    const busy = await client.openStream('busy', 64 * 1024);
    await client.write(busy, pattern(64 * 1024));
    expect(await client.closeStream(busy)).toBe(false); // the echo is still going out
  });

  it('deviceMonitor: GET_CAPABILITIES answers 40 bytes (mvnc)', async () => {
    const { client } = await xlink();
    const monitor = await client.openStream('deviceMonitor', 2048);
    await client.write(monitor, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0));
    const caps = await client.read(monitor);
    expect(caps.length).toBe(40);
    expect(new DataView(caps.buffer, caps.byteOffset).getUint32(0, true)).toBeGreaterThan(0); // max_graphs
  });

  it('RESET: the device answers, resets, and comes back with its ROM PID', async () => {
    const { client, hub, port } = await xlink('ma2450', VSC.ma2450);
    await client.reset(hub.usb);
    expect((await hub.usb.getDevices()).map((d) => d.productId)).toEqual([0x2150]);
    expect(port.recorder!.events.some((e) => e.kind === 'machine.reset' && e.reason === 'watchdog expired')).toBe(true);
  });

  it('the 36-byte header build (NCSDK2) talks to a 36-byte client', async () => {
    const { client } = await xlink('ma2485', VSC.ncsdk2, 16);
    const stream = await client.openStream('ncsdk2', 256);
    await client.write(stream, pattern(200));
    expect((await client.read(stream)).length).toBe(200);
  });
});

describe('open VSC firmware: watchdog', () => {
  it('with OpenVINO\'s flag set, a host that stops pinging sees the device reset back to the ROM', async () => {
    const { hub, client } = await xlink('ma2485', withWatchdogFlag(VSC.ma2485));
    void client;
    await hub.sleep(2500);
    expect((await hub.usb.getDevices()).map((d) => d.productId)).toEqual([0x2485]);
  });

  it('WATCHDOG_PING every second keeps the device alive past the timeout', async () => {
    const { hub, client } = await xlink('ma2485', withWatchdogFlag(VSC.ma2485));
    const monitor = await client.openStream('deviceMonitor', 2048);
    for (let i = 0; i < 4; i++) {
      await client.write(monitor, Uint8Array.of(4, 0, 0, 0, 0, 0, 0, 0));
      await hub.sleep(1000);
    }
    expect((await hub.usb.getDevices()).map((d) => d.productId)).toEqual([0xf63b]);
    await client.ping();
  });
});

describe('open VSC firmware: bad input is answered and serving goes on', () => {
  it('garbage transfers, unknown types, huge sizes, unterminated names and unknown streams', async () => {
    const { client, device } = await xlink();
    await device.transferOut(1, pattern(300)); // not a header
    await device.transferOut(1, pattern(84)); // a header-sized pile of noise
    expect((await client.raw({ type: 99, name: '', streamId: 0, size: 0, flags: 0 }, undefined, 99))!.flags & XLinkFlag.NACK).toBe(XLinkFlag.NACK);
    const huge = await client.raw({ type: XLinkType.CREATE_STREAM_REQ, name: 'huge', streamId: 0, size: 0x40000000, flags: 0 }, undefined, XLinkType.CREATE_STREAM_RESP);
    expect(huge!.flags).toBe(XLinkFlag.SIZE_TOO_BIG);
    const unterminated = await client.raw({ type: XLinkType.CREATE_STREAM_REQ, name: '', nameBytes: new Uint8Array(64).fill(0x41), streamId: 0, size: 64, flags: 0 }, undefined, XLinkType.CREATE_STREAM_RESP);
    expect(unterminated!.flags & XLinkFlag.NACK).toBe(XLinkFlag.NACK);
    const unknown = await client.raw({ type: XLinkType.WRITE_REQ, name: 'x', streamId: 7, size: 16, flags: 0 }, pattern(16), XLinkType.WRITE_RESP);
    expect(unknown!.flags).toBe(XLinkFlag.NACK | XLinkFlag.NO_SUCH_STREAM);
    const stream = await client.openStream('small', 64);
    const tooBig = await client.raw({ type: XLinkType.WRITE_REQ, name: 'small', streamId: stream, size: 128, flags: 0 }, pattern(128), XLinkType.WRITE_RESP);
    expect(tooBig!.flags).toBe(XLinkFlag.NACK | XLinkFlag.SIZE_TOO_BIG);
    // Still serving.
    await client.ping();
    await client.write(stream, pattern(64, 9));
    expect((await client.read(stream)).length).toBe(64);
  });

  it('WRITEs without credit do not wedge the link: what fits is echoed, the rest is refused as bufferFull, PING answers', async () => {
    const { client } = await xlink();
    const stream = await client.openStream('flood', 1024);
    // Ten full-size packets at once, never reading the echoes: the ring holds two, the device
    // echoes as its own credit allows, and the rest are taken off the bus and refused.
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => client.raw({ type: XLinkType.WRITE_REQ, name: 'flood', streamId: stream, size: 1024, flags: 0 }, pattern(1024, i), XLinkType.WRITE_RESP)));
    const flags = answers.map((a) => a!.flags);
    expect(flags.filter((f) => f === XLinkFlag.ACK).length).toBeGreaterThanOrEqual(2);
    expect(flags.filter((f) => f === (XLinkFlag.NACK | XLinkFlag.BUFFER_FULL)).length).toBeGreaterThanOrEqual(1);
    expect(flags.every((f) => f === XLinkFlag.ACK || f === (XLinkFlag.NACK | XLinkFlag.BUFFER_FULL))).toBe(true);
    expect((await client.ping()).flags).toBe(XLinkFlag.ACK);
    const other = await client.openStream('other', 64);
    await client.write(other, pattern(64, 3));
    expect(await client.read(other)).toEqual(pattern(64, 3));
  });

  it('opening and closing a 16 MiB stream 40 times reuses its memory', async () => {
    const { client } = await xlink();
    for (let i = 0; i < 40; i++) {
      const stream = await client.openStream('big', 16 << 20);
      expect(await client.closeStream(stream)).toBe(true);
    }
    const stream = await client.openStream('big', 16 << 20);
    await client.write(stream, pattern(4096));
    expect((await client.read(stream)).length).toBe(4096);
  });

  it('host-side timeouts are real: a request the device cannot parse ends in an XLinkError, in virtual time', async () => {
    const { device, hub } = await booted();
    // A 36-byte client against the 84-byte firmware: the device sees garbage and stays silent.
    const started = hub.now;
    await expect(XLinkClient.connect(device, { sleep: (ms) => hub.sleep(ms), nameLength: 16, timeoutMs: 500 })).rejects.toThrow(XLinkError);
    expect((hub.now - started) / 1e6).toBeGreaterThanOrEqual(500);
  });
});

describe('open VSC firmware: traces', () => {
  it('a whole session (boot, XLink, echo, reset) replays bit-identically', async () => {
    const { client, hub, port } = await xlink();
    const stream = await client.openStream('trace', 1024);
    await client.write(stream, pattern(1000));
    await client.read(stream);
    await client.reset(hub.usb);
    const events = port.recorder!.events;
    expect(events.length).toBeGreaterThan(300);
    const result = replay(ma2485, events);
    expect(result.divergence).toBeNull();
    expect(result.ok).toBe(true);
  });
});


describe('open VSC firmware: Luxonis timestamps in XLink headers', () => {
  /** Luxonis' 84-byte header: a 52-byte name from byte 8, then u32 nanoseconds, seconds low, seconds high. */
  const stampOf = (header: Uint8Array) => {
    const v = new DataView(header.buffer, header.byteOffset, header.byteLength);
    return { ns: v.getUint32(60, true), seconds: v.getUint32(64, true) + v.getUint32(68, true) * 2 ** 32 };
  };
  /** Every XLink header the device sent (84 bytes on EP 0x81, a type the device sends), with when it reached the host. */
  const deviceHeaders = (events: readonly import('../../emu/events/event.js').MachineEvent[]) =>
    events.flatMap((e) => {
      if (e.kind !== 'usb.transfer.done' || e.endpoint !== 0x81 || !e.data || e.data.length !== 84) return [];
      const type = new DataView(e.data.buffer, e.data.byteOffset).getInt32(4, true);
      return type >= 0 && type <= 14 ? [{ header: e.data, type, at: e.t }] : [];
    });

  it('each header the device sends carries the virtual time it was made, increasing', async () => {
    const { client, hub, port } = await xlink();
    await client.ping();
    await hub.sleep(5);
    await client.ping();
    await hub.sleep(1500); // past a second: the seconds count, the nanoseconds start again
    const stream = await client.openStream('echo', 256);
    await client.write(stream, pattern(100));
    await client.read(stream);
    const headers = deviceHeaders(port.recorder!.events);
    // PING_RESP x3 (connect and two pings), CREATE_STREAM_RESP, WRITE_RESP, the echo's WRITE_REQ, READ_REL_RESP.
    expect(headers.length).toBeGreaterThanOrEqual(6);
    let last = -1;
    for (const { header, at } of headers) {
      const { ns, seconds } = stampOf(header);
      expect(ns).toBeLessThan(1e9);
      const made = seconds * 1e9 + ns;
      // Made before it reached the host, and not long before (TIM0 ticks at the system clock).
      expect(made).toBeLessThanOrEqual(at);
      expect(at - made).toBeLessThan(1e6);
      expect(made).toBeGreaterThanOrEqual(last);
      last = made;
    }
    const pings = headers.filter((h) => h.type === XLinkType.PING_RESP).map((h) => stampOf(h.header));
    expect(pings).toHaveLength(3);
    const [, second, third] = pings.map((p) => p.seconds * 1e9 + p.ns);
    expect(third! - second!).toBeGreaterThanOrEqual(5e6);
    const opened = stampOf(headers.find((h) => h.type === XLinkType.CREATE_STREAM_RESP)!.header);
    expect(opened.seconds).toBeGreaterThan(pings[2]!.seconds);
  });

  it('OpenVINO-style clients are unaffected: names end at their NUL, and a name past 51 bytes keeps its bytes and gets no time', async () => {
    const { client, port } = await xlink();
    const short = await client.openStream('echo', 64);
    const long = 'n'.repeat(63); // the longest name a 64-byte field holds
    const longStream = await client.openStream(long, 64);
    await client.write(longStream, pattern(64, 7));
    expect(Buffer.from(await client.read(longStream)).equals(Buffer.from(pattern(64, 7)))).toBe(true);
    await client.write(short, pattern(10));
    expect((await client.read(short)).length).toBe(10);
    const headers = deviceHeaders(port.recorder!.events);
    const named = (h: { header: Uint8Array }) => Buffer.from(h.header.subarray(8, 72)).toString('latin1').replace(/\0.*$/s, '');
    const longOnes = headers.filter((h) => named(h) === long);
    expect(longOnes.length).toBeGreaterThanOrEqual(2); // CREATE_STREAM_RESP, WRITE_RESP, the echo
    for (const h of longOnes) expect(Buffer.from(h.header.subarray(8, 72)).toString('latin1')).toBe(`${long}\0`);
    const shortOnes = headers.filter((h) => named(h) === 'echo');
    expect(shortOnes.length).toBeGreaterThanOrEqual(2);
    for (const h of shortOnes) {
      expect(h.header.subarray(12, 60).every((b) => b === 0)).toBe(true); // the rest of the name field
      expect(stampOf(h.header).seconds * 1e9 + stampOf(h.header).ns).toBeGreaterThan(0);
      // And the host library's decode gives the name alone.
      expect(client.decode(new DataView(h.header.buffer, h.header.byteOffset, 84)).name).toBe('echo');
    }
  });
});

describe('open VSC firmware: USB version', () => {
  it('reports USB 2.00, so a host asks for no BOS descriptor; asked anyway, the device STALLs', async () => {
    const { device } = await booted();
    await device.open();
    const setup = (type: number, length: number) => device.controlTransferIn({ requestType: 'standard', recipient: 'device', request: 6, value: type << 8, index: 0 }, length);
    const descriptor = await setup(1, 18);
    expect(descriptor.status).toBe('ok');
    expect(descriptor.data!.getUint16(2, true)).toBe(0x0200);
    const bos = await setup(15, 5);
    expect(bos.status).toBe('stall');
  });
});
