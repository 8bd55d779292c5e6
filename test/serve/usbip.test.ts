import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Stick } from '../../emu/machine/stick.js';
import { ma2485 } from '../../emu/models/index.js';
import { MAX_TRANSFERS_IN_FLIGHT } from '../../emu/serve/stick-server.js';
import { UsbipServer } from '../../emu/serve/usbip-server.js';
import { TraceWriter } from '../../emu/trace/format.js';
import { encodeMvcmd } from '../../emu/rom/mvcmd.js';
import { haveTools } from '../support/require-tool.js';

const VSC = readFileSync(new URL('../../firmware-stubs/vsc/vsc-ma2485.mvcmd', import.meta.url));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A USB/IP client written from usbip_protocol.rst: operations, then URBs. */
class Client {
  private buffer = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  closed = false;
  private seq = 1;
  /** A flood's answers are counted, not kept: bytes received since `discard` was set. */
  discard = false;
  discarded = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      if (this.discard) {
        if (this.discarded < 48) this.buffer = Buffer.concat([this.buffer, d.subarray(0, 48 - this.discarded)]);
        this.discarded += d.length;
        return;
      }
      this.buffer = Buffer.concat([this.buffer, d]);
      this.waiting?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiting?.();
    });
  }

  static async open(port: number): Promise<Client> {
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    return new Client(socket);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }

  /** Stops reading (a client that never reads its answers), or reads again. */
  setReading(on: boolean): void {
    if (on) this.socket.resume();
    else this.socket.pause();
  }

  /** The first answer of a flood (kept while discarding). */
  firstDiscarded(): Buffer {
    return this.buffer.subarray(0, 48);
  }

  async read(n: number, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffer.length < n) {
      if (this.closed) throw new Error('closed');
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise<void>((r) => {
        this.waiting = r;
        setTimeout(r, 20);
      });
    }
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  op(code: number, extra = Buffer.alloc(0)): void {
    const head = Buffer.alloc(8);
    head.writeUInt16BE(0x0111, 0);
    head.writeUInt16BE(code, 2);
    this.write(Buffer.concat([head, extra]));
  }

  async devlist(): Promise<{ busid: string; vendor: number; product: number; interfaces: number[][] }[]> {
    this.op(0x8005);
    const head = await this.read(12);
    expect(head.readUInt16BE(2)).toBe(0x0005);
    const devices = [];
    for (let i = head.readUInt32BE(8); i > 0; i--) {
      const d = await this.read(312);
      const interfaces = [];
      for (let n = d[311]!; n > 0; n--) interfaces.push([...(await this.read(4)).subarray(0, 3)]);
      devices.push({ busid: d.toString('latin1', 256, 288).replace(/\0.*$/s, ''), vendor: d.readUInt16BE(300), product: d.readUInt16BE(302), interfaces });
    }
    return devices;
  }

  async import(busid: string): Promise<number> {
    const id = Buffer.alloc(32);
    id.write(busid, 'latin1');
    this.op(0x8003, id);
    const head = await this.read(8);
    if (head.readUInt32BE(4) !== 0) return head.readUInt32BE(4);
    const d = await this.read(312);
    return d.readUInt16BE(302);
  }

  /** CMD_SUBMIT; returns its seqnum. */
  submit(ep: number, dirIn: boolean, length: number, setup = Buffer.alloc(8), data?: Uint8Array): number {
    const seqnum = this.seq++;
    this.write(Client.submitBytes(seqnum, ep, dirIn, length, setup, data));
    return seqnum;
  }

  /** `count` CMD_SUBMITs with seqnums from `first` on, as one buffer. */
  static burst(count: number, first: number, ep: number, dirIn: boolean, length: number, setup?: Uint8Array): Buffer {
    const one = Client.submitBytes(first, ep, dirIn, length, setup);
    const out = Buffer.alloc(one.length * count);
    for (let i = 0; i < count; i++) {
      one.copy(out, i * one.length);
      out.writeUInt32BE(first + i, i * one.length + 4);
    }
    return out;
  }

  private static submitBytes(seqnum: number, ep: number, dirIn: boolean, length: number, setup: Uint8Array = Buffer.alloc(8), data?: Uint8Array): Buffer {
    const head = Buffer.alloc(48);
    head.writeUInt32BE(1, 0);
    head.writeUInt32BE(seqnum, 4);
    head.writeUInt32BE(0x00010001, 8);
    head.writeUInt32BE(dirIn ? 1 : 0, 12);
    head.writeUInt32BE(ep, 16);
    head.writeInt32BE(length, 24);
    head.set(setup.subarray(0, 8), 40);
    return data ? Buffer.concat([head, data]) : head;
  }

  /** The next RET_SUBMIT or RET_UNLINK: command, seqnum, status, and data of an IN. */
  async reply(dirIn: boolean): Promise<{ command: number; seqnum: number; status: number; data: Buffer }> {
    const head = await this.read(48);
    const command = head.readUInt32BE(0);
    const actual = head.readInt32BE(24);
    const data = command === 3 && dirIn && actual > 0 ? await this.read(actual) : Buffer.alloc(0);
    return { command, seqnum: head.readUInt32BE(4), status: head.readInt32BE(20), data };
  }

  async control(setup: number[], dirIn: boolean, length: number) {
    this.submit(0, dirIn, length, Buffer.from(setup));
    return this.reply(dirIn);
  }
}

