/**
 * The other end of a usbredir server, playing QEMU's usb-redir device: written from the
 * protocol document, not from the server. It also offers the device as WebUSB-shaped objects,
 * so the project's boot helper and XLink client run over the wire unchanged.
 */
import { connect, type Socket } from 'node:net';

const T = { hello: 0, device_connect: 1, device_disconnect: 2, reset: 3, interface_info: 4, ep_info: 5, set_configuration: 6, configuration_status: 8, cancel_data_packet: 21, device_disconnect_ack: 24, control_packet: 100, bulk_packet: 101 };

export interface Received {
  type: number;
  id: bigint;
  body: Buffer;
}

interface Endpoint {
  endpointNumber: number;
  direction: 'in' | 'out';
  type: string;
  packetSize: number;
}

export class UsbredirClient {
  private socket!: Socket;
  private buffer = Buffer.alloc(0);
  private longIds = false;
  private nextId = 1n;
  private readonly replies = new Map<bigint, (packet: Received) => void>();
  readonly received: Received[] = [];
  serverVersion = '';
  serverCaps = 0;
  /** The device the server announced last (null after device_disconnect). */
  device: RemoteDevice | null = null;
  private epInfo: Buffer | null = null;
  private interfaceInfo: Buffer | null = null;
  private readonly listeners = { connect: new Set<(e: Event & { device?: unknown }) => void>(), disconnect: new Set<(e: Event & { device?: unknown }) => void>() };
  closed = false;

  static async open(port: number, caps = 0b1111010): Promise<UsbredirClient> {
    const client = new UsbredirClient();
    client.socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => client.socket.once('connect', resolve).once('error', reject));
    client.socket.on('data', (chunk) => client.receive(chunk));
    client.socket.on('close', () => (client.closed = true));
    const hello = Buffer.alloc(68);
    hello.write('test client', 0, 'latin1');
    hello.writeUInt32LE(caps, 64);
    client.sendRaw(T.hello, 0n, hello, false);
    client.ownCaps = caps;
    return client;
  }

  private ownCaps = 0;

  close(): void {
    this.socket.destroy();
  }

  /** Bytes exactly as given (for hostile-input tests). */
  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  sendRaw(type: number, id: bigint, body: Uint8Array, longIds = this.longIds): void {
    this.socket.write(this.encode(type, id, body, longIds));
  }

  /** A packet's bytes with the id size in use, for a test that sends many at once. */
  encode(type: number, id: bigint, body: Uint8Array, longIds = this.longIds): Buffer {
    const head = Buffer.alloc(longIds ? 16 : 12);
    head.writeUInt32LE(type, 0);
    head.writeUInt32LE(body.length, 4);
    if (longIds) head.writeBigUInt64LE(id, 8);
    else head.writeUInt32LE(Number(id), 8);
    return Buffer.concat([head, body]);
  }

  /** Stops reading the server's packets (a client that does not read), or reads again. */
  setReading(on: boolean): void {
    if (on) this.socket.resume();
    else this.socket.pause();
  }

  /** Sends a packet and resolves with the server's packet of the same id. */
  request(type: number, body: Uint8Array): { id: bigint; reply: Promise<Received> } {
    const id = this.nextId++;
    const reply = new Promise<Received>((resolve) => this.replies.set(id, resolve));
    this.sendRaw(type, id, body);
    return { id, reply };
  }

  async waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headBytes = this.longIds ? 16 : 12;
      if (this.buffer.length < headBytes) return;
      const length = this.buffer.readUInt32LE(4);
      if (this.buffer.length < headBytes + length) return;
      const type = this.buffer.readUInt32LE(0);
      const id = this.longIds ? this.buffer.readBigUInt64LE(8) : BigInt(this.buffer.readUInt32LE(8));
      const body = Buffer.from(this.buffer.subarray(headBytes, headBytes + length));
      this.buffer = this.buffer.subarray(headBytes + length);
      this.handle({ type, id, body });
    }
  }

  private handle(packet: Received): void {
    this.received.push(packet);
    const { type, body } = packet;
    if (type === T.hello) {
      this.serverVersion = body.toString('latin1', 0, 64).replace(/\0.*$/s, '');
      this.serverCaps = body.readUInt32LE(64);
      this.longIds = ((this.serverCaps & this.ownCaps) >> 5) & 1 ? true : false;
      return;
    }
    if (type === T.interface_info) this.interfaceInfo = body;
    else if (type === T.ep_info) this.epInfo = body;
    else if (type === T.device_connect) {
      const device = new RemoteDevice(this, body.readUInt16LE(4), body.readUInt16LE(6), this.endpoints());
      this.device = device;
      for (const l of this.listeners.connect) l(Object.assign(new Event('connect'), { device }));
    } else if (type === T.device_disconnect) {
      const device = this.device;
      this.device = null;
      if (this.ownCaps & (1 << 3)) this.sendRaw(T.device_disconnect_ack, 0n, Buffer.alloc(0));
      for (const l of this.listeners.disconnect) l(Object.assign(new Event('disconnect'), { device }));
    }
    // The server's own announcements carry id 0; replies carry the id of the request (from 1).
    const waiter = packet.id > 0n ? this.replies.get(packet.id) : undefined;
    if (waiter) {
      this.replies.delete(packet.id);
      waiter(packet);
    }
  }

  /** The endpoints the last ep_info and interface_info describe. */
  endpoints(): Endpoint[] {
    const out: Endpoint[] = [];
    if (!this.epInfo) return out;
    for (let index = 1; index < 32; index++) {
      if (index === 16) continue;
      const type = this.epInfo[index]!;
      if (type === 255) continue;
      out.push({ endpointNumber: index & 15, direction: index >= 16 ? 'in' : 'out', type: ['control', 'isochronous', 'bulk', 'interrupt'][type]!, packetSize: this.epInfo.readUInt16LE(96 + 2 * index) });
    }
    return out;
  }

  get interfaceCount(): number {
    return this.interfaceInfo?.readUInt32LE(0) ?? 0;
  }

  // ---- WebUSB-shaped: navigator.usb

  readonly usb = {
    getDevices: async () => (this.device ? [this.device] : []),
    addEventListener: (type: 'connect' | 'disconnect', l: (e: Event & { device?: unknown }) => void) => this.listeners[type].add(l),
    removeEventListener: (type: 'connect' | 'disconnect', l: (e: Event & { device?: unknown }) => void) => this.listeners[type].delete(l),
  };
}

