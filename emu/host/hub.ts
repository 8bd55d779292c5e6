import type { ControlCoreFactory } from '../core/control-core.js';
import type { EventOf, MachineEvent } from '../events/event.js';
import { EventRecorder, type EventListener } from '../events/log.js';
import { findModel } from '../models/index.js';
import type { ChipModel } from '../models/model.js';
import { DEFAULT_CHIP_ID, Stick } from '../machine/stick.js';
import { decodeStringDescriptor } from '../usb/descriptors.js';
import { DescriptorType, encodeSetup, Request, type SetupPacket } from '../usb/setup.js';
import { BUS_RESET_NS, CONNECT_DEBOUNCE_NS, SET_ADDRESS_RECOVERY_NS } from '../usb/timing.js';
import { parseDeviceDescriptor, readConfiguration, type ConfigurationDescriptor } from '../usb/descriptor-parser.js';
import { EmulatedUSB, EmulatedUSBDevice, type EnumeratedDevice } from './webusb.js';

export type ControlDone = EventOf<'usb.control.done'>;
export type TransferDone = EventOf<'usb.transfer.done'>;

export interface PlugOptions {
  readonly model: ChipModel | string;
  readonly leon?: ControlCoreFactory;
  /** Keep every event of this stick in `port.recorder`. */
  readonly record?: boolean;
  /** Sees every event of this stick, from the very first (a trace writer, a logger). */
  readonly listener?: EventListener;
  /** The stick's chip id; by default a stable one per port, different for every port. */
  readonly chipId?: bigint;
  /** Called with the new stick before anything happens to it (a TraceWriter's `attach`). */
  readonly attach?: (stick: Stick) => void;
}

/** One port of the emulated host's root hub, with the stick plugged into it. */
export class Port {
  device: EmulatedUSBDevice | null = null;
  address = 0;
  /** Bumped at every connect and disconnect so that stale enumerations stop. */
  generation = 0;
  readonly waiters = new Map<number, (event: ControlDone | TransferDone) => void>();
  readonly recorder: EventRecorder | null;

  constructor(
    readonly number: number,
    readonly stick: Stick,
    record: boolean,
  ) {
    this.recorder = record ? new EventRecorder(stick.log) : null;
  }
}

interface Timer {
  readonly t: number;
  readonly order: number;
  readonly resolve: () => void;
}

class EnumerationError extends Error {}

const MAX_MESSAGES = 1000;

/** How long the pump may run the machines before it lets the event loop breathe (wall time: it must never change what happens, only when the process breathes). */
const PUMP_SLICE_MS = 20;

/**
 * The emulated host: a root hub with sticks plugged into it, the operating system's part of
 * USB (enumeration, addresses, resets) and one virtual clock.
 *
 * Virtual time moves only while host code waits: for a transfer, or in `sleep`. Host code that
 * does nothing leaves every stick frozen, which keeps runs deterministic whatever the speed of
 * the computer. `usb` is the WebUSB-shaped API that host programs use.
 */
export class Hub {
  readonly usb: EmulatedUSB;
  readonly ports: Port[] = [];
  /** What the operating system would print (kernel log style), the last MAX_MESSAGES lines. */
  readonly messages: string[] = [];
  private hostNow = 0;
  private timers: Timer[] = [];
  private readonly sleeping = new WeakMap<Promise<void>, Timer>();
  private timerOrder = 0;
  private pending = 0;
  private pumping = false;
  private nextAddress = 1;
  private progressed = false;

  /** `pumpSliceMs`: wall time the clock may run before the event loop breathes (tests vary it to show it changes nothing). */
  constructor(private readonly options: { readonly pumpSliceMs?: number } = {}) {
    this.usb = new EmulatedUSB(this);
  }

  /** Virtual time of the host in nanoseconds. */
  get now(): number {
    return this.hostNow;
  }