describe('USB/IP server', () => {
  let server: UsbipServer;
  let stick: Stick;
  const lines: string[] = [];

  beforeAll(async () => {
    stick = new Stick({ model: ma2485 });
    server = await UsbipServer.listen(stick, { port: 0, log: (line) => lines.push(line) });
    while (!server.runner.current) await sleep(5);
  });
  afterAll(() => server.close());

  const idle = async () => {
    while (server.busy) await sleep(2);
  };

  it.runIf(haveTools('usbip'))("Linux's usbip tool lists the stick", async () => {
    // Asynchronously: the server runs in this process.
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile('usbip', ['--tcp-port', String(server.address.port), 'list', '-r', '127.0.0.1'], { timeout: 20_000 }, (error, stdout, stderr) =>
        resolve({ status: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
      );
      child.stdin?.end();
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1-1: .*\(03e7:2485\)/);
    expect(r.stdout).toMatch(/: +0 - Vendor Specific Class .*\(ff\/11\/ff\)/);
  });

  it('lists, imports, boots the stick with URBs, loses the import at re-enumeration, and imports the new identity', async () => {
    await idle();
    const client = await Client.open(server.address.port);
    expect(await client.devlist()).toEqual([{ busid: '1-1', vendor: 0x03e7, product: 0x2485, interfaces: [[0xff, 0x11, 0xff]] }]);
    client.close();
    const importer = await Client.open(server.address.port);
    expect(await importer.import('1-1')).toBe(0x2485);
    const descriptor = await importer.control([0x80, 6, 0, 1, 0, 0, 18, 0], true, 18);
    expect([descriptor.command, descriptor.status, descriptor.data.readUInt16LE(8), descriptor.data.readUInt16LE(10)]).toEqual([3, 0, 0x03e7, 0x2485]);
    expect((await importer.control([0, 9, 1, 0, 0, 0, 0, 0], false, 0)).status).toBe(0);
    importer.submit(1, false, VSC.length, undefined, VSC);
    expect((await importer.reply(false)).status).toBe(0);
    await importer.read(1, 3000).catch(() => undefined); // the import ends with the device
    expect(importer.closed).toBe(true);
    expect(lines.at(-1)).toMatch(/closed \(the device left the bus .*import it again\)/);
    let list: Awaited<ReturnType<Client['devlist']>> = [];
    for (let i = 0; i < 100 && list[0]?.product !== 0xf63b; i++) {
      await sleep(20);
      const c = await Client.open(server.address.port);
      list = await c.devlist();
      c.close();
    }
    expect(list[0]).toMatchObject({ vendor: 0x03e7, product: 0xf63b, interfaces: [[0xff, 0, 0]] });
    await idle();
    const again = await Client.open(server.address.port);
    expect(await again.import('1-1')).toBe(0xf63b);
    // An XLink ping by hand: an 84-byte header out, the answer in.
    expect((await again.control([0, 9, 1, 0, 0, 0, 0, 0], false, 0)).status).toBe(0);
    const ping = Buffer.alloc(84);
    ping.writeInt32LE(1, 0);
    ping.writeInt32LE(5, 4);
    again.submit(1, false, 84, undefined, ping);
    expect((await again.reply(false)).status).toBe(0);
    again.submit(1, true, 84);
    const answer = await again.reply(true);
    expect([answer.status, answer.data.readInt32LE(4)]).toEqual([0, 13]);
    again.close();
  }, 20_000);

  it('CMD_UNLINK cancels a pending URB on the stick: RET_UNLINK -ECONNRESET and no RET_SUBMIT', async () => {
    await idle();
    const client = await Client.open(server.address.port);
    expect(await client.import('1-1')).toBeGreaterThan(0);
    const cancels: number[] = [];
    const stop = stick.log.subscribe((e) => e.kind === 'host.cancel' && cancels.push(e.id));
    const held = client.submit(1, true, 84); // nothing to read: the IN waits
    await sleep(30);
    const head = Buffer.alloc(48);
    head.writeUInt32BE(2, 0);
    head.writeUInt32BE(99, 4);
    head.writeUInt32BE(held, 20);
    client.write(head);
    const reply = await client.reply(true);
    expect([reply.command, reply.seqnum, reply.status]).toEqual([4, 99, -104]);
    expect(cancels.length).toBe(1);
    // The next reply is for the next URB, not the unlinked one.
    expect((await client.control([0x80, 6, 0, 1, 0, 0, 18, 0], true, 18)).seqnum).toBe(held + 1);
    stop();
    client.close();
  });

  it.each([
    ['an unknown operation', Buffer.from([1, 17, 0x80, 0x99, 0, 0, 0, 0]), /unknown operation 0x8099/],
    ['another protocol version', Buffer.from([2, 0, 0x80, 5, 0, 0, 0, 0]), /protocol version 0x200/],
  ])('%s closes that connection with a logged reason', async (_name, bytes, reason) => {
    const client = await Client.open(server.address.port);
    client.write(bytes);
    await client.read(1).catch(() => undefined);
    expect(client.closed).toBe(true);
    expect(lines.at(-1)).toMatch(reason);
  });

  it.each([
    ['a URB larger than the cap', (c: Client) => c.submit(1, false, 0x7fffffff), /a URB of 2147483647 bytes/],
    ['an unknown command', (c: Client) => c.write(Buffer.alloc(48, 0x11)), /unknown command/],
    ['an isochronous URB', (c: Client) => c.write(Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]), Buffer.alloc(12), Buffer.from([0, 0, 0, 4]), Buffer.alloc(12)])), /isochronous/],
  ])('after an import, %s closes the connection; the stick stays listed', async (_name, send, reason) => {
    await idle();
    const client = await Client.open(server.address.port);
    expect(await client.import('1-1')).toBeGreaterThan(0);
    send(client);
    await client.read(1).catch(() => undefined);
    expect(client.closed).toBe(true);
    expect(lines.at(-1)).toMatch(reason);
    await idle();
    const next = await Client.open(server.address.port);
    expect((await next.devlist()).length).toBe(1);
    next.close();
  });

  it('a second import while one is active is refused', async () => {
    await idle();
    const first = await Client.open(server.address.port);
    expect(await first.import('1-1')).toBeGreaterThan(0);
    const second = await Client.open(server.address.port);
    expect(await second.import('1-1')).toBe(1);
    expect(lines.some((l) => /refused to import "1-1": already imported/.test(l))).toBe(true);
    first.close();
  });
});

