import type { UsbPersonality } from '../models/model.js';
import { decodeStringDescriptor, type DescriptorSet } from '../usb/descriptors.js';
import { DescriptorError, parseConfigurationDescriptor, parseDeviceDescriptor } from '../usb/descriptor-parser.js';
import type { UsbFunction } from '../usb/controller.js';
import type { SocContext, SocDevice } from './device.js';

/**
 * The USB device controller the firmware drives (the emulator's design; the real controller's
 * registers are not public). Full description: docs/soc-devices.md.
 *
 *   0x000 ID          RO   0x55444331 ("UDC1")
 *   0x004 CONTROL     RW   bit 0 CONNECT: 0 -> 1 reads the descriptor table and attaches,
 *                          1 -> 0 leaves the bus
 *   0x008 STATUS      RO   bit 0 configured, bits 8-15 address, bits 16-23 configuration
 *   0x00C IRQ_STATUS  W1C  bit 0 bus reset, bit 1 configuration set,
 *                          bit 8+n OUT done on endpoint n, bit 16+n IN done on endpoint n
 *   0x010 IRQ_ENABLE  RW   same bits; the interrupt line is (IRQ_STATUS & IRQ_ENABLE) != 0
 *   0x014 DESC_TABLE  RW   address of the descriptor table
 *   0x100 + 0x20 * (n - 1), endpoint n = 1..3:
 *     +0x00 OUT_ADDR, +0x04 OUT_SIZE  where the next OUT data goes, and how much fits
 *     +0x08 OUT_CTRL  write bit 0: armed; read bit 0 armed, bit 1 the host transfer ended
 *     +0x0C OUT_COUNT RO   bytes received into the buffer
 *     +0x10 IN_ADDR, +0x14 IN_LEN     what to send
 *     +0x18 IN_CTRL   write bit 0 GO (bit 1: end with a zero-length packet); read bit 0 busy
 *
 * The descriptor table (little-endian words): device descriptor address and length,
 * configuration descriptor address and length, string count N, address of N pairs
 * (address, length), string 0 being the language ids.
 */
export const UDC = {
  ID: 0x000,
  CONTROL: 0x004,
  STATUS: 0x008,
  IRQ_STATUS: 0x00c,
  IRQ_ENABLE: 0x010,
  DESC_TABLE: 0x014,
  ENDPOINTS: 0x100,
  ENDPOINT_STRIDE: 0x20,
} as const;
export const UDC_ID = 0x55444331;
export const UDC_IRQ = { BUS_RESET: 1 << 0, CONFIGURED: 1 << 1, OUT_DONE: (n: number) => 1 << (8 + n), IN_DONE: (n: number) => 1 << (16 + n) } as const;
const ENDPOINTS = 3;
/** The longest descriptor the controller accepts from the firmware. */
const MAX_DESCRIPTOR = 4096;

interface Channel {
  outAddr: number;
  outSize: number;
  armed: boolean;
  ended: boolean;
  outCount: number;
  inAddr: number;
  inLen: number;
  busy: boolean;
}

const channel = (): Channel => ({ outAddr: 0, outSize: 0, armed: false, ended: false, outCount: 0, inAddr: 0, inLen: 0, busy: false });

export class UsbDeviceController implements SocDevice, UsbFunction {
  private connected = false;
  private irqStatus = 0;
  private irqEnable = 0;
  private descTable = 0;
  private channels: Channel[] = Array.from({ length: ENDPOINTS + 1 }, channel);

  constructor(
    readonly name: string,
    readonly size: number,
    private readonly ctx: SocContext,
    private readonly irqLine: number,
  ) {}

  // ---- registers

