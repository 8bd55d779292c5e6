/**
 * A host-side XLink client over WebUSB that behaves like OpenVINO's (myriad-facts.md section 4):
 * request ids from 0xA, one header per transfer on bulk 1, stream sizes rounded up to 64, writes
 * that wait for credit (the device's READ_REL) and never exceed 64 unreleased packets, a
 * READ_REL for every packet read, and RESET followed by waiting for the ROM PID. Every wait has
 * a timeout; nothing waits for ever.
 */
import type { BootableDevice, UsbLike } from './boot.js';

export const XLinkType = {
  WRITE_REQ: 0,
  READ_REQ: 1,
  READ_REL_REQ: 2,
  CREATE_STREAM_REQ: 3,
  CLOSE_STREAM_REQ: 4,
  PING_REQ: 5,
  RESET_REQ: 6,
  WRITE_RESP: 8,
  READ_REL_RESP: 10,
  CREATE_STREAM_RESP: 11,
  CLOSE_STREAM_RESP: 12,
  PING_RESP: 13,
  RESET_RESP: 14,
} as const;

export const XLinkFlag = { ACK: 0x01, NACK: 0x02, BUFFER_FULL: 0x20, SIZE_TOO_BIG: 0x40, NO_SUCH_STREAM: 0x80 } as const;

export interface XLinkHeader {
  id: number;
  type: number;
  name: string;
  streamId: number;
  size: number;
  flags: number;
}

export class XLinkError extends Error {}

interface WebUsbDevice extends BootableDevice {
  transferIn(endpointNumber: number, length: number): Promise<{ status: string; data?: DataView }>;
}

export interface XLinkOptions {
  /** 64 (84-byte headers, OpenVINO 2019 R2 on) or 16 (36-byte headers, NCSDK2). */
  readonly nameLength?: 64 | 16;
  /** Sleeps `ms` (virtual time on the emulator: Hub.sleep). */
  readonly sleep: (ms: number) => Promise<void>;
  /** Forgets a sleep whose timeout is no longer needed (Hub.cancelSleep; clearTimeout elsewhere). */
  readonly cancelSleep?: (sleeping: Promise<void>) => void;
  /** How long one request waits for its answer. */
  readonly timeoutMs?: number;
}

const MAX_UNRELEASED_PACKETS = 64;
const round64 = (n: number) => Math.ceil(n / 64) * 64;

interface StreamState {
  id: number;
  name: string;
  /** The device's buffer for our writes (our write size). */
  writeSize: number;
  unreleasedBytes: number;
  unreleasedPackets: number;
  /** Packets the device wrote to us, not read yet. */
  incoming: Uint8Array[];
  readers: ((data: Uint8Array) => void)[];
  creditWaiters: (() => void)[];
}

export class XLinkClient {
  private nextId = 0xa;
  private readonly headerSize: number;
  private readonly pending = new Map<number, (header: XLinkHeader) => void>();
  private readonly streams = new Map<number, StreamState>();
  private outgoing: Promise<void> = Promise.resolve();
  private readerRunning = false;
  private closed = false;
  /** Why the reader stopped, if it did. */
  failure: Error | null = null;

  private constructor(
    private readonly device: WebUsbDevice,
    private readonly options: XLinkOptions,
  ) {
    this.headerSize = 20 + (options.nameLength ?? 64);
  }

  /** Opens the booted device (configuration 1, interface 0) and pings it. */
  static async connect(device: WebUsbDevice, options: XLinkOptions): Promise<XLinkClient> {
    if (!device.opened) await device.open();
    await device.selectConfiguration(1);
    await device.claimInterface(0);
    const client = new XLinkClient(device, options);
    client.startReader();
    await client.ping();
    return client;
  }

  /** A PING round trip: resolves with the device's answer. */
  async ping(): Promise<XLinkHeader> {
    return this.request({ type: XLinkType.PING_REQ, name: '', streamId: 0, size: 0, flags: 0 }, XLinkType.PING_RESP);
  }

  /** Opens a stream for writing `writeSize` bytes at a time; resolves with its id. */
  async openStream(name: string, writeSize: number): Promise<number> {
    const answer = await this.request({ type: XLinkType.CREATE_STREAM_REQ, name, streamId: 0xdeaddead, size: round64(writeSize), flags: 0 }, XLinkType.CREATE_STREAM_RESP);
    if (!(answer.flags & XLinkFlag.ACK)) {
      throw new XLinkError(`the device refused stream ${name}${answer.flags & XLinkFlag.SIZE_TOO_BIG ? ': size too big' : ''}`);
    }
    const stream = this.stream(answer.streamId, name);
    stream.writeSize = round64(writeSize);
    return answer.streamId;
  }

