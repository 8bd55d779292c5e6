/**
 * The emulated host's USB, shaped like WebUSB (https://wicg.github.io/webusb/): code written
 * for navigator.usb or node-usb's WebUSB class runs against it by swapping the `usb` object.
 * Results and exceptions follow the spec: stall and babble are statuses, while misuse (a
 * closed device, an unclaimed interface) and a vanished device are DOMExceptions.
 */
import type { TransferStatus } from '../events/event.js';
import type { ConfigurationDescriptor, DeviceDescriptor, InterfaceDescriptor } from '../usb/descriptor-parser.js';
import type { ControlDone, Hub, Port, TransferDone } from './hub.js';
import { Request, type SetupPacket } from '../usb/setup.js';

export type USBDirection = 'in' | 'out';
export type USBEndpointType = 'bulk' | 'interrupt' | 'isochronous';
export type USBRequestType = 'standard' | 'class' | 'vendor';
export type USBRecipient = 'device' | 'interface' | 'endpoint' | 'other';
export type USBTransferStatus = 'ok' | 'stall' | 'babble';

export interface USBControlTransferParameters {
  requestType: USBRequestType;
  recipient: USBRecipient;
  request: number;
  value: number;
  index: number;
}

export interface USBDeviceFilter {
  vendorId?: number;
  productId?: number;
  classCode?: number;
  subclassCode?: number;
  protocolCode?: number;
  serialNumber?: string;
}

export interface USBDeviceRequestOptions {
  filters: USBDeviceFilter[];
  exclusionFilters?: USBDeviceFilter[];
}

export class USBInTransferResult {
  constructor(
    readonly status: USBTransferStatus,
    readonly data?: DataView,
  ) {}
}

export class USBOutTransferResult {
  constructor(
    readonly status: USBTransferStatus,
    readonly bytesWritten: number,
  ) {}
}

export class USBEndpoint {
  readonly endpointNumber: number;
  readonly direction: USBDirection;
  readonly type: USBEndpointType;
  readonly packetSize: number;
  constructor(address: number, attributes: number, packetSize: number) {
    this.endpointNumber = address & 0x0f;
    this.direction = address & 0x80 ? 'in' : 'out';
    this.type = (['isochronous', 'isochronous', 'bulk', 'interrupt'] as const)[attributes & 3]!;
    this.packetSize = packetSize;
  }
}

export class USBAlternateInterface {
  readonly alternateSetting: number;
  readonly interfaceClass: number;
  readonly interfaceSubclass: number;
  readonly interfaceProtocol: number;
  readonly interfaceName: string | null;
  readonly endpoints: readonly USBEndpoint[];
  constructor(d: InterfaceDescriptor, name: string | null) {
    this.alternateSetting = d.alternate;
    this.interfaceClass = d.class;
    this.interfaceSubclass = d.subclass;
    this.interfaceProtocol = d.protocol;
    this.interfaceName = name;
    this.endpoints = d.endpoints.map((e) => new USBEndpoint(e.address, e.attributes, e.maxPacketSize));
  }
}

export class USBInterface {
  claimed = false;
  alternate: USBAlternateInterface;
  constructor(
    readonly interfaceNumber: number,
    readonly alternates: readonly USBAlternateInterface[],
  ) {
    this.alternate = alternates.find((a) => a.alternateSetting === 0) ?? alternates[0]!;
  }
}

export class USBConfiguration {
  readonly interfaces: readonly USBInterface[];
  constructor(
    readonly configurationValue: number,
    readonly configurationName: string | null,
    descriptor: ConfigurationDescriptor,
    interfaceNames: ReadonlyMap<number, string>,
  ) {
    const numbers = [...new Set(descriptor.interfaces.map((i) => i.number))];
    this.interfaces = numbers.map(
      (n) =>
        new USBInterface(
          n,
          descriptor.interfaces.filter((i) => i.number === n).map((i) => new USBAlternateInterface(i, interfaceNames.get(i.iInterface) ?? null)),
        ),
    );
  }
}

