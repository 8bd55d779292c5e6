import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bootDevice } from '../../emu/host/boot.js';
import { XLinkClient } from '../../emu/host/xlink.js';
import { Stick } from '../../emu/machine/stick.js';
import { ma2485 } from '../../emu/models/index.js';
import { MAX_TRANSFERS_IN_FLIGHT } from '../../emu/serve/stick-server.js';
import { UsbredirServer } from '../../emu/serve/usbredir-server.js';
import { RemoteDevice, UsbredirClient } from '../support/usbredir-client.js';

const VSC = readFileSync(new URL('../../firmware-stubs/vsc/vsc-ma2485.mvcmd', import.meta.url));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('usbredir server', () => {
  let server: UsbredirServer;
  let stick: Stick;
  const lines: string[] = [];

  beforeAll(async () => {
    stick = new Stick({ model: ma2485 });
    server = await UsbredirServer.listen(stick, { port: 0, log: (line) => lines.push(line) });
  });
  afterAll(() => server.close());

  const connected = async (caps?: number) => {
    while (server.busy) await sleep(2); // the last client's hang-up has reached the server
    const client = await UsbredirClient.open(server.address.port, caps);
    await client.waitFor(() => client.device !== null);
    return client;
  };

  it('says hello with the capabilities QEMU needs, then describes the ROM device before connecting it', async () => {
    const client = await connected();
    expect(client.serverVersion).toMatch(/myriad-emu/);
    for (const cap of [1, 3, 4, 5, 6]) expect((client.serverCaps >> cap) & 1).toBe(1); // version, ack, mps, 64-bit ids, 32-bit bulk
    const order = client.received.map((p) => p.type).filter((t) => t === 1 || t === 4 || t === 5);
    expect(order).toEqual([4, 5, 1]);
    expect([client.device!.vendorId.toString(16), client.device!.productId.toString(16)]).toEqual(['3e7', '2485']);
    expect(client.interfaceCount).toBe(1);
    expect(client.endpoints()).toEqual(expect.arrayContaining([expect.objectContaining({ endpointNumber: 1, direction: 'out', type: 'bulk', packetSize: 512 })]));
    const descriptor = await client.device!.controlTransferIn({ requestType: 0x80, request: 6, value: 0x0100, index: 0 }, 18);
    expect(descriptor.status).toBe('ok');
    expect([descriptor.data.getUint16(8, true), descriptor.data.getUint16(10, true)]).toEqual([0x03e7, 0x2485]);
    client.close();
    await client.waitFor(() => lines.some((l) => l.includes('closed')));
  });

  it('boots the firmware over the wire, re-enumerates as f63b, runs XLink, and comes back as 2485 on reset', async () => {
    const client = await connected();
    const rom = client.device!;
    const result = await bootDevice(client.usb, rom, VSC, { sleep, reattachTimeoutMs: 5000 });
    expect(result.detached).toBe(true);
    const booted = result.reattached as RemoteDevice;
    expect(booted.productId).toBe(0xf63b);
    // The disconnect was acknowledged before the new device came: ack, then connect.
    const types = client.received.map((p) => p.type);
    expect(types.lastIndexOf(2)).toBeLessThan(types.lastIndexOf(1));
    const xlink = await XLinkClient.connect(booted, { sleep, timeoutMs: 5000 });
    await xlink.ping();
    const stream = await xlink.openStream('echo', 64 * 1024);
    const payload = new Uint8Array(40_000).map((_, i) => i * 7);
    await xlink.write(stream, payload);
    expect(Buffer.compare(Buffer.from(await xlink.read(stream)), Buffer.from(payload))).toBe(0);
    await xlink.close(client.usb, 10_000);
    expect(client.device?.productId).toBe(0x2485);
    client.close();
  }, 30_000);

  it('holds a bulk IN until cancelled, and answers the cancel with the same id', async () => {
    const client = await connected();
    await client.device!.selectConfiguration(1); // an unconfigured device STALLs bulk
    const { id, reply } = (client.device as RemoteDevice).startIn(1, 64);
    await sleep(50);
    let answered = false;
    void reply.then(() => (answered = true));
    await sleep(20);
    expect(answered).toBe(false); // the ROM has nothing to say: the IN waits
    client.sendRaw(21, id, Buffer.alloc(0));
    const packet = await reply;
    expect(packet.type).toBe(101);
    expect(packet.id).toBe(id);
    expect(packet.body[1]).toBe(1); // cancelled
    client.close();
  });

  it('interleaved cancels: each held IN is answered cancelled under its own id; unknown ids are ignored', async () => {
    const client = await connected();
    await client.device!.selectConfiguration(1);
    const device = client.device as RemoteDevice;
    const ins = [device.startIn(1, 64), device.startIn(1, 64), device.startIn(1, 64)];
    const answered: bigint[] = [];
    for (const i of ins) void i.reply.then((p) => answered.push(p.id));
    await sleep(30);
    client.sendRaw(21, ins[1]!.id, Buffer.alloc(0));
    client.sendRaw(21, 999n, Buffer.alloc(0)); // never sent: nothing happens
    client.sendRaw(21, ins[0]!.id, Buffer.alloc(0));
    const [second, first] = await Promise.all([ins[1]!.reply, ins[0]!.reply]);
    expect([second.body[1], first.body[1]]).toEqual([1, 1]);
    await sleep(30);
    expect(answered.sort()).toEqual([ins[0]!.id, ins[1]!.id].sort());
    client.sendRaw(21, ins[1]!.id, Buffer.alloc(0)); // already answered: ignored
    client.sendRaw(21, ins[2]!.id, Buffer.alloc(0));
    expect((await ins[2]!.reply).body[1]).toBe(1);
    // The connection is still good.
    const descriptor = await device.controlTransferIn({ requestType: 0x80, request: 6, value: 0x0100, index: 0 }, 18);
    expect(descriptor.status).toBe('ok');
    client.close();
  });

  it('get_configuration, and set/get alt setting: alternate 0 exists, alternate 1 STALLs', async () => {
    const client = await connected();
    await client.device!.selectConfiguration(1);
    const configuration = await client.request(7, Buffer.alloc(0)).reply;
    expect([configuration.type, configuration.body[0], configuration.body[1]]).toEqual([8, 0, 1]);
    const before = await client.request(10, Buffer.from([0])).reply;
    expect([before.type, ...before.body]).toEqual([11, 0, 0, 0]); // never set: alternate 0
    const set0 = await client.request(9, Buffer.from([0, 0])).reply;
    expect([set0.type, ...set0.body]).toEqual([11, 0, 0, 0]); // alt_setting_status: success, interface 0, alt 0
    const set1 = await client.request(9, Buffer.from([0, 1])).reply;
    expect([set1.type, set1.body[0], set1.body[2]]).toEqual([11, 4, 0]); // stall; still alternate 0
    const get = await client.request(10, Buffer.from([0])).reply;
    expect([get.type, ...get.body]).toEqual([11, 0, 0, 0]);
    const unknown = await client.request(10, Buffer.from([5])).reply;
    expect(unknown.body[0]).toBe(2); // inval: no interface 5
    client.close();
  });

  it('a reset from the host resets the stick and restores its address and configuration', async () => {
    const client = await connected();
    await client.device!.selectConfiguration(1);
    const events: string[] = [];
    const stop = stick.log.subscribe((e) => events.push(e.kind === 'usb.state' ? `${e.state}:${e.address}:${e.configuration}` : e.kind));
    client.sendRaw(3, 0n, Buffer.alloc(0));
    await client.waitFor(() => events.includes('configured:1:1'));
    expect(events.filter((e) => e === 'host.reset' || e.includes(':'))).toEqual(['host.reset', 'default:0:0', 'address:1:0', 'configured:1:1']);
    const configuration = await client.device!.controlTransferIn({ requestType: 0x80, request: 8, value: 0, index: 0 }, 1);
    expect(configuration.data.getUint8(0)).toBe(1);
    stop();
    client.close();
  });

  it('a client that leaves mid-transfer has its transfer cancelled on the stick', async () => {
    const client = await connected();
    const events: string[] = [];
    const stop = stick.log.subscribe((e) => events.push(e.kind === 'usb.transfer.done' ? `done:${e.status}` : e.kind));
    await client.device!.selectConfiguration(1);
    (client.device as RemoteDevice).startIn(1, 64);
    await sleep(30);
    client.close();
    await client.waitFor(() => events.includes('done:cancelled'));
    expect(events).toContain('host.cancel');
    stop();
  });

  it('refuses a second client while one is connected, and serves the next one after', async () => {
    const first = await connected();
    const second = await UsbredirClient.open(server.address.port);
    await second.waitFor(() => second.closed);
    expect(lines.at(-1)).toMatch(/refused, the device is in use/);
    first.close();
    await first.waitFor(() => first.closed);
    await sleep(20);
    const third = await connected();
    expect(third.device?.productId).toBe(0x2485);
    third.close();
  });

  it.each([
    ['an unknown packet type', (c: UsbredirClient) => c.sendRaw(77, 1n, Buffer.alloc(4)), /unknown packet type 77/],
    ['a length past the cap', (c: UsbredirClient) => c.write(Buffer.from([101, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 1, 0, 0, 0, 0, 0, 0, 0])), /claims 2147483647 bytes/],
    ['a header shorter than its type needs', (c: UsbredirClient) => c.sendRaw(100, 1n, Buffer.alloc(3)), /has 3 bytes, its header needs 10/],
    ['a packet only a device sends', (c: UsbredirClient) => c.sendRaw(1, 1n, Buffer.alloc(10)), /not one a host sends/],
    ['a second hello', (c: UsbredirClient) => c.sendRaw(0, 0n, Buffer.alloc(68)), /a second hello/],
  ])('%s closes that connection with a logged reason; the server and stick stay up', async (_name, send, reason) => {
    const client = await connected();
    send(client);
    await client.waitFor(() => client.closed);
    expect(lines.at(-1)).toMatch(reason);
    const next = await connected();
    const descriptor = await next.device!.controlTransferIn({ requestType: 0x80, request: 6, value: 0x0100, index: 0 }, 18);
    expect(descriptor.status).toBe('ok');
    next.close();
    await next.waitFor(() => next.closed);
  });

  it('a truncated header followed by a hang-up loses nothing and keeps the server up', async () => {
    while (server.busy) await sleep(2);
    const socket = connect(server.address.port, '127.0.0.1').resume(); // reads (and drops) the hello
    const closed = new Promise((r) => socket.once('close', r));
    await new Promise((r) => socket.once('connect', r));
    socket.end(Buffer.from([0, 0, 0, 0, 68, 0]));
    await closed;
    expect(lines.at(-1)).toMatch(/closed \(client hung up\)/);
    const next = await connected();
    expect(next.device?.vendorId).toBe(0x03e7);
    next.close();
  });
});

