import type { ConfigurationSpec, UsbPersonality } from '../models/model.js';
import { DescriptorType } from './setup.js';

/** US English, the only language the Myriad ROM is known to offer. */
export const LANGUAGE_EN_US = 0x0409;

/**
 * The descriptor bytes a personality answers GET_DESCRIPTOR with. String indices: 1
 * manufacturer, 2 product, 3 serial, then interface names in order of appearance.
 */
export interface DescriptorSet {
  readonly device: Uint8Array;
  /** Full configuration descriptors (with interfaces and endpoints), by index. */
  readonly configurations: readonly Uint8Array[];
  /** String descriptors by index; index 0 is the language id list. */
  readonly strings: ReadonlyMap<number, Uint8Array>;
}

export function buildDescriptors(p: UsbPersonality): DescriptorSet {
  const strings = new Map<number, Uint8Array>();
  strings.set(0, bytes([4, DescriptorType.STRING, ...u16(LANGUAGE_EN_US)]));
  const texts = [p.manufacturer, p.product, p.serial];
  texts.forEach((text, i) => strings.set(i + 1, stringDescriptor(text)));
  let nextString = texts.length + 1;
  const interfaceStrings = new Map<string, number>();
  const stringIndex = (text: string | null): number => {
    if (text === null) return 0;
    let index = interfaceStrings.get(text);
    if (index === undefined) {
      index = nextString++;
      interfaceStrings.set(text, index);
      strings.set(index, stringDescriptor(text));
    }
    return index;
  };

  const device = bytes([
    18,
    DescriptorType.DEVICE,
    ...u16(p.bcdUSB),
    p.deviceClass,
    p.deviceSubclass,
    p.deviceProtocol,
    p.maxPacketSize0,
    ...u16(p.vendorId),
    ...u16(p.productId),
    ...u16(p.bcdDevice),
    1,
    2,
    3,
    p.configurations.length,
  ]);
  const configurations = p.configurations.map((c) => configurationDescriptor(c, stringIndex));
  return { device, configurations, strings };
}

function configurationDescriptor(c: ConfigurationSpec, stringIndex: (text: string | null) => number): Uint8Array {
  const body: number[] = [];
  for (const intf of c.interfaces) {
    body.push(9, DescriptorType.INTERFACE, intf.number, intf.alternate, intf.endpoints.length, intf.class, intf.subclass, intf.protocol, stringIndex(intf.name));
    for (const ep of intf.endpoints) body.push(7, DescriptorType.ENDPOINT, ep.address, 0x02 /* bulk */, ...u16(ep.maxPacketSize), 0);
  }
  const interfaces = new Set(c.interfaces.map((i) => i.number)).size;
  return bytes([9, DescriptorType.CONFIGURATION, ...u16(9 + body.length), interfaces, c.value, 0, c.attributes, c.maxPower, ...body]);
}

function stringDescriptor(text: string): Uint8Array {
  const utf16: number[] = [];
  for (let i = 0; i < text.length; i++) utf16.push(...u16(text.charCodeAt(i)));
  if (2 + utf16.length > 255) throw new RangeError(`string descriptor too long: ${text}`);
  return bytes([2 + utf16.length, DescriptorType.STRING, ...utf16]);
}

function u16(value: number): [number, number] {
  return [value & 0xff, (value >> 8) & 0xff];
}

function bytes(values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

/** Decodes a string descriptor (UTF-16LE) back to text. */
export function decodeStringDescriptor(descriptor: Uint8Array): string {
  const length = Math.min(descriptor[0] ?? 0, descriptor.length);
  let text = '';
  for (let i = 2; i + 1 < length; i += 2) text += String.fromCharCode(descriptor[i]! | (descriptor[i + 1]! << 8));
  return text;
}
