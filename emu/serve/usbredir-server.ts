/**
 * A usbredir "usb-host" server: hands one emulated stick to whatever connects over TCP, as
 * QEMU's usb-redir device expects (real-clients.md section 3). One client at a time; the stick
 * keeps running between clients, and a client that leaves has its outstanding transfers
 * cancelled (the cancels and their completions are events, so a trace keeps them). A client
 * that has not said hello within the hello timeout is dropped, so a silent one cannot hold the
 * only slot; data packets past the connection's budget (stick-server.ts) are answered ioerror.
 *
 * Order on the wire: hello both ways; interface_info and ep_info before device_connect; on
 * set_configuration / set_alt_setting, ep_info and interface_info before the status. When the
 * stick re-enumerates: device_disconnect, then (after device_disconnect_ack) the new device.
 */
import type { Socket } from 'node:net';
import type { Stick } from '../machine/stick.js';
import type { TransferStatus } from '../events/event.js';
import { Request, type SetupPacket } from '../usb/setup.js';
import type { AttachedDevice, ControlDone, DeviceRunner } from './device-runner.js';
import { ClientLink, StickServer, TransferBudget, type StickServerOptions } from './stick-server.js';
import { Cap, capWords, encodePacket, EndpointType, hasCap, MAX_PACKET_DATA, PacketReader, ProtocolError, Speed, Status, Type, type Packet } from './usbredir-protocol.js';

export const SERVER_VERSION = 'myriad-emu usbredir 0.7';
/** How long a client has to send its hello (QEMU sends it at once). */
export const HELLO_TIMEOUT_MS = 5000;
const OUR_CAPS = [Cap.connect_device_version, Cap.device_disconnect_ack, Cap.ep_info_max_packet_size, Cap['64bits_ids'], Cap['32bits_bulk_length']];

const STATUS: Record<TransferStatus, number> = { ok: Status.success, stall: Status.stall, babble: Status.babble, cancelled: Status.cancelled, 'no-device': Status.ioerror };

export interface UsbredirServerOptions extends StickServerOptions {
  /** HELLO_TIMEOUT_MS unless given. */
  readonly helloTimeoutMs?: number;
}

export class UsbredirServer extends StickServer {
  private client: Connection | null = null;
  private readonly helloTimeoutMs: number;

  private constructor(stick: Stick, options: UsbredirServerOptions) {
    super(stick, options, {
      attached: (device) => this.client?.deviceAttached(device),
      detached: (reason) => this.client?.deviceDetached(reason),
    });
    this.helloTimeoutMs = options.helloTimeoutMs ?? HELLO_TIMEOUT_MS;
  }

  /** Starts listening; resolves with the server once it is bound. */
  static async listen(stick: Stick, options: UsbredirServerOptions): Promise<UsbredirServer> {
    const server = new UsbredirServer(stick, options);
    await server.start(options);
    return server;
  }

  get busy(): boolean {
    return this.client !== null;
  }

  protected accept(socket: Socket, peer: string): void {
    if (this.client) {
      this.log(`usbredir ${peer}: refused, the device is in use by ${this.client.peer}`);
      socket.destroy();
      return;
    }
    this.log(`usbredir ${peer}: connected`);
    const connection = new Connection(socket, peer, this.runner, this.helloTimeoutMs, (reason) => {
      if (this.client === connection) this.client = null;
      this.log(`usbredir ${peer}: closed (${reason})`);
    });
    this.client = connection;
  }
}

/** One client: the protocol state of a usbredir session. */
class Connection {
  private readonly reader = new PacketReader();
  private helloSeen = false;
  private longIds = false;
  private peerCaps: number[] = [];
  private connected: AttachedDevice | null = null;
  /** A device_disconnect was sent and its ack has not come. */
  private awaitingAck = false;
  /** Data packets on the stick, by the client's packet id: for cancel_data_packet, in constant time. */
  private readonly inflight = new Map<bigint, number>();
  /** Everything the stick does for this client, data packets and set_configuration alike. */
  private readonly budget = new TransferBudget();
  private readonly link: ClientLink;
  private helloTimer: NodeJS.Timeout | null;
  /** A reset is being carried out; `resetAgain`: another came meanwhile and follows it. */
  private resetting = false;
  private resetAgain = false;
  private closed = false;

  constructor(
    socket: Socket,
    readonly peer: string,
    private readonly runner: DeviceRunner,
    helloTimeoutMs: number,
    private readonly onClose: (reason: string) => void,
  ) {
    this.link = new ClientLink(socket, { receive: (chunk) => this.receive(chunk), resume: () => this.handlePending(), end: (reason) => this.end(reason) });
    this.helloTimer = setTimeout(() => this.end(`no hello within ${helloTimeoutMs} ms`), helloTimeoutMs);
    this.send(Type.hello, 0n, this.helloBody());
  }