  read(offset: number): number {
    const o = offset & ~3;
    if (o >= UDC.ENDPOINTS) {
      const n = ((o - UDC.ENDPOINTS) >> 5) + 1;
      const c = this.channels[n];
      if (!c) return 0;
      switch (o & 0x1f) {
        case 0x00: return c.outAddr;
        case 0x04: return c.outSize;
        case 0x08: return (c.armed ? 1 : 0) | (c.ended ? 2 : 0);
        case 0x0c: return c.outCount;
        case 0x10: return c.inAddr;
        case 0x14: return c.inLen;
        case 0x18: return c.busy ? 1 : 0;
        default: return 0;
      }
    }
    const usb = this.ctx.usb;
    switch (o) {
      case UDC.ID: return UDC_ID;
      case UDC.CONTROL: return this.connected ? 1 : 0;
      case UDC.STATUS: return (usb.state === 'configured' ? 1 : 0) | ((usb.address & 0xff) << 8) | ((usb.configuration & 0xff) << 16);
      case UDC.IRQ_STATUS: return this.irqStatus;
      case UDC.IRQ_ENABLE: return this.irqEnable;
      case UDC.DESC_TABLE: return this.descTable;
      default: return 0;
    }
  }

  write(offset: number, _size: number, value: number): void {
    const o = offset & ~3;
    if (o >= UDC.ENDPOINTS) return this.writeEndpoint(((o - UDC.ENDPOINTS) >> 5) + 1, o & 0x1f, value);
    switch (o) {
      case UDC.CONTROL: {
        const connect = (value & 1) === 1;
        if (connect && !this.connected) this.attach();
        else if (!connect && this.connected) {
          this.connected = false;
          this.ctx.usb.disconnect('the firmware left the bus');
        }
        return;
      }
      case UDC.IRQ_STATUS:
        this.irqStatus &= ~value;
        return this.updateLine();
      case UDC.IRQ_ENABLE:
        this.irqEnable = value >>> 0;
        return this.updateLine();
      case UDC.DESC_TABLE:
        this.descTable = value >>> 0;
        return;
    }
  }

  private writeEndpoint(n: number, register: number, value: number): void {
    const c = this.channels[n];
    if (!c || n === 0) return;
    switch (register) {
      case 0x00: c.outAddr = value >>> 0; return;
      case 0x04: c.outSize = value >>> 0; return;
      case 0x08:
        if (value & 1 && !c.armed) {
          c.armed = true;
          c.ended = false;
          c.outCount = 0;
          this.ctx.usb.resumeOut(n);
        }
        return;
      case 0x10: c.inAddr = value >>> 0; return;
      case 0x14: c.inLen = value >>> 0; return;
      case 0x18: {
        if (!(value & 1) || c.busy) return;
        const data = this.ctx.bus.readBlock(c.inAddr, c.inLen, this.name);
        if (!data) return this.error(`IN buffer of ${c.inLen} bytes at 0x${c.inAddr.toString(16)} is not in RAM`);
        c.busy = true;
        this.ctx.usb.sendIn(0x80 | n, data, (value & 2) !== 0);
        return;
      }
    }
  }

  /** CONNECT: the personality comes from the firmware's descriptors in RAM. */
  private attach(): void {
    let descriptors: DescriptorSet;
    let personality: UsbPersonality;
    try {
      ({ descriptors, personality } = this.readDescriptors());
    } catch (error) {
      return this.error(`cannot attach: ${(error as Error).message}`);
    }
    this.connected = true;
    this.ctx.usb.connect(personality, this, descriptors);
  }

