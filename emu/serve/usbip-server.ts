/**
 * A USB/IP server (Linux Documentation/usb/usbip_protocol.rst, version 1.1.1; big-endian) that
 * exports one emulated stick: OP_REQ_DEVLIST and OP_REQ_IMPORT, then USBIP_CMD_SUBMIT /
 * RET_SUBMIT and CMD_UNLINK / RET_UNLINK, which cancels the URB on the stick.
 *
 * USB/IP has no message for "the device changed": when the stick re-enumerates (boot, reset),
 * the import ends (the connection closes, as usbip-host does when its device goes) and the
 * device list shows the new identity, which the client imports again.
 *
 * URBs past the connection's budget (stick-server.ts) are answered -ENOMEM, and a control URB
 * whose buffer is not the data stage its setup packet describes is answered -EINVAL: neither
 * reaches the stick (nor its trace).
 */
import type { Socket } from 'node:net';
import type { TransferStatus } from '../events/event.js';
import type { Stick } from '../machine/stick.js';
import { decodeSetup, type SetupPacket } from '../usb/setup.js';
import { ByteQueue } from './byte-queue.js';
import type { AttachedDevice, DeviceRunner } from './device-runner.js';
import { ClientLink, StickServer, TransferBudget, type StickServerOptions } from './stick-server.js';

const VERSION = 0x0111;
const OP_REQ_DEVLIST = 0x8005;
const OP_REP_DEVLIST = 0x0005;
const OP_REQ_IMPORT = 0x8003;
const OP_REP_IMPORT = 0x0003;
const CMD_SUBMIT = 1;
const CMD_UNLINK = 2;
const RET_SUBMIT = 3;
const RET_UNLINK = 4;
const BUSID = '1-1';
const USB_SPEED_HIGH = 3;
/** The most a URB may carry or ask for: no buffer from the wire is bigger. */
export const MAX_URB_BYTES = 64 << 20;

/** Linux errno values for a URB's status. */
const ERRNO: Record<TransferStatus, number> = { ok: 0, stall: -32, cancelled: -104, 'no-device': -19, babble: -75 };
/** A URB past the connection's budget. */
const ENOMEM = -12;
/** A control URB whose buffer does not match its setup packet. */
const EINVAL = -22;

export class UsbipServer extends StickServer {
  private importer: Session | null = null;

  private constructor(stick: Stick, options: StickServerOptions) {
    super(stick, options, { detached: (reason) => this.importer?.end(`the device left the bus (${reason}); import it again`) });
  }

  static async listen(stick: Stick, options: StickServerOptions): Promise<UsbipServer> {
    const server = new UsbipServer(stick, options);
    await server.start(options);
    return server;
  }

  get busy(): boolean {
    return this.importer !== null;
  }

  protected accept(socket: Socket, peer: string): void {
    this.log(`usbip ${peer}: connected`);
    const session = new Session(socket, peer, this.runner, {
      import: () => {
        if (this.importer) return false;
        this.importer = session;
        return true;
      },
      closed: (reason) => {
        if (this.importer === session) this.importer = null;
        this.log(`usbip ${peer}: closed (${reason})`);
      },
      log: (line) => this.log(`usbip ${peer}: ${line}`),
    });
  }
}

interface SessionHooks {
  /** Claims the device for this session; false when another session has it. */
  import(): boolean;
  closed(reason: string): void;
  log(line: string): void;
}

class ProtocolError extends Error {}

/** One TCP connection: operations first, then (after an import) URBs. */
class Session {
  private readonly queue = new ByteQueue();
  private imported: AttachedDevice | null = null;
  /** Outstanding URBs: seqnum -> the stick's transfer id (an unlink finds it in constant time). */
  private readonly urbs = new Map<number, number>();
  /** URBs unlinked before they completed: their completion is not reported. */
  private readonly unlinked = new Set<number>();
  private readonly budget = new TransferBudget();
  private readonly link: ClientLink;
  private closed = false;

  constructor(
    socket: Socket,
    readonly peer: string,
    private readonly runner: DeviceRunner,
    private readonly hooks: SessionHooks,
  ) {
    this.link = new ClientLink(socket, { receive: (chunk) => this.receive(chunk), resume: () => this.handlePending(), end: (reason) => this.end(reason) });
  }