  /** Plugs a new stick into a new port. */
  plug(options: PlugOptions | ChipModel | string): Port {
    const opts: PlugOptions = typeof options === 'string' || 'chip' in options ? { model: options } : options;
    const model = typeof opts.model === 'string' ? findModel(opts.model) : opts.model;
    if (!model) throw new RangeError(`unknown model ${String(opts.model)}: use ma2450 or ma2485`);
    const number = this.ports.length + 1;
    const chipId = opts.chipId ?? DEFAULT_CHIP_ID + BigInt(number - 1) * 0x1_0000_0101n;
    const stick = new Stick({ model, chipId, ...(opts.leon ? { leon: opts.leon } : {}) });
    opts.attach?.(stick);
    const port = new Port(number, stick, opts.record ?? false);
    if (opts.listener) stick.log.subscribe(opts.listener);
    stick.log.subscribe((event) => this.observe(port, event));
    this.ports.push(port);
    stick.runUntil(this.hostNow);
    stick.plug();
    this.kick();
    return port;
  }

  /** Pulls the stick out of its port (the port stays, for `replug`). */
  unplug(port: Port): void {
    port.stick.runUntil(this.hostNow);
    port.stick.unplug();
    this.kick();
  }

  replug(port: Port): void {
    port.stick.runUntil(this.hostNow);
    port.stick.plug();
    this.kick();
  }

  /** Resolves after `ms` of virtual time, during which the sticks run. */
  sleep(ms: number): Promise<void> {
    let timer!: Timer;
    const sleeping = new Promise<void>((resolve) => {
      // Virtual time is whole nanoseconds (traces store it so): a sleep rounds to the nearest one.
      timer = { t: this.hostNow + Math.round(Math.max(0, ms) * 1e6), order: this.timerOrder++, resolve };
    });
    this.addTimer(timer);
    this.sleeping.set(sleeping, timer);
    this.pending++;
    this.kick();
    return sleeping;
  }

  /** Forgets a sleep that is no longer needed (a timeout whose answer came): it never resolves. */
  cancelSleep(sleeping: Promise<void>): void {
    const timer = this.sleeping.get(sleeping);
    if (!timer) return;
    this.sleeping.delete(sleeping);
    const at = this.timers.indexOf(timer);
    if (at < 0) return;
    this.timers.splice(at, 1);
    this.pending--;
  }

  /** Waits (in virtual time) until `done()` holds or `timeoutMs` passed; returns done(). */
  async waitFor(done: () => boolean, timeoutMs: number, stepMs = 1): Promise<boolean> {
    const deadline = this.hostNow + Math.round(timeoutMs * 1e6);
    while (!done() && this.hostNow < deadline) await this.sleep(Math.min(stepMs, (deadline - this.hostNow) / 1e6));
    return done();
  }

  // ---- transfers, for the WebUSB layer and enumeration

  control(port: Port, setup: SetupPacket, data: Uint8Array | null): Promise<ControlDone> {
    return this.submit(port, () => port.stick.control(encodeSetup(setup), data)) as Promise<ControlDone>;
  }

  transfer(port: Port, endpoint: number, length: number, data: Uint8Array | null): Promise<TransferDone> {
    return this.submit(port, () => port.stick.transfer(endpoint, length, data)) as Promise<TransferDone>;
  }

  cancel(port: Port, id: number): void {
    port.stick.runUntil(this.hostNow);
    port.stick.cancel(id);
  }

  /** Ids of the transfers of a port that have not ended. */
  pendingIds(port: Port): number[] {
    return [...port.waiters.keys()];
  }

  /** A port reset as the OS does it for USBDevice.reset(): reset, same address, same config. */
  async resetDevice(port: Port, configuration: number): Promise<void> {
    const generation = port.generation;
    port.stick.runUntil(this.hostNow);
    port.stick.busReset();
    await this.sleep(BUS_RESET_NS / 1e6);
    this.checkGeneration(port, generation);
    await this.expectOk(port, { requestType: 0x00, request: Request.SET_ADDRESS, value: port.address, index: 0, length: 0 }, null);
    await this.sleep(SET_ADDRESS_RECOVERY_NS / 1e6);
    await this.expectOk(port, { requestType: 0x80, request: Request.GET_DESCRIPTOR, value: DescriptorType.DEVICE << 8, index: 0, length: 18 }, null);
    if (configuration > 0) await this.expectOk(port, { requestType: 0x00, request: Request.SET_CONFIGURATION, value: configuration, index: 0, length: 0 }, null);
  }