  private readDescriptors(): { descriptors: DescriptorSet; personality: UsbPersonality } {
    const bus = this.ctx.bus;
    const word = (addr: number) => {
      const v = bus.read(addr, 4, this.name);
      if (v < 0) throw new DescriptorError(`the descriptor table at 0x${this.descTable.toString(16)} is not readable`);
      return v;
    };
    const block = (addr: number, length: number, what: string) => {
      if (length > MAX_DESCRIPTOR) throw new DescriptorError(`${what} of ${length} bytes is too long`);
      const bytes = bus.readBlock(addr, length, this.name);
      if (!bytes) throw new DescriptorError(`${what} at 0x${addr.toString(16)} is not in RAM`);
      return bytes;
    };
    const t = this.descTable;
    const deviceBytes = block(word(t), word(t + 4), 'the device descriptor');
    const configBytes = block(word(t + 8), word(t + 12), 'the configuration descriptor');
    const count = word(t + 16);
    if (count > 32) throw new DescriptorError(`${count} strings are too many`);
    const strings = new Map<number, Uint8Array>();
    for (let i = 0; i < count; i++) strings.set(i, block(word(word(t + 20) + 8 * i), word(word(t + 20) + 8 * i + 4), `string ${i}`));
    const device = parseDeviceDescriptor(deviceBytes);
    const config = parseConfigurationDescriptor(configBytes);
    const text = (index: number) => {
      const d = strings.get(index);
      return index > 0 && d ? decodeStringDescriptor(d) : '';
    };
    const personality: UsbPersonality = {
      vendorId: device.vendorId,
      productId: device.productId,
      bcdUSB: device.bcdUSB,
      bcdDevice: device.bcdDevice,
      deviceClass: device.deviceClass,
      deviceSubclass: device.deviceSubclass,
      deviceProtocol: device.deviceProtocol,
      maxPacketSize0: device.maxPacketSize0,
      manufacturer: text(device.iManufacturer),
      product: text(device.iProduct),
      serial: text(device.iSerial),
      speed: 'high',
      configurations: [
        {
          value: config.value,
          attributes: config.attributes,
          maxPower: config.maxPower,
          interfaces: config.interfaces.map((i) => ({
            number: i.number,
            alternate: i.alternate,
            class: i.class,
            subclass: i.subclass,
            protocol: i.protocol,
            name: i.iInterface ? text(i.iInterface) : null,
            endpoints: i.endpoints.map((e) => ({ address: e.address, type: 'bulk' as const, maxPacketSize: e.maxPacketSize })),
          })),
        },
      ],
    };
    return { descriptors: { device: deviceBytes, configurations: [configBytes], strings }, personality };
  }

  // ---- UsbFunction: what the USB side tells the firmware

  receive(endpoint: number, data: Uint8Array): number {
    const n = endpoint & 0x7f;
    const c = this.channels[n];
    if (!c || !c.armed) return 0; // NAK until the firmware arms a buffer
    const taken = Math.min(data.length, c.outSize);
    if (taken > 0 && !this.ctx.bus.writeBlock(c.outAddr, data.subarray(0, taken), this.name)) {
      this.error(`OUT buffer at 0x${c.outAddr.toString(16)} is not in RAM`);
      this.ctx.usb.halt(n);
      return 0;
    }
    c.armed = false;
    c.outCount = taken;
    c.ended = taken === data.length;
    this.raise(UDC_IRQ.OUT_DONE(n));
    return taken;
  }

  sent(endpoint: number): void {
    const n = endpoint & 0x7f;
    const c = this.channels[n];
    if (!c) return;
    c.busy = false;
    this.raise(UDC_IRQ.IN_DONE(n));
  }

  busReset(): void {
    for (const c of this.channels) {
      c.armed = false;
      c.busy = false;
    }
    this.raise(UDC_IRQ.BUS_RESET);
  }

  configured(): void {
    this.raise(UDC_IRQ.CONFIGURED);
  }

  private raise(bits: number): void {
    this.irqStatus |= bits;
    this.updateLine();
  }

  private lineActive = false;

  private updateLine(): void {
    const active = (this.irqStatus & this.irqEnable) !== 0;
    if (active === this.lineActive) return;
    this.lineActive = active;
    this.ctx.irq(this.irqLine, active);
  }

  private error(reason: string): void {
    this.ctx.log.append({ kind: 'device.error', device: this.name, reason });
  }

  // ---- machine state

  reset(): void {
    this.connected = false;
    this.irqStatus = 0;
    this.irqEnable = 0;
    this.descTable = 0;
    this.lineActive = false;
    this.channels = Array.from({ length: ENDPOINTS + 1 }, channel);
  }

  snapshot(): unknown {
    return { connected: this.connected, irqStatus: this.irqStatus, irqEnable: this.irqEnable, descTable: this.descTable, lineActive: this.lineActive, channels: this.channels.map((c) => ({ ...c })) };
  }

  restore(snapshot: unknown): void {
    const s = snapshot as { connected: boolean; irqStatus: number; irqEnable: number; descTable: number; lineActive: boolean; channels: Channel[] };
    this.connected = s.connected;
    this.irqStatus = s.irqStatus;
    this.irqEnable = s.irqEnable;
    this.descTable = s.descTable;
    this.lineActive = s.lineActive;
    this.channels = s.channels.map((c) => ({ ...c }));
  }
}
