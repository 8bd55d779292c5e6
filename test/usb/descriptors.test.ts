import { describe, expect, it } from 'vitest';
import { ma2450, ma2485 } from '../../emu/models/index.js';
import { DirectHost } from '../support/direct-host.js';

const hex = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('hex');
const utf16 = (text: string) => Buffer.concat([Buffer.from([2 + text.length * 2, 3]), Buffer.from(text, 'utf16le')]).toString('hex');

const getDescriptor = (type: number, index: number, length: number, language = 0) => ({
  requestType: 0x80,
  request: 6,
  value: (type << 8) | index,
  index: language,
  length,
});

// Expected bytes written out by hand from myriad-facts.md section 1, not from the model.
const ROM_CONFIGURATION = '0902200001010080fa' + '0904000002ff11ff00' + '07058102000200' + '07050102000200';

describe.each([
  { model: ma2450, pid: '5021', product: 'Movidius MA2X5X', serial: '03e72150' },
  { model: ma2485, pid: '8524', product: 'Movidius MyriadX', serial: '03e72485' },
])('ROM descriptors of $model.name', ({ model, pid, product, serial }) => {
  const host = new DirectHost({ model }).enumerate();

  it('device descriptor: USB 2.0, EP0 64 bytes, 03e7:PID, bcdDevice 0x0001, strings 1/2/3, one configuration', () => {
    const done = host.mustControl(getDescriptor(1, 0, 18));
    // bLength bType bcdUSB  class sub proto mps0 idVendor idProduct bcdDevice iMfr iProd iSer nConf
    expect(hex(done.data)).toBe(`12 01 0002 00 00 00 40 e703 ${pid} 0100 01 02 03 01`.replaceAll(' ', ''));
  });

  it('configuration descriptor: bus powered 500 mA, interface FF/11/FF with bulk 0x81 and 0x01 of 512 bytes', () => {
    expect(hex(host.mustControl(getDescriptor(2, 0, 9)).data)).toBe('0902200001010080fa');
    expect(hex(host.mustControl(getDescriptor(2, 0, 255)).data)).toBe(ROM_CONFIGURATION);
  });

  it('string descriptors: language 0x0409, manufacturer, product, serial', () => {
    expect(hex(host.mustControl(getDescriptor(3, 0, 255)).data)).toBe('04030904');
    expect(hex(host.mustControl(getDescriptor(3, 1, 255, 0x409)).data)).toBe(utf16('Movidius Ltd.'));
    expect(hex(host.mustControl(getDescriptor(3, 2, 255, 0x409)).data)).toBe(utf16(product));
    expect(hex(host.mustControl(getDescriptor(3, 3, 255, 0x409)).data)).toBe(utf16(serial));
  });

  it('a short read returns the first wLength bytes', () => {
    expect(hex(host.mustControl(getDescriptor(1, 0, 8)).data)).toBe('1201000200000040');
    expect(hex(host.mustControl(getDescriptor(3, 1, 2, 0x409)).data)).toBe('1c03');
  });

  it('descriptors that do not exist STALL: string 4, the Microsoft OS string 0xEE, configuration 1, device qualifier', () => {
    for (const setup of [getDescriptor(3, 4, 255, 0x409), getDescriptor(3, 0xee, 255), getDescriptor(2, 1, 9), getDescriptor(6, 0, 10)]) {
      expect(host.control(setup)?.status).toBe('stall');
    }
  });
});