/** usbredir packets, many at once: bulk IN requests and GET_DESCRIPTOR(device) control requests. */
function burst(client: UsbredirClient, count: number, firstId: bigint, body: Buffer, type: number): Buffer {
  const one = client.encode(type, 0n, body);
  const out = Buffer.alloc(one.length * count);
  for (let i = 0; i < count; i++) {
    one.copy(out, i * one.length);
    out.writeBigUInt64LE(firstId + BigInt(i), i * one.length + 8);
  }
  return out;
}
const BULK_IN_64 = Buffer.from([0x81, 0, 64, 0, 0, 0, 0, 0, 0, 0]);
const GET_DEVICE_DESCRIPTOR = Buffer.from([0x80, 6, 0x80, 0, 0x00, 0x01, 0, 0, 18, 0]);

describe('usbredir server under hostile clients', () => {
  let hostileServer: UsbredirServer;
  let otherServer: UsbredirServer;
  const lines: string[] = [];

  beforeAll(async () => {
    hostileServer = await UsbredirServer.listen(new Stick({ model: ma2485 }), { port: 0, log: (line) => lines.push(line), helloTimeoutMs: 300 });
    otherServer = await UsbredirServer.listen(new Stick({ model: ma2485, chipId: 0x1234n }), { port: 0 });
  });
  afterAll(async () => {
    await hostileServer.close();
    await otherServer.close();
  });

  const clients: UsbredirClient[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  const connected = async (server: UsbredirServer) => {
    while (server.busy) await sleep(2);
    const client = await UsbredirClient.open(server.address.port);
    clients.push(client);
    await client.waitFor(() => client.device !== null);
    return client;
  };
  /** Wall time of one GET_DESCRIPTOR round trip. */
  const roundTrip = async (client: UsbredirClient) => {
    const started = performance.now();
    const answer = await client.device!.controlTransferIn({ requestType: 0x80, request: 6, value: 0x0100, index: 0 }, 18);
    expect(answer.status).toBe('ok');
    return performance.now() - started;
  };

  it('200 000 bulk INs: the cap is held and the rest refused; the hang-up is quick and the other port answers all along', async () => {
    const stick = hostileServer.stick;
    const client = await connected(hostileServer);
    const bystander = await connected(otherServer);
    await client.device!.selectConfiguration(1);
    let submitted = 0;
    let cancelled = 0;
    const stop = stick.log.subscribe((e) => {
      if (e.kind === 'host.transfer') submitted++;
      else if (e.kind === 'usb.transfer.done' && e.status === 'cancelled') cancelled++;
    });
    const refused = () => client.received.filter((p) => p.type === 101 && p.body[1] === 3).length;
    const count = 200_000;
    client.write(burst(client, count, 1000n, BULK_IN_64, 101));
    const started = performance.now();
    // Every request is either held by the stick or refused (ioerror) at once.
    while (submitted + refused() < count && performance.now() - started < 20_000) {
      expect(await roundTrip(bystander)).toBeLessThan(1000);
      await sleep(20);
    }
    expect(submitted).toBe(MAX_TRANSFERS_IN_FLIGHT);
    expect(refused()).toBe(count - MAX_TRANSFERS_IN_FLIGHT);
    const hungUp = performance.now();
    client.close();
    await client.waitFor(() => cancelled === submitted, 10_000);
    expect(performance.now() - hungUp).toBeLessThan(2000);
    expect(await roundTrip(bystander)).toBeLessThan(200);
    stop();
  }, 60_000);

  it('a flood of control requests that never reads its answers: reading stops, memory stays bounded, the other port answers', async () => {
    const stick = hostileServer.stick;
    const client = await connected(hostileServer);
    const bystander = await connected(otherServer);
    let handled = 0;
    const stop = stick.log.subscribe((e) => e.kind === 'host.control' && handled++);
    client.setReading(false);
    const count = 400_000;
    const heapBefore = process.memoryUsage().heapUsed;
    client.write(burst(client, count, 10n, GET_DEVICE_DESCRIPTOR, 100));
    // Wait for the server to stop taking requests (the answers it owes are queued up).
    let last = -1;
    const started = performance.now();
    while (handled !== last && performance.now() - started < 15_000) {
      last = handled;
      expect(await roundTrip(bystander)).toBeLessThan(1000);
      await sleep(300);
    }
    expect(handled).toBe(last); // it stopped
    expect(handled).toBeLessThan(count / 2);
    expect(hostileServer.queuedOutputBytes).toBeLessThan(4 << 20);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(200 << 20);
    // A client that reads again is served again.
    client.setReading(true);
    await client.waitFor(() => handled > last + 10_000, 10_000);
    stop();
  }, 60_000);

  it('a control OUT with wLength 0xFFFF and 8 MiB of data is refused (inval) before the stick', async () => {
    const client = await connected(hostileServer);
    let largest = -1;
    const stop = hostileServer.stick.log.subscribe((e) => e.kind === 'host.control' && (largest = Math.max(largest, e.data?.length ?? 0)));
    const head = Buffer.from([0x00, 0x55, 0x40, 0, 0, 0, 0, 0, 0xff, 0xff]);
    const reply = await client.request(100, Buffer.concat([head, Buffer.alloc(8 << 20, 0x5a)])).reply;
    expect(reply.body[3]).toBe(2);
    expect(largest).toBe(-1);
    stop();
  });

  it('a flood of resets is carried out as two at most, and the device ends reset and configured', async () => {
    // A stick of its own: after the floods above, the other one's virtual time is far ahead of
    // the wall clock, and a reset waits for its 10 ms in virtual time.
    const server = await UsbredirServer.listen(new Stick({ model: ma2485 }), { port: 0 });
    try {
      const client = await connected(server);
      await client.device!.selectConfiguration(1);
      const states: string[] = [];
      let resets = 0;
      const stop = server.stick.log.subscribe((e) => {
        if (e.kind === 'host.reset') resets++;
        if (e.kind === 'usb.state') states.push(`${e.state}:${e.configuration}`);
      });
      client.write(Buffer.concat(Array.from({ length: 1000 }, () => client.encode(3, 0n, Buffer.alloc(0)))));
      await client.waitFor(() => resets === 2 && states.at(-1) === 'configured:1');
      await sleep(100);
      expect(resets).toBe(2);
      expect(await roundTrip(client)).toBeLessThan(1000);
      stop();
    } finally {
      await server.close();
    }
  });

  it('a client that never says hello is dropped after the hello timeout, and the next one is served', async () => {
    while (hostileServer.busy) await sleep(2);
    const silent = connect(hostileServer.address.port, '127.0.0.1').resume();
    const closed = new Promise((r) => silent.once('close', r));
    const started = performance.now();
    await closed;
    expect(performance.now() - started).toBeLessThan(2000);
    expect(lines.at(-1)).toMatch(/closed \(no hello within 300 ms\)/);
    const next = await connected(hostileServer);
    expect(next.device?.vendorId).toBe(0x03e7);
  });
});
