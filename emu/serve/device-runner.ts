/**
 * A stick on a real host's bus: the device side that a usbredir or USB/IP server exports.
 *
 * In-process hosts (Hub) move virtual time only while they wait; a remote host cannot be asked
 * to wait, so here virtual time follows the wall clock. While the host waits for a control or
 * OUT transfer it runs as fast as the emulator can (an upload does not take the time the
 * silicon would); while it waits only for INs, which a device may hold for ever, it runs
 * ahead of the wall clock by at most AHEAD_NS, so an idle XLink reader costs no CPU. The remote operating system owns addressing (QEMU answers
 * SET_ADDRESS itself, USB/IP clients never send it), so the runner gives the device its address
 * after every bus reset, as the exporting host's USB stack would have.
 */
import type { EventOf, MachineEvent } from '../events/event.js';
import type { Stick } from '../machine/stick.js';
import { parseDeviceDescriptor, readConfiguration, type ConfigurationDescriptor, type DeviceDescriptor } from '../usb/descriptor-parser.js';
import { DescriptorType, encodeSetup, Request, type SetupPacket } from '../usb/setup.js';
import { BUS_RESET_NS, CONNECT_DEBOUNCE_NS, SET_ADDRESS_RECOVERY_NS } from '../usb/timing.js';

export type ControlDone = EventOf<'usb.control.done'>;
export type TransferDone = EventOf<'usb.transfer.done'>;
export interface Submitted<T> {
  readonly id: number;
  readonly done: Promise<T>;
}

/** What the exporting host learned of the device when it appeared. */
export interface AttachedDevice {
  readonly device: DeviceDescriptor;
  /** Every configuration descriptor, whole. */
  readonly configurations: readonly ConfigurationDescriptor[];
  /** The configuration the device is in (0 before SET_CONFIGURATION). */
  configuration: number;
  /** Alternate setting per interface. */
  readonly alternates: Map<number, number>;
  /** Bumped at every attach: replies for an older device are dropped. */
  readonly generation: number;
}

/** Virtual time may lead the wall clock by this much while the host waits for transfers. */
const AHEAD_NS = 50_000_000;
/** Virtual time run per turn of the event loop, so that sockets are served in between. */
const SLICE_NS = 1_000_000;
/** Wall time one turn may run the stick for while the host waits, before serving sockets. */
const TURN_MS = 4;
const ADDRESS = 1;

export interface DeviceRunnerEvents {
  /** The device appeared (first power-on, or after re-enumeration) and was read. */
  attached?(device: AttachedDevice): void;
  /** The device left the bus. */
  detached?(reason: string): void;
}

export class DeviceRunner {
  private readonly waiters = new Map<number, (event: ControlDone | TransferDone) => void>();
  /** Outstanding control and OUT transfers: while there are any, time runs freely. */
  private urgent = 0;
  private readonly startedWall = performance.now();
  private readonly startedVirtual: number;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private stopped = false;
  private generation = 0;
  /** The device as the host side knows it, or null while it is away. */
  current: AttachedDevice | null = null;
  private readonly unsubscribe: () => void;

  constructor(
    readonly stick: Stick,
    private readonly events: DeviceRunnerEvents = {},
  ) {
    this.startedVirtual = stick.now;
    this.unsubscribe = stick.log.subscribe((event) => this.observe(event));
    if (!stick.powered) stick.plug();
    this.schedule();
  }