describe('USB/IP server, large URBs', () => {
  it('a 4 MiB bulk OUT URB arriving in 997-byte pieces is taken whole, once', async () => {
    const server = await UsbipServer.listen(new Stick({ model: ma2485 }), { port: 0 });
    while (!server.runner.current) await sleep(5);
    const client = await Client.open(server.address.port);
    expect(await client.import('1-1')).toBe(0x2485);
    expect((await client.control([0, 9, 1, 0, 0, 0, 0, 0], false, 0)).status).toBe(0);
    // A valid ROM stream: the magic, then one 4 MiB load record into DDR.
    const stream = Buffer.from(encodeMvcmd([{ op: 'magic' }, { op: 'load', addr: 0x80000000, data: new Uint8Array(4 << 20).fill(0x3c) }]));
    const head = Buffer.alloc(48);
    head.writeUInt32BE(1, 0);
    head.writeUInt32BE(77, 4);
    head.writeUInt32BE(1, 16);
    head.writeInt32BE(stream.length, 24);
    const wire = Buffer.concat([head, stream]);
    for (let at = 0; at < wire.length; at += 997) client.write(wire.subarray(at, at + 997));
    const reply = await client.reply(false);
    expect([reply.seqnum, reply.status]).toEqual([77, 0]);
    expect(server.stick.bus.peek(0x80000000 + (4 << 20) - 4, 4)).toEqual(new Uint8Array(4).fill(0x3c));
    client.close();
    await server.close();
  });
});