  /** Writes one packet, waiting first for the credit the device gives back as it reads. */
  async write(streamId: number, data: Uint8Array): Promise<void> {
    const stream = this.streams.get(streamId);
    if (!stream) throw new XLinkError(`stream ${streamId} is not open`);
    if (data.length > stream.writeSize) throw new XLinkError(`a packet of ${data.length} bytes does not fit stream ${stream.name} (${stream.writeSize})`);
    const deadline = this.options.timeoutMs ?? 2000;
    let waited = 0;
    while (stream.unreleasedBytes + data.length > stream.writeSize || stream.unreleasedPackets >= MAX_UNRELEASED_PACKETS) {
      if (waited >= deadline) throw new XLinkError(`no credit on stream ${stream.name} after ${deadline} ms`);
      const sleeping = this.options.sleep(10);
      await Promise.race([new Promise<void>((resolve) => stream.creditWaiters.push(resolve)), sleeping]);
      this.options.cancelSleep?.(sleeping);
      waited += 10;
      this.checkReader();
    }
    stream.unreleasedBytes += data.length;
    stream.unreleasedPackets++;
    const answer = await this.request({ type: XLinkType.WRITE_REQ, name: stream.name, streamId, size: data.length, flags: 0 }, XLinkType.WRITE_RESP, data);
    if (!(answer.flags & XLinkFlag.ACK)) {
      stream.unreleasedBytes -= data.length;
      stream.unreleasedPackets--;
      throw new XLinkError(`the device refused the write (flags 0x${answer.flags.toString(16)})`);
    }
  }

  /** Reads the next packet the device wrote on a stream, and releases it. */
  async read(streamId: number): Promise<Uint8Array> {
    const stream = this.stream(streamId, '');
    const queued = stream.incoming.shift();
    const data =
      queued ??
      (await this.withTimeout(new Promise<Uint8Array>((resolve) => stream.readers.push(resolve)), `no data on stream ${streamId}`));
    await this.send({ id: this.nextId++, type: XLinkType.READ_REL_REQ, name: stream.name, streamId, size: data.length, flags: 0 });
    return data;
  }

  async closeStream(streamId: number): Promise<boolean> {
    const answer = await this.request({ type: XLinkType.CLOSE_STREAM_REQ, name: this.streams.get(streamId)?.name ?? '', streamId, size: 0, flags: 0 }, XLinkType.CLOSE_STREAM_RESP);
    if (answer.flags & XLinkFlag.ACK) this.streams.delete(streamId);
    return (answer.flags & XLinkFlag.ACK) !== 0;
  }

  /** RESET: the device answers, then resets; resolves once a ROM PID (2150/2485) is back. */
  async reset(usb: UsbLike, timeoutMs = 10_000): Promise<void> {
    await this.request({ type: XLinkType.RESET_REQ, name: '', streamId: 0, size: 0, flags: 0 }, XLinkType.RESET_RESP);
    this.closed = true;
    for (let waited = 0; waited < timeoutMs; waited += 10) {
      await this.options.sleep(10);
      if ((await usb.getDevices()).some((d) => d.vendorId === 0x03e7 && (d.productId === 0x2150 || d.productId === 0x2485))) return;
    }
    throw new XLinkError(`the device did not come back with its ROM PID within ${timeoutMs} ms`);
  }

  /** Closes the link as OpenVINO's ncDeviceClose does: RESET, then wait for the ROM PID. */
  close(usb: UsbLike, timeoutMs = 10_000): Promise<void> {
    return this.reset(usb, timeoutMs);
  }

  /** Sends any header as is (for tests of the device's handling of bad input). */
  async raw(header: Omit<XLinkHeader, 'id'> & { id?: number; nameBytes?: Uint8Array }, payload?: Uint8Array, expect?: number): Promise<XLinkHeader | null> {
    const id = header.id ?? this.nextId++;
    if (expect === undefined) {
      await this.send({ ...header, id }, payload);
      return null;
    }
    return this.request({ ...header }, expect, payload, id);
  }

  // ---- wire format

  encode(h: XLinkHeader & { nameBytes?: Uint8Array }): Uint8Array {
    const bytes = new Uint8Array(this.headerSize);
    const v = new DataView(bytes.buffer);
    v.setInt32(0, h.id, true);
    v.setInt32(4, h.type, true);
    const nameLength = this.headerSize - 20;
    bytes.set((h.nameBytes ?? Buffer.from(h.name, 'latin1')).subarray(0, nameLength), 8);
    v.setUint32(8 + nameLength, h.streamId >>> 0, true);
    v.setUint32(12 + nameLength, h.size >>> 0, true);
    v.setUint32(16 + nameLength, h.flags >>> 0, true);
    return bytes;
  }

  decode(bytes: DataView): XLinkHeader {
    const nameLength = this.headerSize - 20;
    const raw = new Uint8Array(bytes.buffer, bytes.byteOffset + 8, nameLength);
    const end = raw.indexOf(0);
    return {
      id: bytes.getInt32(0, true),
      type: bytes.getInt32(4, true),
      name: Buffer.from(raw.subarray(0, end < 0 ? nameLength : end)).toString('latin1'),
      streamId: bytes.getUint32(8 + nameLength, true),
      size: bytes.getUint32(12 + nameLength, true),
      flags: bytes.getUint32(16 + nameLength, true),
    };
  }