  /** Stops the clock (the stick keeps its state). */
  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
    }
    for (const id of [...this.waiters.keys()]) this.stick.cancel(id);
  }

  control(setup: SetupPacket, data: Uint8Array | null): Promise<ControlDone> {
    return this.submitControl(setup, data).done;
  }

  /**
   * A control transfer, with the id that `cancel` takes. `onDone` runs at the completion
   * itself, before any later event of the stick (a server that answers there keeps the wire in
   * the device's order: a transfer's answer before the disconnect that followed it).
   */
  submitControl(setup: SetupPacket, data: Uint8Array | null, onDone?: (done: ControlDone) => void): Submitted<ControlDone> {
    return this.submit(() => this.stick.control(encodeSetup(setup), data), true, onDone as never) as Submitted<ControlDone>;
  }

  /** A bulk transfer, with the id that `cancel` takes; `onDone` as for submitControl. */
  submitTransfer(endpoint: number, length: number, data: Uint8Array | null, onDone?: (done: TransferDone) => void): Submitted<TransferDone> {
    return this.submit(() => this.stick.transfer(endpoint, length, data), (endpoint & 0x80) === 0, onDone as never) as Submitted<TransferDone>;
  }

  /** Cancels a transfer; its completion (status cancelled) still comes. */
  cancel(id: number): void {
    if (this.waiters.has(id)) this.stick.cancel(id);
  }

  /** Whether a transfer has not ended yet. */
  isPending(id: number): boolean {
    return this.waiters.has(id);
  }

  /** A port reset from the remote host: reset, then address and configuration restored. */
  async reset(): Promise<void> {
    const device = this.current;
    this.stick.busReset();
    await this.wait(BUS_RESET_NS);
    await this.control({ requestType: 0x00, request: Request.SET_ADDRESS, value: ADDRESS, index: 0, length: 0 }, null);
    await this.wait(SET_ADDRESS_RECOVERY_NS);
    if (device && device.configuration > 0) {
      await this.control({ requestType: 0x00, request: Request.SET_CONFIGURATION, value: device.configuration, index: 0, length: 0 }, null);
    }
  }

  private submit(start: () => number, urgent: boolean, onDone?: (event: ControlDone | TransferDone) => void): Submitted<ControlDone | TransferDone> {
    // Wait first: a transfer to a device that is gone ends before start() returns.
    const id = this.stick.nextTransferId;
    if (urgent) this.urgent++;
    const done = new Promise<ControlDone | TransferDone>((resolve) =>
      this.waiters.set(id, (event) => {
        if (urgent) this.urgent--;
        onDone?.(event);
        resolve(event);
      }),
    );
    start();
    this.schedule();
    return { id, done };
  }

  /** Resolves after `ns` of virtual time. */
  private wait(ns: number): Promise<void> {
    const until = this.stick.now + ns;
    return new Promise((resolve) => {
      const check = () => (this.stick.now >= until || this.stopped ? resolve() : setTimeout(check, 1));
      check();
    });
  }

  private observe(event: MachineEvent): void {
    switch (event.kind) {
      case 'usb.control.done':
      case 'usb.transfer.done': {
        const waiter = this.waiters.get(event.id);
        if (!waiter) return;
        this.waiters.delete(event.id);
        waiter(event);
        return;
      }
      case 'usb.connect': {
        const generation = ++this.generation;
        queueMicrotask(() => void this.attach(generation));
        return;
      }
      case 'usb.disconnect':
        this.generation++;
        if (this.current) {
          this.current = null;
          this.events.detached?.(event.reason);
        }
        return;
    }
  }

  /** What the exporting host's USB stack does with a new device before it hands it over. */
  private async attach(generation: number): Promise<void> {
    const ok = async (setup: SetupPacket) => {
      const done = await this.control(setup, null);
      if (generation !== this.generation) throw new Error('the device went away');
      if (done.status !== 'ok') throw new Error(`request ${setup.request} ended with ${done.status}`);
      return done;
    };
    const descriptor = (type: number, index: number, length: number) =>
      ok({ requestType: 0x80, request: Request.GET_DESCRIPTOR, value: (type << 8) | index, index: 0, length });
    try {
      await this.wait(CONNECT_DEBOUNCE_NS);
      this.stick.busReset();
      await this.wait(BUS_RESET_NS);
      await ok({ requestType: 0x00, request: Request.SET_ADDRESS, value: ADDRESS, index: 0, length: 0 });
      await this.wait(SET_ADDRESS_RECOVERY_NS);
      const device = parseDeviceDescriptor((await descriptor(DescriptorType.DEVICE, 0, 18)).data!);
      const configurations: ConfigurationDescriptor[] = [];
      const configuration = async (index: number, length: number) => (await descriptor(DescriptorType.CONFIGURATION, index, length)).data!;
      for (let index = 0; index < device.numConfigurations; index++) configurations.push(await readConfiguration(configuration, index));
      this.current = { device, configurations, configuration: 0, alternates: new Map(), generation };
      this.events.attached?.(this.current);
    } catch {
      // The device left while being read, or answers nonsense: it is not handed over (a real
      // host logs it the same way); a later connect starts afresh.
    }
  }

  // ---- the clock

  private schedule(): void {
    if (this.stopped || this.timer) return;
    const busy = this.waiters.size > 0;
    this.timer = busy ? setImmediate(this.turn) : setTimeout(this.turn, 1);
  }

  private readonly turn = (): void => {
    this.timer = null;
    if (this.stopped) return;
    const wall = this.startedVirtual + Math.round((performance.now() - this.startedWall) * 1e6);
    const limit = this.urgent > 0 ? Infinity : wall + (this.waiters.size > 0 ? AHEAD_NS : 0);
    // Slices of virtual time until this turn has used TURN_MS of the wall clock, or the host's
    // wait is over: then the event loop serves the sockets.
    const turnStarted = performance.now();
    do {
      const target = Math.min(limit, this.stick.now + SLICE_NS);
      if (target <= this.stick.now) break;
      this.stick.runUntil(target);
    } while (this.urgent > 0 && performance.now() - turnStarted < TURN_MS);
    // Busy: another slice at once if there is room ahead; otherwise wait for the wall clock.
    if (this.waiters.size > 0 && this.stick.now < limit) {
      this.timer = setImmediate(this.turn);
    } else {
      this.timer = setTimeout(this.turn, 1);
    }
  };
}