describe('USB/IP server under hostile clients', () => {
  let server: UsbipServer;
  let other: UsbipServer;
  const clients: Client[] = [];
  const GET_DEVICE_DESCRIPTOR = [0x80, 6, 0, 1, 0, 0, 18, 0];

  beforeAll(async () => {
    server = await UsbipServer.listen(new Stick({ model: ma2485 }), { port: 0 });
    other = await UsbipServer.listen(new Stick({ model: ma2485, chipId: 0x1234n }), { port: 0 });
    while (!server.runner.current || !other.runner.current) await sleep(5);
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(async () => {
    await server.close();
    await other.close();
  });

  const imported = async (s: UsbipServer) => {
    while (s.busy) await sleep(2);
    const client = await Client.open(s.address.port);
    clients.push(client);
    expect(await client.import('1-1')).toBe(0x2485);
    expect((await client.control([0, 9, 1, 0, 0, 0, 0, 0], false, 0)).status).toBe(0);
    return client;
  };
  /** Wall time of one GET_DESCRIPTOR round trip. */
  const roundTrip = async (client: Client) => {
    const started = performance.now();
    expect((await client.control(GET_DEVICE_DESCRIPTOR, true, 18)).status).toBe(0);
    return performance.now() - started;
  };

  it('200 000 bulk IN URBs: the cap is held and the rest refused -ENOMEM; the hang-up is quick and the other port answers all along', async () => {
    const client = await imported(server);
    const bystander = await imported(other);
    let submitted = 0;
    let cancelled = 0;
    const stop = server.stick.log.subscribe((e) => {
      if (e.kind === 'host.transfer') submitted++;
      else if (e.kind === 'usb.transfer.done' && e.status === 'cancelled') cancelled++;
    });
    const count = 200_000;
    client.discard = true;
    client.write(Client.burst(count, 1000, 1, true, 64));
    const started = performance.now();
    while (submitted + client.discarded / 48 < count && performance.now() - started < 20_000) {
      expect(await roundTrip(bystander)).toBeLessThan(1000);
      await sleep(20);
    }
    expect(submitted).toBe(MAX_TRANSFERS_IN_FLIGHT);
    expect(client.discarded).toBe((count - MAX_TRANSFERS_IN_FLIGHT) * 48);
    const first = client.firstDiscarded();
    expect([first.readUInt32BE(0), first.readUInt32BE(4), first.readInt32BE(20)]).toEqual([3, 1000 + MAX_TRANSFERS_IN_FLIGHT, -12]);
    const hungUp = performance.now();
    client.close();
    while (cancelled < submitted && performance.now() - hungUp < 10_000) await sleep(5);
    expect(cancelled).toBe(submitted);
    expect(performance.now() - hungUp).toBeLessThan(2000);
    expect(await roundTrip(bystander)).toBeLessThan(200);
    stop();
  }, 60_000);

  it('a flood of control URBs that never reads its answers: reading stops, memory stays bounded, the other port answers', async () => {
    const client = await imported(server);
    const bystander = await imported(other);
    let handled = 0;
    const stop = server.stick.log.subscribe((e) => e.kind === 'host.control' && handled++);
    client.setReading(false);
    const count = 400_000;
    const heapBefore = process.memoryUsage().heapUsed;
    client.write(Client.burst(count, 10, 0, true, 18, Buffer.from(GET_DEVICE_DESCRIPTOR)));
    let last = -1;
    const started = performance.now();
    while (handled !== last && performance.now() - started < 15_000) {
      last = handled;
      expect(await roundTrip(bystander)).toBeLessThan(1000);
      await sleep(300);
    }
    expect(handled).toBe(last); // it stopped
    expect(handled).toBeLessThan(count / 2);
    expect(server.queuedOutputBytes).toBeLessThan(4 << 20);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(200 << 20);
    client.discard = true;
    client.setReading(true);
    const resumed = performance.now();
    while (handled < last + 10_000 && performance.now() - resumed < 10_000) await sleep(20);
    expect(handled).toBeGreaterThanOrEqual(last + 10_000);
    stop();
  }, 60_000);

  it('a control OUT URB with wLength 0xFFFF and an 8 MiB buffer is refused -EINVAL before the stick: the trace stays small', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'myriad-usbip-'));
    const stick = new Stick({ model: ma2485 });
    const writer = new TraceWriter(join(dir, 'bogus.myrtrace'), { emulator: 'test' });
    writer.attach(stick);
    const traced = await UsbipServer.listen(stick, { port: 0 });
    try {
      let largest = 0;
      stick.log.subscribe((e) => {
        if (e.kind === 'host.control' && e.data) largest = Math.max(largest, e.data.length);
      });
      while (!traced.runner.current) await sleep(5);
      const client = await imported(traced);
      const junk = randomBytes(8 << 20);
      const vendorOut = (length: number) => Buffer.from([0x40, 0x55, 0, 0, 0, 0, length & 0xff, length >> 8]);
      for (let i = 0; i < 4; i++) {
        client.submit(0, false, junk.length, vendorOut(0xffff), junk);
        expect((await client.reply(false)).status).toBe(-22);
      }
      // Short of wLength, or an IN with no room for wLength: refused the same way.
      client.submit(0, false, 100, vendorOut(0xffff), junk.subarray(0, 100));
      expect((await client.reply(false)).status).toBe(-22);
      expect((await client.control(GET_DEVICE_DESCRIPTOR, true, 8)).status).toBe(-22);
      // The data stage that wLength describes reaches the stick (which STALLs the request).
      client.submit(0, false, 0xffff, vendorOut(0xffff), junk.subarray(0, 0xffff));
      expect((await client.reply(false)).status).toBe(-32);
      expect(largest).toBe(0xffff);
      client.close();
    } finally {
      await traced.close();
      writer.close();
    }
    expect(statSync(join(dir, 'bogus.myrtrace')).size).toBeLessThan(1 << 20);
  });
});