/** What the OS learned while enumerating a device. */
export interface EnumeratedDevice {
  readonly device: DeviceDescriptor;
  readonly manufacturer: string | null;
  readonly product: string | null;
  readonly serial: string | null;
  readonly configurations: readonly { descriptor: ConfigurationDescriptor; name: string | null; interfaceNames: ReadonlyMap<number, string> }[];
  configuration: number;
}

export class USBConnectionEvent extends Event {
  constructor(
    type: 'connect' | 'disconnect',
    readonly device: EmulatedUSBDevice,
  ) {
    super(type);
  }
}

const notFound = (message: string) => new DOMException(message, 'NotFoundError');
const invalidState = (message: string) => new DOMException(message, 'InvalidStateError');
const DISCONNECTED = 'The device was disconnected.';

/** navigator.usb of the emulated host. */
export class EmulatedUSB extends EventTarget {
  private devices: EmulatedUSBDevice[] = [];
  private connectHandler: ((event: USBConnectionEvent) => void) | null = null;
  private disconnectHandler: ((event: USBConnectionEvent) => void) | null = null;

  constructor(readonly hub: Hub) {
    super();
  }

  async getDevices(): Promise<EmulatedUSBDevice[]> {
    return [...this.devices];
  }

  /** There is no person to ask: the first connected device that matches a filter is chosen. */
  async requestDevice(options?: USBDeviceRequestOptions): Promise<EmulatedUSBDevice> {
    if (!options || !Array.isArray(options.filters)) throw new TypeError("Failed to execute 'requestDevice' on 'USB': 1 argument required, with a filters list.");
    for (const filter of options.filters) {
      if (filter.productId !== undefined && filter.vendorId === undefined) throw new TypeError('A filter containing a productId must also contain a vendorId.');
      if (filter.subclassCode !== undefined && filter.classCode === undefined) throw new TypeError('A filter containing a subclassCode must also contain a classCode.');
    }
    const chosen = this.devices.find(
      (d) => (options.filters.length === 0 || options.filters.some((f) => d.matches(f))) && !(options.exclusionFilters ?? []).some((f) => d.matches(f)),
    );
    if (!chosen) throw notFound('No device selected.');
    return chosen;
  }

  get onconnect(): ((event: USBConnectionEvent) => void) | null {
    return this.connectHandler;
  }
  set onconnect(handler: ((event: USBConnectionEvent) => void) | null) {
    if (this.connectHandler) this.removeEventListener('connect', this.connectHandler as EventListener);
    this.connectHandler = handler;
    if (handler) this.addEventListener('connect', handler as EventListener);
  }

  get ondisconnect(): ((event: USBConnectionEvent) => void) | null {
    return this.disconnectHandler;
  }
  set ondisconnect(handler: ((event: USBConnectionEvent) => void) | null) {
    if (this.disconnectHandler) this.removeEventListener('disconnect', this.disconnectHandler as EventListener);
    this.disconnectHandler = handler;
    if (handler) this.addEventListener('disconnect', handler as EventListener);
  }

  /** @internal the hub finished enumerating a device. */
  addDevice(device: EmulatedUSBDevice): void {
    this.devices.push(device);
    this.dispatchEvent(new USBConnectionEvent('connect', device));
  }

  /** @internal the device left the bus. */
  removeDevice(device: EmulatedUSBDevice): void {
    device.markDisconnected();
    const at = this.devices.indexOf(device);
    if (at < 0) return;
    this.devices.splice(at, 1);
    this.dispatchEvent(new USBConnectionEvent('disconnect', device));
  }

  /** @internal USBDevice.forget(). */
  forgetDevice(device: EmulatedUSBDevice): void {
    const at = this.devices.indexOf(device);
    if (at >= 0) this.devices.splice(at, 1);
  }
}