  end(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    // What the client left outstanding is cancelled on the stick (and so in its trace).
    for (const transferId of this.inflight.values()) this.runner.cancel(transferId);
    this.inflight.clear();
    this.link.destroy();
    this.onClose(reason);
  }

  private helloBody(): Buffer {
    const body = Buffer.alloc(64 + 4);
    body.write(SERVER_VERSION, 0, 63, 'latin1');
    body.writeUInt32LE(capWords(OUR_CAPS)[0]!, 64);
    return body;
  }

  private has(cap: number): boolean {
    return hasCap(this.peerCaps, cap) && OUR_CAPS.includes(cap as never);
  }

  private send(type: number, id: bigint, body: Uint8Array): void {
    if (this.closed) return;
    this.link.send(encodePacket(type, id, body, this.longIds));
  }

  private receive(chunk: Buffer): void {
    this.reader.push(chunk);
    this.handlePending();
  }

  /** Handles the packets that are here, until the client has too many answers left to read. */
  private handlePending(): void {
    this.link.batch(() => {
      try {
        while (!this.closed && this.link.mayHandle()) {
          const packet = this.reader.next();
          if (!packet) return;
          this.handle(packet);
        }
      } catch (error) {
        if (error instanceof ProtocolError) this.end(`protocol error: ${error.message}`);
        else throw error;
      }
    });
  }

  private fail(message: string): never {
    throw new ProtocolError(message);
  }

  private handle(packet: Packet): void {
    const { type, body } = packet;
    if (!this.helloSeen && type !== Type.hello) this.fail(`packet type ${type} before hello`);
    const need = (bytes: number) => {
      if (body.length < bytes) this.fail(`packet type ${type} has ${body.length} bytes, its header needs ${bytes}`);
    };
    switch (type) {
      case Type.hello: {
        if (this.helloSeen) this.fail('a second hello');
        need(64);
        this.helloSeen = true;
        clearTimeout(this.helloTimer!);
        this.helloTimer = null;
        this.peerCaps = [];
        for (let at = 64; at + 4 <= body.length; at += 4) this.peerCaps.push(body.readUInt32LE(at));
        this.longIds = this.has(Cap['64bits_ids']);
        this.reader.longIds = this.longIds;
        if (this.runner.current) this.deviceAttached(this.runner.current);
        return;
      }
      case Type.reset:
        void this.reset();
        return;
      case Type.set_configuration:
        need(1);
        void this.setConfiguration(packet.id, body[0]!);
        return;
      case Type.get_configuration:
        this.send(Type.configuration_status, packet.id, Buffer.from([Status.success, this.connected?.configuration ?? 0]));
        return;
      case Type.set_alt_setting:
        need(2);
        void this.setAltSetting(packet.id, body[0]!, body[1]!);
        return;
      case Type.get_alt_setting: {
        need(1);
        // An interface nobody has set is at alternate 0.
        const exists = this.interfaces().some((i) => i.number === body[0]);
        const alt = exists ? (this.connected?.alternates.get(body[0]!) ?? 0) : undefined;
        this.send(Type.alt_setting_status, packet.id, Buffer.from([alt === undefined ? Status.inval : Status.success, body[0]!, alt ?? 0xff]));
        return;
      }
      case Type.cancel_data_packet: {
        const transferId = this.inflight.get(packet.id);
        if (transferId !== undefined) this.runner.cancel(transferId);
        return;
      }
      case Type.device_disconnect_ack:
        this.awaitingAck = false;
        if (this.runner.current && !this.connected) this.deviceAttached(this.runner.current);
        return;
      case Type.control_packet:
        need(10);
        this.control(packet);
        return;
      case Type.bulk_packet:
        need(this.has(Cap['32bits_bulk_length']) ? 10 : 8);
        this.bulk(packet);
        return;
      // The stick has no isochronous or interrupt endpoints and no streams: these are
      // answered with inval, as usbredir-host does for an endpoint that does not exist.
      case Type.start_iso_stream:
      case Type.stop_iso_stream:
        need(1);
        this.send(Type.iso_stream_status, packet.id, Buffer.from([Status.inval, body[0]!]));
        return;
      case Type.start_interrupt_receiving:
      case Type.stop_interrupt_receiving:
        need(1);
        this.send(Type.interrupt_receiving_status, packet.id, Buffer.from([Status.inval, body[0]!]));
        return;
      case Type.start_bulk_receiving:
      case Type.stop_bulk_receiving: {
        need(type === Type.start_bulk_receiving ? 10 : 5);
        const reply = Buffer.alloc(6);
        body.copy(reply, 0, 0, 4);
        reply[4] = body[type === Type.start_bulk_receiving ? 8 : 4]!;
        reply[5] = Status.inval;
        this.send(Type.bulk_receiving_status, packet.id, reply);
        return;
      }
      case Type.alloc_bulk_streams:
      case Type.free_bulk_streams: {
        need(4);
        const reply = Buffer.alloc(9);
        body.copy(reply, 0, 0, 4);
        reply[8] = Status.inval;
        this.send(Type.bulk_streams_status, packet.id, reply);
        return;
      }
      case Type.iso_packet:
      case Type.interrupt_packet: {
        need(4);
        const reply = Buffer.alloc(4);
        reply[0] = body[0]!;
        reply[1] = Status.inval;
        this.send(type, packet.id, reply);
        return;
      }
      default:
        // Device-to-host types (connect, info, status...) and filters make no sense from a host.
        this.fail(`packet type ${type} is not one a host sends`);
    }
  }

