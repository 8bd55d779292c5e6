/**
 * The host's reading of descriptors: what an operating system learns from the bytes a device
 * returns (the emulator's host side never looks at the device model).
 */

export interface DeviceDescriptor {
  readonly bcdUSB: number;
  readonly deviceClass: number;
  readonly deviceSubclass: number;
  readonly deviceProtocol: number;
  readonly maxPacketSize0: number;
  readonly vendorId: number;
  readonly productId: number;
  readonly bcdDevice: number;
  readonly iManufacturer: number;
  readonly iProduct: number;
  readonly iSerial: number;
  readonly numConfigurations: number;
}

export interface EndpointDescriptor {
  readonly address: number;
  readonly attributes: number;
  readonly maxPacketSize: number;
}

export interface InterfaceDescriptor {
  readonly number: number;
  readonly alternate: number;
  readonly class: number;
  readonly subclass: number;
  readonly protocol: number;
  readonly iInterface: number;
  readonly endpoints: EndpointDescriptor[];
}

export interface ConfigurationDescriptor {
  readonly value: number;
  readonly iConfiguration: number;
  readonly attributes: number;
  readonly maxPower: number;
  readonly interfaces: InterfaceDescriptor[];
}

export class DescriptorError extends Error {}

export function parseDeviceDescriptor(bytes: Uint8Array): DeviceDescriptor {
  if (bytes.length < 18 || bytes[0] !== 18 || bytes[1] !== 1) throw new DescriptorError(`bad device descriptor (${bytes.length} bytes)`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return {
    bcdUSB: v.getUint16(2, true),
    deviceClass: bytes[4]!,
    deviceSubclass: bytes[5]!,
    deviceProtocol: bytes[6]!,
    maxPacketSize0: bytes[7]!,
    vendorId: v.getUint16(8, true),
    productId: v.getUint16(10, true),
    bcdDevice: v.getUint16(12, true),
    iManufacturer: bytes[14]!,
    iProduct: bytes[15]!,
    iSerial: bytes[16]!,
    numConfigurations: bytes[17]!,
  };
}

/** Walks a full configuration descriptor; unknown descriptor types are skipped. */
export function parseConfigurationDescriptor(bytes: Uint8Array): ConfigurationDescriptor {
  if (bytes.length < 9 || bytes[0]! < 9 || bytes[1] !== 2) throw new DescriptorError('bad configuration descriptor header');
  const total = bytes[2]! | (bytes[3]! << 8);
  if (total > bytes.length) throw new DescriptorError(`configuration descriptor truncated: ${bytes.length} of ${total} bytes`);
  const config: ConfigurationDescriptor = { value: bytes[5]!, iConfiguration: bytes[6]!, attributes: bytes[7]!, maxPower: bytes[8]!, interfaces: [] };
  let current: InterfaceDescriptor | undefined;
  for (let at = bytes[0]!; at < total; ) {
    const length = bytes[at]!;
    const type = bytes[at + 1];
    if (length < 2 || at + length > total) throw new DescriptorError(`bad descriptor length ${length} at offset ${at}`);
    if (type === 4 && length >= 9) {
      current = { number: bytes[at + 2]!, alternate: bytes[at + 3]!, class: bytes[at + 5]!, subclass: bytes[at + 6]!, protocol: bytes[at + 7]!, iInterface: bytes[at + 8]!, endpoints: [] };
      config.interfaces.push(current);
    } else if (type === 5 && length >= 7) {
      if (!current) throw new DescriptorError(`endpoint descriptor outside an interface at offset ${at}`);
      current.endpoints.push({ address: bytes[at + 2]!, attributes: bytes[at + 3]!, maxPacketSize: (bytes[at + 4]! | (bytes[at + 5]! << 8)) & 0x7ff });
    }
    at += length;
  }
  return config;
}

/**
 * Reads configuration `index` whole, as hosts do: its first 9 bytes, whose wTotalLength says how
 * many to ask for next. `get(index, length)` returns a GET_DESCRIPTOR(CONFIGURATION) answer.
 */
export async function readConfiguration(get: (index: number, length: number) => Promise<Uint8Array>, index: number): Promise<ConfigurationDescriptor> {
  const head = await get(index, 9);
  const total = head.length >= 4 ? head[2]! | (head[3]! << 8) : 9;
  return parseConfigurationDescriptor(await get(index, total));
}