/** A USBDevice as WebUSB defines it, backed by one port of the emulated hub. */
export class EmulatedUSBDevice {
  readonly usbVersionMajor: number;
  readonly usbVersionMinor: number;
  readonly usbVersionSubminor: number;
  readonly deviceClass: number;
  readonly deviceSubclass: number;
  readonly deviceProtocol: number;
  readonly vendorId: number;
  readonly productId: number;
  readonly deviceVersionMajor: number;
  readonly deviceVersionMinor: number;
  readonly deviceVersionSubminor: number;
  readonly manufacturerName: string | null;
  readonly productName: string | null;
  readonly serialNumber: string | null;
  readonly configurations: readonly USBConfiguration[];
  private configurationValue: number;
  private isOpen = false;
  private gone = false;

  constructor(
    private readonly hub: Hub,
    /** The emulator's port this device is plugged into (not part of WebUSB). */
    readonly port: Port,
    info: EnumeratedDevice,
  ) {
    const d = info.device;
    [this.usbVersionMajor, this.usbVersionMinor, this.usbVersionSubminor] = bcd(d.bcdUSB);
    [this.deviceVersionMajor, this.deviceVersionMinor, this.deviceVersionSubminor] = bcd(d.bcdDevice);
    this.deviceClass = d.deviceClass;
    this.deviceSubclass = d.deviceSubclass;
    this.deviceProtocol = d.deviceProtocol;
    this.vendorId = d.vendorId;
    this.productId = d.productId;
    this.manufacturerName = info.manufacturer;
    this.productName = info.product;
    this.serialNumber = info.serial;
    this.configurations = info.configurations.map((c) => new USBConfiguration(c.descriptor.value, c.name, c.descriptor, c.interfaceNames));
    this.configurationValue = info.configuration;
  }

  get opened(): boolean {
    return this.isOpen;
  }

  get configuration(): USBConfiguration | null {
    return this.configurations.find((c) => c.configurationValue === this.configurationValue) ?? null;
  }

  async open(): Promise<void> {
    this.checkPresent();
    this.isOpen = true;
  }

  async close(): Promise<void> {
    this.checkPresent();
    if (!this.isOpen) return;
    this.abortTransfers();
    for (const intf of this.configuration?.interfaces ?? []) intf.claimed = false;
    this.isOpen = false;
  }

  async forget(): Promise<void> {
    if (this.isOpen && !this.gone) await this.close();
    this.hub.usb.forgetDevice(this);
  }

  async selectConfiguration(configurationValue: number): Promise<void> {
    this.checkOpen();
    const selected = this.configurations.find((c) => c.configurationValue === configurationValue);
    if (!selected) throw notFound('The configuration value provided is not supported by the device.');
    this.abortTransfers();
    const done = await this.hub.control(this.port, { requestType: 0x00, request: Request.SET_CONFIGURATION, value: configurationValue, index: 0, length: 0 }, null);
    this.throwIfGone(done.status);
    if (done.status !== 'ok') throw new DOMException('Unable to set device configuration.', 'NetworkError');
    for (const intf of this.configuration?.interfaces ?? []) intf.claimed = false;
    this.configurationValue = configurationValue;
  }

  async claimInterface(interfaceNumber: number): Promise<void> {
    this.checkOpen();
    const intf = this.findInterface(interfaceNumber);
    intf.claimed = true;
  }

  async releaseInterface(interfaceNumber: number): Promise<void> {
    this.checkOpen();
    const intf = this.findInterface(interfaceNumber);
    intf.claimed = false;
  }

  async selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void> {
    this.checkOpen();
    const intf = this.findInterface(interfaceNumber);
    if (!intf.claimed) throw invalidState('The interface must be claimed first.');
    const alternate = intf.alternates.find((a) => a.alternateSetting === alternateSetting);
    if (!alternate) throw notFound('The alternate setting provided is not supported by the device.');
    const done = await this.hub.control(this.port, { requestType: 0x01, request: Request.SET_INTERFACE, value: alternateSetting, index: interfaceNumber, length: 0 }, null);
    this.throwIfGone(done.status);
    if (done.status !== 'ok') throw new DOMException('Unable to set device interface.', 'NetworkError');
    intf.alternate = alternate;
  }