  // ---- device arrival and departure

  deviceAttached(device: AttachedDevice): void {
    if (!this.helloSeen || this.closed || this.awaitingAck) return;
    this.connected = device;
    this.sendInterfaceInfo();
    this.sendEpInfo();
    const d = device.device;
    const connect = Buffer.alloc(this.has(Cap.connect_device_version) ? 10 : 8);
    connect.writeUInt8(Speed.high, 0);
    connect.writeUInt8(d.deviceClass, 1);
    connect.writeUInt8(d.deviceSubclass, 2);
    connect.writeUInt8(d.deviceProtocol, 3);
    connect.writeUInt16LE(d.vendorId, 4);
    connect.writeUInt16LE(d.productId, 6);
    if (connect.length === 10) connect.writeUInt16LE(d.bcdDevice, 8);
    this.send(Type.device_connect, 0n, connect);
  }

  deviceDetached(_reason: string): void {
    if (!this.connected) return;
    this.connected = null;
    this.send(Type.device_disconnect, 0n, Buffer.alloc(0));
    this.awaitingAck = this.has(Cap.device_disconnect_ack);
  }

  /** The interfaces of the current configuration (the first one before any is set). */
  private interfaces() {
    const device = this.connected;
    if (!device) return [];
    const config = device.configurations.find((c) => c.value === device.configuration) ?? device.configurations[0];
    const all = config?.interfaces ?? [];
    return all.filter((i) => i.alternate === (device.alternates.get(i.number) ?? 0));
  }

  private sendInterfaceInfo(): void {
    const body = Buffer.alloc(132);
    const interfaces = this.interfaces().slice(0, 32);
    body.writeUInt32LE(interfaces.length, 0);
    interfaces.forEach((intf, i) => {
      body[4 + i] = intf.number;
      body[36 + i] = intf.class;
      body[68 + i] = intf.subclass;
      body[100 + i] = intf.protocol;
    });
    this.send(Type.interface_info, 0n, body);
  }

  private sendEpInfo(): void {
    const wide = this.has(Cap.ep_info_max_packet_size);
    // max_streams (128 more bytes) only comes with bulk_streams, which we do not offer.
    const body = Buffer.alloc(wide ? 160 : 96);
    // Index: endpoint number, plus 16 for IN. Endpoint 0 is control both ways.
    body.fill(EndpointType.invalid, 0, 32);
    body[0] = EndpointType.control;
    body[16] = EndpointType.control;
    if (wide) {
      const mps0 = this.connected?.device.maxPacketSize0 ?? 64;
      body.writeUInt16LE(mps0, 96);
      body.writeUInt16LE(mps0, 96 + 32);
    }
    for (const intf of this.interfaces()) {
      for (const ep of intf.endpoints) {
        const index = (ep.address & 0x0f) | (ep.address & 0x80 ? 16 : 0);
        body[index] = ep.attributes & 3;
        body[64 + index] = intf.number;
        if (wide) body.writeUInt16LE(ep.maxPacketSize, 96 + 2 * index);
      }
    }
    this.send(Type.ep_info, 0n, body);
  }

  /**
   * A bus reset, then address and configuration restored. Resets that come while one is being
   * carried out are one more reset after it: a flood of them is two at a time, at most.
   */
  private async reset(): Promise<void> {
    if (this.resetting) {
      this.resetAgain = true;
      return;
    }
    this.resetting = true;
    do {
      this.resetAgain = false;
      await this.runner.reset();
    } while (this.resetAgain && !this.closed);
    this.resetting = false;
  }

  /** A standard request the server makes for the client, within its budget; null when over it. */
  private async request(setup: SetupPacket): Promise<ControlDone | null> {
    if (!this.budget.take(0)) return null;
    try {
      return await this.runner.control(setup, null);
    } finally {
      this.budget.give(0);
    }
  }

