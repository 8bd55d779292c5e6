/**
 * USB traffic of a trace as a pcap file Wireshark and tshark read: link type 220
 * (LINKTYPE_USB_LINUX_MMAPPED), each packet a 64-byte Linux usbmon header and the data, the way
 * `usbmon` on a real host would have captured the same transfers. A submission ('S') comes from
 * every host.control / host.transfer input, a completion ('C') from its usb.*.done event.
 */
import type { MachineEvent, TransferStatus } from '../events/event.js';

const LINKTYPE_USB_LINUX_MMAPPED = 220;
/** Wireshark reads USB packets up to 128 MiB; bigger data is cut (len_cap < length). */
const SNAPLEN = 128 << 20;
const USBMON_HEADER = 64;
const XFER_CONTROL = 2;
const XFER_BULK = 3;
const BUS = 1;
/** Linux errno values usbmon reports as URB status. */
const STATUS: Record<TransferStatus, number> = { ok: 0, stall: -32, babble: -75, 'no-device': -108, cancelled: -2 };
const EINPROGRESS = -115;

interface Pending {
  readonly transfer: number;
  readonly endpoint: number;
  readonly device: number;
  readonly setup: Uint8Array | null;
}

/** Writes pcap bytes to `write` as the events go by; memory is one packet plus open transfers. */
export class PcapWriter {
  private address = 0;
  private readonly open = new Map<number, Pending>();
  packets = 0;

  constructor(private readonly write: (bytes: Uint8Array) => void) {
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(SNAPLEN, 16);
    header.writeUInt32LE(LINKTYPE_USB_LINUX_MMAPPED, 20);
    write(header);
  }

  event(event: MachineEvent): void {
    switch (event.kind) {
      case 'usb.state':
        this.address = event.address;
        break;
      case 'host.control': {
        const setup = event.setup;
        const endpoint = setup[0]! & 0x80;
        const pending = { transfer: XFER_CONTROL, endpoint, device: this.address, setup };
        this.open.set(event.id, pending);
        const wLength = setup[6]! | (setup[7]! << 8);
        this.packet(event.t, event.id, 'S', pending, EINPROGRESS, wLength, endpoint ? null : event.data);
        break;
      }
      case 'host.transfer': {
        const pending = { transfer: XFER_BULK, endpoint: event.endpoint, device: this.address, setup: null };
        this.open.set(event.id, pending);
        this.packet(event.t, event.id, 'S', pending, EINPROGRESS, event.length, event.endpoint & 0x80 ? null : event.data);
        break;
      }
      case 'usb.control.done':
      case 'usb.transfer.done': {
        const pending = this.open.get(event.id);
        if (!pending) break; // submitted before the trace began
        this.open.delete(event.id);
        const data = pending.endpoint & 0x80 ? event.data : null;
        this.packet(event.t, event.id, 'C', { ...pending, setup: null }, STATUS[event.status], event.length, data);
        break;
      }
      default:
        break;
    }
  }

  private packet(t: number, id: number, type: 'S' | 'C', p: Pending, status: number, length: number, data: Uint8Array | null): void {
    const captured = data ? Math.min(data.length, SNAPLEN - USBMON_HEADER) : 0;
    const seconds = Math.floor(t / 1e9);
    const micros = Math.floor((t % 1e9) / 1e3);
    const h = Buffer.alloc(16 + USBMON_HEADER);
    h.writeUInt32LE(seconds, 0);
    h.writeUInt32LE(micros, 4);
    h.writeUInt32LE(USBMON_HEADER + captured, 8);
    h.writeUInt32LE(USBMON_HEADER + captured, 12);
    const u = 16;
    h.writeBigUInt64LE(BigInt(id), u); // usbmon's URB id; ours is the transfer id, unique per stick
    h.write(type, u + 8, 'latin1');
    h.writeUInt8(p.transfer, u + 9);
    h.writeUInt8(p.endpoint, u + 10);
    h.writeUInt8(p.device, u + 11);
    h.writeUInt16LE(BUS, u + 12);
    h.write(p.setup ? '\0' : '-', u + 14, 'latin1'); // flag_setup: 0 when setup bytes follow
    h.write(data ? '\0' : type === 'S' ? '<' : '>', u + 15, 'latin1'); // flag_data: 0 when data follows
    h.writeBigInt64LE(BigInt(seconds), u + 16);
    h.writeInt32LE(micros, u + 24);
    h.writeInt32LE(status, u + 28);
    h.writeUInt32LE(length, u + 32);
    h.writeUInt32LE(captured, u + 36);
    if (p.setup) h.set(p.setup.subarray(0, 8), u + 40);
    // interval, start_frame, xfer_flags, ndesc stay 0: no periodic or isochronous transfers here
    this.write(h);
    if (data && captured > 0) this.write(data.subarray(0, captured));
    this.packets++;
  }
}