  async controlTransferIn(setup: USBControlTransferParameters, length: number): Promise<USBInTransferResult> {
    this.checkOpen();
    const done = await this.hub.control(this.port, this.setupPacket(setup, 0x80, length), null);
    const status = this.transferStatus(done);
    return new USBInTransferResult(status, done.data ? dataView(done.data) : new DataView(new ArrayBuffer(0)));
  }

  async controlTransferOut(setup: USBControlTransferParameters, data?: ArrayBuffer | ArrayBufferView): Promise<USBOutTransferResult> {
    this.checkOpen();
    const bytes = data ? toBytes(data) : new Uint8Array(0);
    const done = await this.hub.control(this.port, this.setupPacket(setup, 0x00, bytes.length), bytes.length > 0 ? bytes : null);
    const status = this.transferStatus(done);
    return new USBOutTransferResult(status, status === 'ok' ? done.length : 0);
  }

  async clearHalt(direction: USBDirection, endpointNumber: number): Promise<void> {
    this.checkOpen();
    const endpoint = this.findEndpoint(direction, endpointNumber);
    const address = (direction === 'in' ? 0x80 : 0) | endpoint.endpointNumber;
    const done = await this.hub.control(this.port, { requestType: 0x02, request: Request.CLEAR_FEATURE, value: 0, index: address, length: 0 }, null);
    this.throwIfGone(done.status);
    if (done.status !== 'ok') throw new DOMException('Unable to clear endpoint.', 'NetworkError');
  }

