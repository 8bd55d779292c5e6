/**
 * Bus timing at high speed, from the USB 2.0 spec: a microframe is 125 us and carries at most
 * 13 bulk packets of 512 bytes; each control stage (setup, data, status) takes a microframe.
 * A bus reset lasts at least 10 ms and a new connection is debounced for 100 ms.
 */
export const MICROFRAME_NS = 125_000;
export const BULK_PACKET_NS = Math.round(MICROFRAME_NS / 13);
export const CONTROL_STAGE_NS = MICROFRAME_NS;
export const BUS_RESET_NS = 10_000_000;
export const CONNECT_DEBOUNCE_NS = 100_000_000;
export const SET_ADDRESS_RECOVERY_NS = 2_000_000;

export function bulkDurationNs(bytes: number, maxPacketSize: number): number {
  return Math.max(1, Math.ceil(bytes / maxPacketSize)) * BULK_PACKET_NS;
}