  // ---- plumbing

  private stream(id: number, name: string): StreamState {
    let stream = this.streams.get(id);
    if (!stream) {
      stream = { id, name, writeSize: 0, unreleasedBytes: 0, unreleasedPackets: 0, incoming: [], readers: [], creditWaiters: [] };
      this.streams.set(id, stream);
    }
    if (name && !stream.name) stream.name = name;
    return stream;
  }

  private async request(header: Omit<XLinkHeader, 'id'> & { nameBytes?: Uint8Array }, answerType: number, payload?: Uint8Array, id = this.nextId++): Promise<XLinkHeader> {
    const answer = new Promise<XLinkHeader>((resolve) => this.pending.set(id, resolve));
    await this.send({ ...header, id }, payload);
    try {
      const h = await this.withTimeout(answer, `no answer to request ${id} (type ${header.type})`);
      if (h.type !== answerType) throw new XLinkError(`request ${id} was answered with type ${h.type}, not ${answerType}`);
      return h;
    } finally {
      this.pending.delete(id);
    }
  }

  /** Sends a header and its payload, one message at a time on bulk OUT 1. */
  private send(header: XLinkHeader & { nameBytes?: Uint8Array }, payload?: Uint8Array): Promise<void> {
    const next = this.outgoing.then(async () => {
      await this.transferOut(this.encode(header));
      if (payload && payload.length > 0) await this.transferOut(payload);
    });
    this.outgoing = next.catch(() => {});
    return next;
  }

  private async transferOut(data: Uint8Array): Promise<void> {
    const r = await this.withTimeout(this.device.transferOut(1, data), 'a bulk OUT transfer timed out');
    if (r.status !== 'ok') throw new XLinkError(`bulk OUT ended with ${r.status}`);
  }

  private async withTimeout<T>(promise: Promise<T>, message: string): Promise<T> {
    const ms = this.options.timeoutMs ?? 2000;
    const sleeping = this.options.sleep(ms);
    const timeout = sleeping.then(() => {
      throw new XLinkError(`${message} within ${ms} ms`);
    });
    timeout.catch(() => {});
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      this.options.cancelSleep?.(sleeping); // the answer came: drop the timer
    }
  }

  private checkReader(): void {
    if (this.failure) throw this.failure;
  }

  /** Reads everything the device sends: answers, its requests and its data. */
  private startReader(): void {
    if (this.readerRunning) return;
    this.readerRunning = true;
    void (async () => {
      try {
        while (!this.closed) {
          const r = await this.device.transferIn(1, this.headerSize);
          if (r.status !== 'ok' || !r.data || r.data.byteLength !== this.headerSize) throw new XLinkError(`bad header from the device (${r.status}, ${r.data?.byteLength ?? 0} bytes)`);
          const h = this.decode(r.data);
          await this.dispatch(h);
        }
      } catch (error) {
        if (!this.closed) this.failure = error instanceof Error ? error : new XLinkError(String(error));
      } finally {
        this.readerRunning = false;
      }
    })();
  }

  private async dispatch(h: XLinkHeader): Promise<void> {
    switch (h.type) {
      case XLinkType.WRITE_REQ: {
        // The device writes to us: the payload follows; we queue it and answer at once.
        const r = await this.device.transferIn(1, h.size);
        const data = r.data ? new Uint8Array(r.data.buffer.slice(r.data.byteOffset, r.data.byteOffset + r.data.byteLength)) : new Uint8Array(0);
        if (r.status !== 'ok' || data.length !== h.size) throw new XLinkError(`short payload from the device (${data.length} of ${h.size})`);
        const stream = this.stream(h.streamId, h.name);
        const reader = stream.readers.shift();
        if (reader) reader(data);
        else stream.incoming.push(data);
        await this.send({ ...h, type: XLinkType.WRITE_RESP, flags: XLinkFlag.ACK });
        return;
      }
      case XLinkType.READ_REL_REQ: {
        const stream = this.streams.get(h.streamId);
        if (stream) {
          stream.unreleasedBytes = Math.max(0, stream.unreleasedBytes - h.size);
          stream.unreleasedPackets = Math.max(0, stream.unreleasedPackets - 1);
          for (const wake of stream.creditWaiters.splice(0)) wake();
        }
        await this.send({ ...h, type: XLinkType.READ_REL_RESP, flags: XLinkFlag.ACK });
        return;
      }
      case XLinkType.CREATE_STREAM_REQ:
        this.stream(h.streamId, h.name);
        await this.send({ ...h, type: XLinkType.CREATE_STREAM_RESP, flags: XLinkFlag.ACK });
        return;
      default:
        this.pending.get(h.id)?.(h);
    }
  }
}