  end(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of this.urbs.values()) this.runner.cancel(id);
    this.urbs.clear();
    this.link.destroy();
    this.hooks.closed(reason);
  }

  private receive(chunk: Buffer): void {
    this.queue.push(chunk);
    this.handlePending();
  }

  /** Handles the commands that are here, until the client has too many answers left to read. */
  private handlePending(): void {
    this.link.batch(() => {
      try {
        let more = true;
        while (more && !this.closed && this.link.mayHandle()) more = this.imported ? this.urb() : this.operation();
      } catch (error) {
        if (error instanceof ProtocolError) this.end(`protocol error: ${error.message}`);
        else throw error;
      }
    });
  }

  private send(bytes: Buffer): void {
    if (!this.closed) this.link.send(bytes);
  }

  // ---- operations (before an import)

  /** Handles one operation if it is all here; false to wait for more bytes. */
  private operation(): boolean {
    if (this.queue.length < 8) return false;
    const b = this.queue.peek(8);
    const version = b.readUInt16BE(0);
    const code = b.readUInt16BE(2);
    if (code !== OP_REQ_DEVLIST && code !== OP_REQ_IMPORT) throw new ProtocolError(`unknown operation 0x${code.toString(16)}`);
    if (version >> 8 !== VERSION >> 8) throw new ProtocolError(`protocol version 0x${version.toString(16)} (this server speaks 0x${VERSION.toString(16)})`);
    if (code === OP_REQ_DEVLIST) {
      const device = this.runner.current;
      const head = this.opHeader(OP_REP_DEVLIST, 0);
      const count = Buffer.alloc(4);
      count.writeUInt32BE(device ? 1 : 0);
      this.queue.take(8);
      this.send(device ? Buffer.concat([head, count, this.deviceRecord(device, true)]) : Buffer.concat([head, count]));
      this.hooks.log('listed the devices');
      return true;
    }
    if (this.queue.length < 40) return false;
    const busid = this.queue.take(40).toString('latin1', 8, 40).replace(/\0.*$/s, '');
    const device = this.runner.current;
    if (busid !== BUSID || !device || !this.hooks.import()) {
      this.send(this.opHeader(OP_REP_IMPORT, 1));
      this.hooks.log(`refused to import ${JSON.stringify(busid)}: ${busid !== BUSID ? 'no such device' : device ? 'already imported' : 'the device is away'}`);
      this.end('import refused');
      return true;
    }
    this.imported = device;
    this.send(Buffer.concat([this.opHeader(OP_REP_IMPORT, 0), this.deviceRecord(device, false)]));
    this.hooks.log(`imported ${BUSID} (${hex4(device.device.vendorId)}:${hex4(device.device.productId)})`);
    return true;
  }

  private opHeader(code: number, status: number): Buffer {
    const head = Buffer.alloc(8);
    head.writeUInt16BE(VERSION, 0);
    head.writeUInt16BE(code, 2);
    head.writeUInt32BE(status, 4);
    return head;
  }

  /** struct usbip_usb_device (312 bytes), and with the interfaces for a device list. */
  private deviceRecord(attached: AttachedDevice, withInterfaces: boolean): Buffer {
    const d = attached.device;
    const config = attached.configurations.find((c) => c.value === attached.configuration) ?? attached.configurations[0];
    const interfaces = (config?.interfaces ?? []).filter((i) => i.alternate === 0);
    const out = Buffer.alloc(312 + (withInterfaces ? 4 * interfaces.length : 0));
    out.write(`/sys/devices/platform/myriad-emu/usb1/${BUSID}`, 0, 255, 'latin1');
    out.write(BUSID, 256, 31, 'latin1');
    out.writeUInt32BE(1, 288); // busnum
    out.writeUInt32BE(1, 292); // devnum: the address the device has
    out.writeUInt32BE(USB_SPEED_HIGH, 296);
    out.writeUInt16BE(d.vendorId, 300);
    out.writeUInt16BE(d.productId, 302);
    out.writeUInt16BE(d.bcdDevice, 304);
    out.writeUInt8(d.deviceClass, 306);
    out.writeUInt8(d.deviceSubclass, 307);
    out.writeUInt8(d.deviceProtocol, 308);
    out.writeUInt8(attached.configuration, 309);
    out.writeUInt8(d.numConfigurations, 310);
    out.writeUInt8(interfaces.length, 311);
    if (withInterfaces) {
      interfaces.forEach((intf, i) => {
        out.writeUInt8(intf.class, 312 + 4 * i);
        out.writeUInt8(intf.subclass, 313 + 4 * i);
        out.writeUInt8(intf.protocol, 314 + 4 * i);
      });
    }
    return out;
  }

  // ---- URBs (after an import)

  /** Handles one URB command if it is all here; false to wait for more bytes. */
  private urb(): boolean {
    if (this.queue.length < 48) return false;
    const b = this.queue.peek(48);
    const command = b.readUInt32BE(0);
    const seqnum = b.readUInt32BE(4);
    const direction = b.readUInt32BE(12);
    const ep = b.readUInt32BE(16);
    if (command === CMD_UNLINK) {
      this.unlink(seqnum, b.readUInt32BE(20));
      this.queue.take(48);
      return true;
    }
    if (command !== CMD_SUBMIT) throw new ProtocolError(`unknown command ${command}`);
    if (direction > 1 || ep > 15) throw new ProtocolError(`a URB for endpoint ${ep} direction ${direction}`);
    const length = b.readInt32BE(24);
    const packets = b.readInt32BE(32);
    if (length < 0 || length > MAX_URB_BYTES) throw new ProtocolError(`a URB of ${length} bytes (at most ${MAX_URB_BYTES})`);
    if (packets !== 0 && packets !== -1 && packets !== 0xffffffff) throw new ProtocolError('isochronous URBs: the stick has no isochronous endpoints');
    const isOut = direction === 0;
    const total = 48 + (isOut ? length : 0);
    if (this.queue.length < total) return false;
    const whole = this.queue.take(total);
    this.submit(seqnum, ep, isOut, length, Buffer.from(whole.subarray(40, 48)), isOut ? Buffer.from(whole.subarray(48)) : null);
    return true;
  }

  private submit(seqnum: number, ep: number, isOut: boolean, length: number, setupBytes: Buffer, data: Buffer | null): void {
    if (this.urbs.has(seqnum)) throw new ProtocolError(`seqnum ${seqnum} is already outstanding`);
    const answer = (errno: number, bytes: Uint8Array | null, actual: number) => {
      const head = Buffer.alloc(48);
      head.writeUInt32BE(RET_SUBMIT, 0);
      head.writeUInt32BE(seqnum, 4);
      head.writeInt32BE(errno, 20);
      head.writeInt32BE(actual, 24);
      this.send(!isOut && bytes && bytes.length > 0 ? Buffer.concat([head, bytes]) : head);
    };
    const setup = ep === 0 ? decodeSetup(setupBytes) : null;
    if (setup && !isDataStage(setup, isOut, length)) return answer(EINVAL, null, 0);
    const outBytes = isOut ? length : 0;
    if (!this.budget.take(outBytes)) return answer(ENOMEM, null, 0);
    const reply = (status: TransferStatus, bytes: Uint8Array | null, actual: number) => {
      this.urbs.delete(seqnum);
      this.budget.give(outBytes);
      if (this.unlinked.delete(seqnum)) return; // its RET_UNLINK has answered for it
      answer(ERRNO[status], bytes, actual);
    };
    let id: number;
    if (setup) {
      const submitted = this.runner.submitControl(setup, setup.requestType & 0x80 || setup.length === 0 ? null : data, (done) =>
        reply(done.status, done.data, done.data ? done.data.length : done.status === 'ok' ? setup.length : 0),
      );
      id = submitted.id;
    } else {
      const endpoint = (isOut ? 0 : 0x80) | ep;
      id = this.runner.submitTransfer(endpoint, length, data, (done) => reply(done.status, done.data, done.length)).id;
    }
    if (this.runner.isPending(id)) this.urbs.set(seqnum, id);
  }

  private unlink(seqnum: number, target: number): void {
    const id = this.urbs.get(target);
    const head = Buffer.alloc(48);
    head.writeUInt32BE(RET_UNLINK, 0);
    head.writeUInt32BE(seqnum, 4);
    if (id !== undefined) {
      // Cancelled on the stick for real: its completion comes (status cancelled) and is dropped.
      this.unlinked.add(target);
      this.runner.cancel(id);
      head.writeInt32BE(ERRNO.cancelled, 20);
    }
    this.send(head);
  }
}

/**
 * Whether a control URB's buffer is the data stage its setup packet describes, as Linux's
 * usb_submit_urb requires: an OUT carries exactly wLength bytes; an IN carries none and has room
 * for wLength. So nothing beyond wLength ever reaches the stick.
 */
function isDataStage(setup: SetupPacket, isOut: boolean, length: number): boolean {
  const sent = isOut ? length : 0;
  if ((setup.requestType & 0x80) === 0) return sent === setup.length;
  return setup.length === 0 ? sent === 0 : !isOut && length >= setup.length;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