  private submit(port: Port, start: () => number): Promise<ControlDone | TransferDone> {
    port.stick.runUntil(this.hostNow);
    // Wait first: a transfer to a device that is gone ends before start() returns.
    const id = port.stick.nextTransferId;
    const done = new Promise<ControlDone | TransferDone>((resolve) => port.waiters.set(id, resolve));
    this.pending++;
    start();
    this.kick();
    return done;
  }

  /** Every event of every stick passes here: completions, connects, disconnects. */
  private observe(port: Port, event: MachineEvent): void {
    switch (event.kind) {
      case 'usb.control.done':
      case 'usb.transfer.done': {
        const waiter = port.waiters.get(event.id);
        if (!waiter) return; // a transfer submitted to the stick directly, not through the hub
        port.waiters.delete(event.id);
        this.pending--;
        this.progressed = true;
        waiter(event);
        return;
      }
      case 'usb.connect': {
        const generation = ++port.generation;
        this.say(`usb port ${port.number}: new high-speed USB device, idVendor=${hex4(event.vendorId)}, idProduct=${hex4(event.productId)}`);
        // Enumeration is host code: it starts once the machine has finished this instant, and
        // before the clock moves on (else when it starts would depend on when the pump breathes).
        this.progressed = true;
        queueMicrotask(() => void this.enumerate(port, generation));
        return;
      }
      case 'usb.disconnect': {
        port.generation++;
        this.say(`usb port ${port.number}: USB disconnect (${event.reason})`);
        const device = port.device;
        port.device = null;
        this.progressed = true;
        if (device) queueMicrotask(() => this.usb.removeDevice(device));
        return;
      }
    }
  }