  async transferIn(endpointNumber: number, length: number): Promise<USBInTransferResult> {
    this.checkOpen();
    const endpoint = this.findEndpoint('in', endpointNumber);
    if (endpoint.type === 'isochronous') throw new DOMException('The specified endpoint is not a bulk or interrupt endpoint.', 'InvalidAccessError');
    if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) throw new TypeError('The transfer length must be an unsigned 32-bit integer.');
    const done = await this.hub.transfer(this.port, 0x80 | endpointNumber, length, null);
    const status = this.transferStatus(done);
    return new USBInTransferResult(status, dataView(done.data ?? new Uint8Array(0)));
  }

  async transferOut(endpointNumber: number, data: ArrayBuffer | ArrayBufferView): Promise<USBOutTransferResult> {
    this.checkOpen();
    const endpoint = this.findEndpoint('out', endpointNumber);
    if (endpoint.type === 'isochronous') throw new DOMException('The specified endpoint is not a bulk or interrupt endpoint.', 'InvalidAccessError');
    const done = await this.hub.transfer(this.port, endpointNumber, 0, toBytes(data));
    const status = this.transferStatus(done);
    return new USBOutTransferResult(status, done.length);
  }

  async isochronousTransferIn(endpointNumber: number): Promise<never> {
    this.checkOpen();
    this.findEndpoint('in', endpointNumber);
    throw new DOMException('The specified endpoint is not an isochronous endpoint.', 'InvalidAccessError');
  }

  async isochronousTransferOut(endpointNumber: number): Promise<never> {
    this.checkOpen();
    this.findEndpoint('out', endpointNumber);
    throw new DOMException('The specified endpoint is not an isochronous endpoint.', 'InvalidAccessError');
  }

  async reset(): Promise<void> {
    this.checkOpen();
    this.abortTransfers();
    try {
      await this.hub.resetDevice(this.port, this.configurationValue);
    } catch {
      throw new DOMException('Unable to reset the device.', this.gone ? 'NotFoundError' : 'NetworkError');
    }
  }

  /** @internal */
  matches(f: USBDeviceFilter): boolean {
    if (f.vendorId !== undefined && f.vendorId !== this.vendorId) return false;
    if (f.productId !== undefined && f.productId !== this.productId) return false;
    if (f.serialNumber !== undefined && f.serialNumber !== this.serialNumber) return false;
    if (f.classCode === undefined) return true;
    const classes = [
      [this.deviceClass, this.deviceSubclass, this.deviceProtocol],
      ...this.configurations.flatMap((c) => c.interfaces.flatMap((i) => i.alternates.map((a) => [a.interfaceClass, a.interfaceSubclass, a.interfaceProtocol]))),
    ];
    return classes.some(
      ([c, s, p]) => c === f.classCode && (f.subclassCode === undefined || s === f.subclassCode) && (f.protocolCode === undefined || p === f.protocolCode),
    );
  }

  /** @internal */
  markDisconnected(): void {
    this.gone = true;
    this.isOpen = false;
  }

  private setupPacket(setup: USBControlTransferParameters, direction: number, length: number): SetupPacket {
    const type = { standard: 0, class: 1, vendor: 2 }[setup.requestType];
    const to = { device: 0, interface: 1, endpoint: 2, other: 3 }[setup.recipient];
    if (type === undefined || to === undefined) throw new TypeError('Invalid requestType or recipient.');
    if (setup.recipient === 'interface') {
      const intf = this.configuration?.interfaces.find((i) => i.interfaceNumber === (setup.index & 0xff));
      if (!intf || !intf.claimed) throw invalidState('The specified interface is not part of a claimed and selected alternate interface.');
    }
    if (setup.recipient === 'endpoint') {
      const address = setup.index & 0xff;
      try {
        this.findEndpoint(address & 0x80 ? 'in' : 'out', address & 0x0f);
      } catch {
        throw invalidState('The specified endpoint is not part of a claimed and selected alternate interface.');
      }
    }
    if (!Number.isInteger(length) || length < 0 || length > 0xffff) throw new TypeError('The transfer length must be between 0 and 65535.');
    return { requestType: direction | (type << 5) | to, request: setup.request & 0xff, value: setup.value & 0xffff, index: setup.index & 0xffff, length };
  }

  private transferStatus(done: ControlDone | TransferDone): USBTransferStatus {
    this.throwIfGone(done.status);
    if (done.status === 'cancelled') throw new DOMException('The transfer was cancelled.', 'AbortError');
    return done.status as USBTransferStatus;
  }

  private throwIfGone(status: TransferStatus): void {
    if (status === 'no-device') {
      this.gone = true;
      throw notFound(DISCONNECTED);
    }
  }

  /** Aborts this device's transfers (close, selectConfiguration and reset do). */
  private abortTransfers(): void {
    for (const id of this.hub.pendingIds(this.port)) this.hub.cancel(this.port, id);
  }

  private checkPresent(): void {
    if (this.gone) throw notFound(DISCONNECTED);
  }

  private checkOpen(): void {
    this.checkPresent();
    if (!this.isOpen) throw invalidState('The device must be opened first.');
  }

  private findInterface(interfaceNumber: number): USBInterface {
    const config = this.configuration;
    if (!config) throw invalidState('The device must have a configuration selected.');
    const intf = config.interfaces.find((i) => i.interfaceNumber === interfaceNumber);
    if (!intf) throw notFound('The interface number provided is not supported by the device in its current configuration.');
    return intf;
  }

  private findEndpoint(direction: USBDirection, endpointNumber: number): USBEndpoint {
    for (const intf of this.configuration?.interfaces ?? []) {
      if (!intf.claimed) continue;
      const endpoint = intf.alternate.endpoints.find((e) => e.direction === direction && e.endpointNumber === endpointNumber);
      if (endpoint) return endpoint;
    }
    throw notFound('The specified endpoint is not part of a claimed and selected alternate interface.');
  }
}

function bcd(value: number): [number, number, number] {
  return [(value >> 8) & 0xff, (value >> 4) & 0x0f, value & 0x0f];
}

function toBytes(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The caller's own copy: the bytes of a logged event must never change under the log. */
function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.slice().buffer);
}