const STATUS = ['ok', 'cancelled', 'inval', 'ioerror', 'stall', 'timeout', 'babble'];

/** A device as WebUSB shows it, driven through usbredir packets. */
export class RemoteDevice {
  readonly usbVersionMajor = 2;
  opened = false;
  configuration: { interfaces: { interfaceNumber: number; alternate: { endpoints: Endpoint[] } }[] } | null;

  constructor(
    private readonly client: UsbredirClient,
    readonly vendorId: number,
    readonly productId: number,
    endpoints: Endpoint[],
  ) {
    this.configuration = { interfaces: [{ interfaceNumber: 0, alternate: { endpoints } }] };
  }

  async open(): Promise<void> {
    this.opened = true;
  }

  async selectConfiguration(value: number): Promise<void> {
    const status = await this.client.request(T.set_configuration, Buffer.from([value])).reply;
    if (status.body[0] !== 0) throw new Error(`set_configuration: ${STATUS[status.body[0]!]}`);
    this.configuration = { interfaces: [{ interfaceNumber: 0, alternate: { endpoints: this.client.endpoints() } }] };
  }

  async claimInterface(): Promise<void> {}

  async controlTransferIn(setup: { requestType: number; request: number; value: number; index: number }, length: number) {
    const head = Buffer.alloc(10);
    head[0] = 0x80;
    head[1] = setup.request;
    head[2] = setup.requestType;
    head.writeUInt16LE(setup.value, 4);
    head.writeUInt16LE(setup.index, 6);
    head.writeUInt16LE(length, 8);
    const reply = await this.client.request(T.control_packet, head).reply;
    return { status: STATUS[reply.body[3]!]!, data: new DataView(reply.body.buffer, reply.body.byteOffset + 10, reply.body.length - 10) };
  }

  async transferOut(endpointNumber: number, data: Uint8Array) {
    const head = Buffer.alloc(10);
    head[0] = endpointNumber;
    head.writeUInt16LE(data.length & 0xffff, 2);
    head.writeUInt16LE(Math.floor(data.length / 0x10000), 8);
    const reply = await this.client.request(T.bulk_packet, Buffer.concat([head, data])).reply;
    return { status: STATUS[reply.body[1]!]!, bytesWritten: reply.body.readUInt16LE(2) + reply.body.readUInt16LE(8) * 0x10000 };
  }

  /** Starts a bulk IN; `reply` resolves when the device has data (the server holds it). */
  startIn(endpointNumber: number, length: number) {
    const head = Buffer.alloc(10);
    head[0] = 0x80 | endpointNumber;
    head.writeUInt16LE(length & 0xffff, 2);
    head.writeUInt16LE(Math.floor(length / 0x10000), 8);
    return this.client.request(T.bulk_packet, head);
  }

  async transferIn(endpointNumber: number, length: number) {
    const reply = await this.startIn(endpointNumber, length).reply;
    return { status: STATUS[reply.body[1]!]!, data: new DataView(reply.body.buffer, reply.body.byteOffset + 10, reply.body.length - 10) };
  }
}