  /** What an operating system does with a new device, in the order Linux does it. */
  private async enumerate(port: Port, generation: number): Promise<void> {
    try {
      await this.sleep(CONNECT_DEBOUNCE_NS / 1e6);
      this.checkGeneration(port, generation);
      port.stick.runUntil(this.hostNow);
      port.stick.busReset();
      await this.sleep(BUS_RESET_NS / 1e6);
      await this.expectOk(port, getDescriptor(DescriptorType.DEVICE, 0, 64), null);
      this.checkGeneration(port, generation);
      port.stick.busReset();
      await this.sleep(BUS_RESET_NS / 1e6);
      const address = this.nextAddress;
      this.nextAddress = (this.nextAddress % 127) + 1;
      await this.expectOk(port, { requestType: 0x00, request: Request.SET_ADDRESS, value: address, index: 0, length: 0 }, null);
      port.address = address;
      await this.sleep(SET_ADDRESS_RECOVERY_NS / 1e6);
      const device = parseDeviceDescriptor((await this.expectOk(port, getDescriptor(DescriptorType.DEVICE, 0, 18), null)).data!);
      const configurations: { descriptor: ConfigurationDescriptor; name: string | null; interfaceNames: Map<number, string> }[] = [];
      const strings = new StringReader(this, port);
      for (let index = 0; index < device.numConfigurations; index++) {
        const descriptor = await readConfiguration(async (i, length) => (await this.expectOk(port, getDescriptor(DescriptorType.CONFIGURATION, i, length), null)).data!, index);
        const interfaceNames = new Map<number, string>();
        for (const intf of descriptor.interfaces) {
          const name = await strings.read(intf.iInterface);
          if (name !== null) interfaceNames.set(intf.iInterface, name);
        }
        configurations.push({ descriptor, name: await strings.read(descriptor.iConfiguration), interfaceNames });
      }
      const info: EnumeratedDevice = {
        device,
        manufacturer: await strings.read(device.iManufacturer),
        product: await strings.read(device.iProduct),
        serial: await strings.read(device.iSerial),
        configurations,
        configuration: 0,
      };
      // Like Linux, pick the first configuration so the device is ready for drivers.
      const first = configurations[0]?.descriptor.value ?? 0;
      if (first > 0) {
        await this.expectOk(port, { requestType: 0x00, request: Request.SET_CONFIGURATION, value: first, index: 0, length: 0 }, null);
        info.configuration = first;
      }
      this.checkGeneration(port, generation);
      this.say(
        `usb port ${port.number}: address ${address}: ${info.manufacturer ?? '?'} ${info.product ?? '?'} (serial ${info.serial ?? '-'}), configuration ${info.configuration}`,
      );
      const usbDevice = new EmulatedUSBDevice(this, port, info);
      port.device = usbDevice;
      this.usb.addDevice(usbDevice);
    } catch (error) {
      if (port.generation === generation) {
        this.say(`usb port ${port.number}: enumeration failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  async expectOk(port: Port, setup: SetupPacket, data: Uint8Array | null): Promise<ControlDone> {
    const done = await this.control(port, setup, data);
    if (done.status !== 'ok') throw new EnumerationError(`${requestName(setup)} ended with ${done.status}`);
    return done;
  }

  private checkGeneration(port: Port, generation: number): void {
    if (port.generation !== generation) throw new EnumerationError('device went away');
  }

  private say(line: string): void {
    this.messages.push(line);
    if (this.messages.length > MAX_MESSAGES) this.messages.splice(0, this.messages.length - MAX_MESSAGES);
  }

  // ---- the clock

  private addTimer(timer: Timer): void {
    const timers = this.timers;
    let at = timers.length;
    while (at > 0 && (timers[at - 1]!.t > timer.t || (timers[at - 1]!.t === timer.t && timers[at - 1]!.order > timer.order))) at--;
    timers.splice(at, 0, timer);
  }

  private kick(): void {
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(this.pump);
  }

  /**
   * Advances virtual time one instant at a time while some host code waits. After any instant
   * that completed something host code waits for, it yields so that code can react at that
   * very instant before time moves on.
   */
  private readonly pump = (): void => {
    const started = performance.now();
    this.progressed = false;
    while (this.pending > 0 && !this.progressed) {
      let next = this.timers.length > 0 ? this.timers[0]!.t : Infinity;
      for (const port of this.ports) next = Math.min(next, port.stick.nextTime());
      if (next === Infinity) break; // every waiter waits for an input that has not come
      this.hostNow = Math.max(this.hostNow, next);
      for (const port of this.ports) port.stick.runUntil(this.hostNow);
      while (this.timers.length > 0 && this.timers[0]!.t <= this.hostNow) {
        const timer = this.timers.shift()!;
        this.pending--;
        this.progressed = true;
        timer.resolve();
      }
      if (performance.now() - started > (this.options.pumpSliceMs ?? PUMP_SLICE_MS)) break;
    }
    if (this.pending > 0 && (this.progressed || this.timers.length > 0 || this.ports.some((p) => p.stick.nextTime() < Infinity))) {
      setImmediate(this.pump);
    } else {
      this.pumping = false;
    }
  };
}

/** Reads string descriptors in the first language the device offers. */
class StringReader {
  private language: number | null = null;
  constructor(
    private readonly hub: Hub,
    private readonly port: Port,
  ) {}

  async read(index: number): Promise<string | null> {
    if (index === 0) return null;
    if (this.language === null) {
      const languages = await this.hub.control(this.port, getDescriptor(DescriptorType.STRING, 0, 255), null);
      const data = languages.data;
      this.language = languages.status === 'ok' && data && data.length >= 4 ? data[2]! | (data[3]! << 8) : 0;
    }
    const done = await this.hub.control(this.port, { ...getDescriptor(DescriptorType.STRING, index, 255), index: this.language }, null);
    return done.status === 'ok' && done.data ? decodeStringDescriptor(done.data) : null;
  }
}

function getDescriptor(type: number, index: number, length: number): SetupPacket {
  return { requestType: 0x80, request: Request.GET_DESCRIPTOR, value: (type << 8) | index, index: 0, length };
}

function requestName(setup: SetupPacket): string {
  const name = Object.entries(Request).find(([, code]) => code === setup.request)?.[0] ?? `request ${setup.request}`;
  return `${name}(0x${setup.value.toString(16)})`;
}

function hex4(value: number): string {
  return value.toString(16).padStart(4, '0');
}