  private async setConfiguration(id: bigint, value: number): Promise<void> {
    const device = this.connected;
    const done = device ? await this.request({ requestType: 0x00, request: Request.SET_CONFIGURATION, value, index: 0, length: 0 }) : null;
    if (device && done?.status === 'ok' && this.connected === device) {
      device.configuration = value;
      device.alternates.clear();
      this.sendEpInfo();
      this.sendInterfaceInfo();
    }
    this.send(Type.configuration_status, id, Buffer.from([done ? STATUS[done.status] : Status.ioerror, this.connected?.configuration ?? 0]));
  }

  private async setAltSetting(id: bigint, intf: number, alt: number): Promise<void> {
    const device = this.connected;
    const done = device ? await this.request({ requestType: 0x01, request: Request.SET_INTERFACE, value: alt, index: intf, length: 0 }) : null;
    if (device && done?.status === 'ok' && this.connected === device) {
      device.alternates.set(intf, alt);
      this.sendEpInfo();
      this.sendInterfaceInfo();
    }
    this.send(Type.alt_setting_status, id, Buffer.from([done ? STATUS[done.status] : Status.ioerror, intf, this.connected?.alternates.get(intf) ?? 0]));
  }

  // ---- data packets

  private control(packet: Packet): void {
    const { body, id } = packet;
    const endpoint = body[0]!;
    const request = body[1]!;
    const requestType = body[2]!;
    const value = body.readUInt16LE(4);
    const index = body.readUInt16LE(6);
    const length = body.readUInt16LE(8);
    const data = body.subarray(10);
    const reply = (status: number, bytes: Uint8Array | null, actual: number) => {
      const head = Buffer.alloc(10);
      body.copy(head, 0, 0, 10);
      head[3] = status;
      head.writeUInt16LE(actual, 8);
      this.send(Type.control_packet, id, bytes ? Buffer.concat([head, bytes]) : head);
    };
    const isIn = (requestType & 0x80) !== 0;
    if (!this.connected) return reply(Status.ioerror, null, 0);
    // The data stage is exactly wLength bytes OUT, or none IN: nothing beyond it reaches the stick.
    if (isIn ? data.length !== 0 : data.length !== length) return reply(Status.inval, null, 0);
    if ((endpoint & 0x7f) !== 0 || this.inflight.has(id)) return reply(Status.inval, null, 0);
    const outBytes = isIn ? 0 : length;
    if (!this.budget.take(outBytes)) return reply(Status.ioerror, null, 0);
    const submitted = this.runner.submitControl({ requestType, request, value, index, length }, isIn || length === 0 ? null : Buffer.from(data), (done) => {
      this.inflight.delete(id);
      this.budget.give(outBytes);
      // The configuration the host chose through a plain control request counts too.
      if (done.status === 'ok' && request === Request.SET_CONFIGURATION && requestType === 0 && this.connected) this.connected.configuration = value;
      reply(STATUS[done.status], isIn ? done.data ?? new Uint8Array(0) : null, isIn ? (done.data?.length ?? 0) : done.status === 'ok' ? length : 0);
    });
    if (this.runner.isPending(submitted.id)) this.inflight.set(id, submitted.id);
  }

  private bulk(packet: Packet): void {
    const { body, id } = packet;
    const wide = this.has(Cap['32bits_bulk_length']);
    const headBytes = wide ? 10 : 8;
    const endpoint = body[0]!;
    const length = body.readUInt16LE(2) + (wide ? body.readUInt16LE(8) * 0x10000 : 0);
    const data = body.subarray(headBytes);
    const reply = (status: number, bytes: Uint8Array | null, actual: number) => {
      const head = Buffer.alloc(headBytes);
      head[0] = endpoint;
      head[1] = status;
      head.writeUInt16LE(actual & 0xffff, 2);
      head.writeUInt32LE(body.readUInt32LE(4), 4);
      if (wide) head.writeUInt16LE(Math.floor(actual / 0x10000), 8);
      this.send(Type.bulk_packet, id, bytes ? Buffer.concat([head, bytes]) : head);
    };
    const isIn = (endpoint & 0x80) !== 0;
    if (!this.connected) return reply(Status.ioerror, null, 0);
    if (isIn ? data.length !== 0 : data.length !== length) return reply(Status.inval, null, 0);
    if (length > MAX_PACKET_DATA || this.inflight.has(id)) return reply(Status.inval, null, 0);
    const outBytes = isIn ? 0 : length;
    if (!this.budget.take(outBytes)) return reply(Status.ioerror, null, 0);
    const submitted = this.runner.submitTransfer(endpoint, length, isIn ? null : Buffer.from(data), (done) => {
      this.inflight.delete(id);
      this.budget.give(outBytes);
      reply(STATUS[done.status], isIn ? done.data ?? new Uint8Array(0) : null, done.length);
    });
    if (this.runner.isPending(submitted.id)) this.inflight.set(id, submitted.id);
  }
}
