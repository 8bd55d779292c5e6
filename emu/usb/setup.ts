/** USB 2.0 chapter 9: the setup packet and the standard request codes. */

export interface SetupPacket {
  readonly requestType: number;
  readonly request: number;
  readonly value: number;
  readonly index: number;
  readonly length: number;
}

export const Request = {
  GET_STATUS: 0,
  CLEAR_FEATURE: 1,
  SET_FEATURE: 3,
  SET_ADDRESS: 5,
  GET_DESCRIPTOR: 6,
  SET_DESCRIPTOR: 7,
  GET_CONFIGURATION: 8,
  SET_CONFIGURATION: 9,
  GET_INTERFACE: 10,
  SET_INTERFACE: 11,
  SYNCH_FRAME: 12,
} as const;

export const DescriptorType = {
  DEVICE: 1,
  CONFIGURATION: 2,
  STRING: 3,
  INTERFACE: 4,
  ENDPOINT: 5,
  DEVICE_QUALIFIER: 6,
} as const;

export const Feature = { ENDPOINT_HALT: 0, DEVICE_REMOTE_WAKEUP: 1, TEST_MODE: 2 } as const;

/** bmRequestType bit 7: data stage direction is device to host. */
export const DIR_IN = 0x80;
export type RequestKind = 'standard' | 'class' | 'vendor' | 'reserved';
export type Recipient = 'device' | 'interface' | 'endpoint' | 'other';

export function requestKind(requestType: number): RequestKind {
  return (['standard', 'class', 'vendor', 'reserved'] as const)[(requestType >> 5) & 3]!;
}

export function recipient(requestType: number): Recipient | 'reserved' {
  const r = requestType & 0x1f;
  return r === 0 ? 'device' : r === 1 ? 'interface' : r === 2 ? 'endpoint' : r === 3 ? 'other' : 'reserved';
}

export function encodeSetup(setup: SetupPacket): Uint8Array {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, setup.requestType);
  view.setUint8(1, setup.request);
  view.setUint16(2, setup.value, true);
  view.setUint16(4, setup.index, true);
  view.setUint16(6, setup.length, true);
  return bytes;
}

export function decodeSetup(bytes: Uint8Array): SetupPacket {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  return {
    requestType: view.getUint8(0),
    request: view.getUint8(1),
    value: view.getUint16(2, true),
    index: view.getUint16(4, true),
    length: view.getUint16(6, true),
  };
}
