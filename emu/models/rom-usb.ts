import type { ConfigurationSpec, UsbPersonality } from './model.js';

/**
 * The ROM's single configuration, the same on both chips (myriad-facts.md section 1):
 * value 1, bus powered, 500 mA, one vendor interface FF/11/FF with bulk IN 0x81 and bulk
 * OUT 0x01 of 512 bytes. The order of the two endpoint descriptors is not public; IN first
 * is an assumption. Host libraries search for the first bulk OUT, so the order is harmless.
 */
export const romConfiguration: ConfigurationSpec = {
  value: 1,
  attributes: 0x80,
  maxPower: 250,
  interfaces: [
    {
      number: 0,
      alternate: 0,
      class: 0xff,
      subclass: 0x11,
      protocol: 0xff,
      name: null,
      endpoints: [
        { address: 0x81, type: 'bulk', maxPacketSize: 512 },
        { address: 0x01, type: 'bulk', maxPacketSize: 512 },
      ],
    },
  ],
};

/**
 * The ROM's USB identity. Both chips answer the same descriptors but for the product id, the
 * product string and the serial (myriad-facts.md section 1). Not in the public dumps:
 * bDeviceClass, taken as 0 (defined by the interface, which is FF).
 */
export function romPersonality(differences: Pick<UsbPersonality, 'productId' | 'product' | 'serial'>): UsbPersonality {
  return {
    vendorId: 0x03e7,
    bcdUSB: 0x0200,
    bcdDevice: 0x0001,
    deviceClass: 0x00,
    deviceSubclass: 0x00,
    deviceProtocol: 0x00,
    maxPacketSize0: 64,
    manufacturer: 'Movidius Ltd.',
    speed: 'high',
    configurations: [romConfiguration],
    ...differences,
  };
}
