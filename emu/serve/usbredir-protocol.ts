import { ByteQueue } from './byte-queue.js';

/**
 * The usbredir wire protocol (spice usbredir, usb-redirection-protocol.md; usbredirproto.h),
 * version 0.7: packed little-endian structs. Every packet is a header { u32 type, u32 length,
 * u32 id } — u64 id once both hellos are exchanged and both sides have 64bits_ids — then a
 * type-specific header of fixed size, then data (control and bulk packets only). `length`
 * counts the type header and the data.
 */

export const Type = {
  hello: 0,
  device_connect: 1,
  device_disconnect: 2,
  reset: 3,
  interface_info: 4,
  ep_info: 5,
  set_configuration: 6,
  get_configuration: 7,
  configuration_status: 8,
  set_alt_setting: 9,
  get_alt_setting: 10,
  alt_setting_status: 11,
  start_iso_stream: 12,
  stop_iso_stream: 13,
  iso_stream_status: 14,
  start_interrupt_receiving: 15,
  stop_interrupt_receiving: 16,
  interrupt_receiving_status: 17,
  alloc_bulk_streams: 18,
  free_bulk_streams: 19,
  bulk_streams_status: 20,
  cancel_data_packet: 21,
  filter_reject: 22,
  filter_filter: 23,
  device_disconnect_ack: 24,
  start_bulk_receiving: 25,
  stop_bulk_receiving: 26,
  bulk_receiving_status: 27,
  control_packet: 100,
  bulk_packet: 101,
  iso_packet: 102,
  interrupt_packet: 103,
  buffered_bulk_packet: 104,
} as const;

export const Status = { success: 0, cancelled: 1, inval: 2, ioerror: 3, stall: 4, timeout: 5, babble: 6 } as const;

export const Cap = {
  bulk_streams: 0,
  connect_device_version: 1,
  filter: 2,
  device_disconnect_ack: 3,
  ep_info_max_packet_size: 4,
  '64bits_ids': 5,
  '32bits_bulk_length': 6,
  bulk_receiving: 7,
} as const;

export const Speed = { low: 0, full: 1, high: 2, super: 3 } as const;
export const EndpointType = { control: 0, iso: 1, bulk: 2, interrupt: 3, invalid: 255 } as const;

/**
 * Size of each type's own header (after the packet header). With the capabilities both sides
 * have, some grow: device_connect by device_version_bcd, ep_info by max_packet_size and
 * max_streams, bulk_packet by stream_id and length_high. Those are given for the full forms.
 */
export const TYPE_HEADER_BYTES: Readonly<Record<number, number>> = {
  [Type.hello]: 64, // plus capability words
  [Type.device_connect]: 10,
  [Type.device_disconnect]: 0,
  [Type.reset]: 0,
  [Type.interface_info]: 132,
  [Type.ep_info]: 288,
  [Type.set_configuration]: 1,
  [Type.get_configuration]: 0,
  [Type.configuration_status]: 2,
  [Type.set_alt_setting]: 2,
  [Type.get_alt_setting]: 1,
  [Type.alt_setting_status]: 3,
  [Type.start_iso_stream]: 3,
  [Type.stop_iso_stream]: 1,
  [Type.iso_stream_status]: 2,
  [Type.start_interrupt_receiving]: 1,
  [Type.stop_interrupt_receiving]: 1,
  [Type.interrupt_receiving_status]: 2,
  [Type.alloc_bulk_streams]: 8,
  [Type.free_bulk_streams]: 4,
  [Type.bulk_streams_status]: 9,
  [Type.cancel_data_packet]: 0,
  [Type.device_disconnect_ack]: 0,
  [Type.start_bulk_receiving]: 10,
  [Type.stop_bulk_receiving]: 5,
  [Type.bulk_receiving_status]: 6,
  [Type.control_packet]: 10,
  [Type.bulk_packet]: 10,
  [Type.iso_packet]: 4,
  [Type.interrupt_packet]: 4,
  [Type.buffered_bulk_packet]: 10,
};

/** The types that carry data after their header. */
export const HAS_DATA: ReadonlySet<number> = new Set([Type.control_packet, Type.bulk_packet, Type.iso_packet, Type.interrupt_packet, Type.buffered_bulk_packet]);

/** Hard caps: nothing from the wire makes the server hold more than this per packet. */
export const MAX_PACKET_DATA = 64 << 20;
/** Capability words a hello may carry (usbredir has one today; room for growth, no more). */
export const MAX_HELLO_CAP_WORDS = 16;

export function hasCap(words: readonly number[], cap: number): boolean {
  return ((words[cap >> 5] ?? 0) >>> (cap & 31)) & 1 ? true : false;
}

export function capWords(caps: readonly number[]): number[] {
  const words = [0];
  for (const cap of caps) words[cap >> 5] = ((words[cap >> 5] ?? 0) | (1 << (cap & 31))) >>> 0;
  return words;
}

export interface Packet {
  readonly type: number;
  readonly id: bigint;
  /** The type header and data, as received. */
  readonly body: Buffer;
}

/** Packet header plus body, with a 32- or 64-bit id. */
export function encodePacket(type: number, id: bigint, body: Uint8Array, longIds: boolean): Buffer {
  const head = Buffer.alloc(longIds ? 16 : 12);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(body.length, 4);
  if (longIds) head.writeBigUInt64LE(id, 8);
  else head.writeUInt32LE(Number(id & 0xffffffffn), 8);
  return Buffer.concat([head, body]);
}

export class ProtocolError extends Error {}

/**
 * Splits a byte stream into packets. Lengths are checked before anything is buffered for them:
 * a packet longer than its type allows is a ProtocolError, so a peer cannot make us hold more
 * than MAX_PACKET_DATA plus a header.
 */
export class PacketReader {
  private readonly queue = new ByteQueue();
  longIds = false;

  push(chunk: Buffer): void {
    this.queue.push(chunk);
  }

  /**
   * The next whole packet, or null until more bytes come. One at a time, because the id size
   * changes after the hello: the caller sets longIds before asking for the next.
   */
  next(): Packet | null {
    const headBytes = this.longIds ? 16 : 12;
    if (this.queue.length < headBytes) return null;
    const head = this.queue.peek(headBytes);
    const type = head.readUInt32LE(0);
    const length = head.readUInt32LE(4);
    const own = TYPE_HEADER_BYTES[type];
    if (own === undefined) throw new ProtocolError(`unknown packet type ${type}`);
    const max = type === Type.hello ? own + 4 * MAX_HELLO_CAP_WORDS : HAS_DATA.has(type) ? own + MAX_PACKET_DATA : own;
    if (length > max) throw new ProtocolError(`packet type ${type} claims ${length} bytes; at most ${max} are allowed`);
    if (this.queue.length < headBytes + length) return null;
    const whole = this.queue.take(headBytes + length);
    const id = this.longIds ? whole.readBigUInt64LE(8) : BigInt(whole.readUInt32LE(8));
    return { type, id, body: whole.subarray(headBytes) };
  }
}
