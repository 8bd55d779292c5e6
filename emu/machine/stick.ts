import { Bus } from '../bus/bus.js';
import { RegisterBlock } from '../bus/register-block.js';
import type { SocContext, SocDevice } from '../soc/device.js';
import { Cpr } from '../soc/cpr.js';
import { InterruptController } from '../soc/icb.js';
import { Timer } from '../soc/timer.js';
import { Uart } from '../soc/uart.js';
import { UsbDeviceController } from '../soc/usb-device.js';
import { ShaveCluster } from '../shave/cluster.js';
import type { ControlCore, ControlCoreFactory } from '../core/control-core.js';
import type { MachineEvent } from '../events/event.js';
import { EventLog } from '../events/log.js';
import { findModel } from '../models/index.js';
import type { ChipModel } from '../models/model.js';
import { SharedMemory, type MemorySnapshot } from '../memory/shared-memory.js';
import { BootRom, type BootRomSnapshot } from '../rom/boot-rom.js';
import { Scheduler, type SchedulerSnapshot, type Task } from '../time/scheduler.js';
import { leonCore } from '../leon/leon-core.js';
import { UsbController, type UsbControllerSnapshot } from '../usb/controller.js';

export interface StickOptions {
  readonly model: ChipModel;
  /**
   * Builds the LEON OS core: by default the SPARC V8 core on this stick's bus; null for none
   * (then ROM call records fail and a jump halts at once), or a test double.
   */
  readonly leon?: ControlCoreFactory | null;
  /** Events kept in memory for reports (the log itself streams to subscribers). */
  readonly recentEvents?: number;
  /** The 64-bit chip id the CPR reports; stable for a stick, different between sticks. */
  readonly chipId?: bigint;
}

/** The chip id of a stick nobody gave one. */
export const DEFAULT_CHIP_ID = 0x0d2c3b4a_59687f80n;

export interface StickSnapshot {
  readonly format: 'myriad-stick-snapshot';
  readonly version: 1;
  readonly model: string;
  readonly seq: number;
  readonly nextInputId: number;
  readonly powered: boolean;
  readonly halted: string | null;
  readonly scheduler: SchedulerSnapshot;
  readonly memory: MemorySnapshot;
  readonly chipId: string;
  readonly devices: Readonly<Record<string, unknown>>;
  readonly usb: UsbControllerSnapshot;
  readonly rom: BootRomSnapshot;
  readonly core: unknown;
}

/**
 * One emulated stick: a pure function of its model and the inputs it is given. Inputs are the
 * `host.*` events (plug, unplug, bus reset, control and bulk transfers, cancel); each is
 * logged, then applied at the current virtual time. Time moves only through `runUntil`.
 */
export class Stick {
  readonly model: ChipModel;
  readonly scheduler = new Scheduler();
  readonly log: EventLog;
  readonly memory: SharedMemory;
  readonly bus: Bus;
  readonly usb: UsbController;
  readonly rom: BootRom;
  /** Everything on the SoC bus besides RAM, by name, as the model lists it. */
  readonly devices: ReadonlyMap<string, SocDevice | RegisterBlock>;
  readonly chipId: bigint;
  private icb: InterruptController | null = null;
  readonly core: ControlCore | null;
  powered = false;
  /** Why the machine stopped itself, or null. */
  halted: string | null = null;
  /**
   * Called before each input is logged and applied: the one moment the machine is between
   * transactions, so a snapshot taken here restores into a machine that goes on identically.
   * One array for the stick's life, hooks added to and taken from it: assigning a field of the
   * stick after construction would cost every run of the process (V8 then stops treating the
   * field as constant, and measurably more is allocated and collected on the hot paths).
   */
  readonly inputHooks: (() => void)[] = [];
  private nextInputId = 1;

  private beforeInput(): void {
    const hooks = this.inputHooks;
    for (let i = 0; i < hooks.length; i++) hooks[i]!();
  }

  constructor(options: StickOptions) {
    this.model = options.model;
    this.log = new EventLog(this.scheduler, options.recentEvents ?? 64);
    this.memory = new SharedMemory(this.model.memory);
    this.bus = new Bus(this.memory, this.log);
    this.usb = new UsbController(this.scheduler, this.log);
    this.chipId = options.chipId ?? DEFAULT_CHIP_ID;
    const ctx: SocContext = {
      scheduler: this.scheduler,
      log: this.log,
      bus: this.bus,
      usb: this.usb,
      clockHz: this.model.clocks.systemHz,
      chipId: this.chipId,
      irq: (line, active) => {
        this.log.append({ kind: 'irq', line, active });
        this.icb?.setLine(line, active);
      },
      interruptLevel: (level) => this.core?.interrupt?.(level),
      chipReset: (reason) => this.chipReset(reason),
    };
    const devices = new Map<string, SocDevice | RegisterBlock>();
    for (const spec of this.model.devices) {
      let device: SocDevice | RegisterBlock;
      switch (spec.kind) {
        case 'registers': device = new RegisterBlock(spec); break;
        case 'cpr': device = new Cpr(spec.name, spec.size, ctx); break;
        case 'timer': device = new Timer(spec.name, spec.size, ctx); break;
        case 'uart': device = new Uart(spec.name, spec.size, ctx); break;
        case 'icb': device = this.icb = new InterruptController(spec.name, spec.size, ctx, this.model.interrupts); break;
        case 'usb-device': device = new UsbDeviceController(spec.name, spec.size, ctx, spec.irq ?? 0); break;
      }
      devices.set(spec.name, device);
      this.bus.attach(spec.base, device);
    }
    const shaves = new ShaveCluster('shave', this.model.shave, ctx);
    devices.set(shaves.name, shaves);
    this.bus.attach(this.model.shave.controlBase, shaves);
    this.devices = devices;
    const leon = options.leon === undefined ? leonCore(this.model) : options.leon;
    this.core = leon ? leon({ bus: this.bus, scheduler: this.scheduler, log: this.log, returnToRom: () => this.rom.returnFromCall(this.core!.name) }) : null;
    this.rom = new BootRom(this.model, this.bus, this.usb, this.log, this.scheduler, () => this.core);
  }

  get now(): number {
    return this.scheduler.now;
  }

  /** The id the next control or bulk transfer will get (so a host can wait for it first). */
  get nextTransferId(): number {
    return this.nextInputId;
  }

  // ---- inputs

  /** Plugs the stick in: power-on reset, the ROM appears on the bus. */
  plug(): void {
    this.beforeInput();
    this.log.append({ kind: 'host.plug' });
    if (this.powered) return;
    this.powered = true;
    this.halted = null;
    this.log.append({ kind: 'machine.power', on: true });
    for (const device of this.devices.values()) device.reset();
    this.core?.reset();
    this.rom.powerOn();
  }

  /** Pulls the stick out: whatever was running stops, pending transfers end with no-device. */
  unplug(): void {
    this.beforeInput();
    this.log.append({ kind: 'host.unplug' });
    if (!this.powered) return;
    this.rom.powerOff();
    this.usb.disconnect('unplugged');
    this.stopEverything();
    this.powered = false;
    // RAM loses its contents without power. Clearing here rather than at power-on means a new
    // stick (whose memory starts zeroed) does not pay for zeroing megabytes of it again.
    this.memory.clear();
    this.log.append({ kind: 'machine.power', on: false });
  }

  busReset(): void {
    this.beforeInput();
    this.log.append({ kind: 'host.reset' });
    this.usb.busReset();
  }

  /** Submits a control transfer; its end is a usb.control.done event with the returned id. */
  control(setup: Uint8Array, data: Uint8Array | null, id = this.nextInputId): number {
    this.beforeInput();
    this.nextInputId = id + 1;
    const ownSetup = setup.slice(0, 8);
    const ownData = data ? data.slice() : null;
    this.log.append({ kind: 'host.control', id, setup: ownSetup, data: ownData });
    this.usb.submitControl(id, ownSetup, ownData);
    return id;
  }

  /** Submits a bulk transfer: `data` for OUT endpoints, `length` for IN endpoints. */
  transfer(endpoint: number, length: number, data: Uint8Array | null, id = this.nextInputId): number {
    this.beforeInput();
    this.nextInputId = id + 1;
    // The host may reuse its buffer: the log and the device keep their own copy.
    const ownData = endpoint & 0x80 ? null : (data ?? new Uint8Array(0)).slice();
    const ownLength = ownData ? ownData.length : length;
    this.log.append({ kind: 'host.transfer', id, endpoint, length: ownLength, data: ownData });
    this.usb.submitTransfer(id, endpoint, ownLength, ownData);
    return id;
  }

  cancel(id: number): void {
    this.beforeInput();
    this.log.append({ kind: 'host.cancel', id });
    this.usb.cancel(id);
  }

  /** Applies a recorded input event (for replay). */
  apply(input: MachineEvent): void {
    switch (input.kind) {
      case 'host.plug':
        return this.plug();
      case 'host.unplug':
        return this.unplug();
      case 'host.reset':
        return this.busReset();
      case 'host.control':
        this.control(input.setup, input.data, input.id);
        return;
      case 'host.transfer':
        this.transfer(input.endpoint, input.length, input.data, input.id);
        return;
      case 'host.cancel':
        return this.cancel(input.id);
      default:
        throw new TypeError(`${input.kind} is not an input event`);
    }
  }

  // ---- time

  /** Time of the next thing the machine will do, or Infinity. */
  nextTime(): number {
    return this.scheduler.nextTime();
  }

  /** Runs everything due up to virtual time `t` (ns). */
  runUntil(t: number): void {
    if (this.scheduler.runUntil(t, this.dispatch)) return;
    this.halted = `livelock: more than a million tasks at t=${this.scheduler.now} ns`;
    this.log.append({ kind: 'machine.halt', reason: this.halted });
    this.usb.disconnect('machine halted');
    this.stopEverything();
    this.scheduler.runUntil(t, this.dispatch);
  }

  private readonly dispatch = (task: Task): void => {
    if (task.target === 'usb') this.usb.handle(task);
    else if (task.target === 'rom') this.rom.handle(task);
    else if (this.core && task.target === this.core.name) this.core.handle(task);
    else {
      const device = this.devices.get(task.target);
      if (device && 'handle' in device) device.handle?.(task);
    }
  };

  private stopEverything(): void {
    for (const target of ['usb', 'rom', this.core?.name ?? '', ...this.devices.keys()]) this.scheduler.cancelTarget(target);
  }

  /**
   * A chip reset (the watchdog's): the cores stop, the devices reset, the firmware's USB device
   * leaves the bus and the boot ROM comes back with the ROM identity. Memory keeps its contents.
   */
  chipReset(reason: string): void {
    this.log.append({ kind: 'machine.reset', reason });
    this.usb.disconnect(reason);
    this.stopEverything();
    this.core?.reset();
    for (const device of this.devices.values()) device.reset();
    this.rom.powerOn();
  }

  // ---- snapshots

  snapshot(): StickSnapshot {
    const devices: Record<string, unknown> = {};
    for (const [name, device] of this.devices) devices[name] = device.snapshot();
    return {
      format: 'myriad-stick-snapshot',
      version: 1,
      model: this.model.name,
      seq: this.log.length,
      nextInputId: this.nextInputId,
      powered: this.powered,
      halted: this.halted,
      scheduler: this.scheduler.snapshot(),
      memory: this.memory.snapshot(),
      chipId: this.chipId.toString(16),
      devices,
      usb: this.usb.snapshot(),
      rom: this.rom.snapshot(),
      core: this.core?.snapshot() ?? null,
    };
  }

  /** A new machine in the state of the snapshot; its log continues at the snapshot's seq. */
  static restore(snapshot: StickSnapshot, options: Omit<StickOptions, 'model'> = {}): Stick {
    const model = findModel(snapshot.model);
    if (!model) throw new Error(`snapshot is of unknown model ${snapshot.model}`);
    const stick = new Stick({ ...options, model, chipId: BigInt(`0x${snapshot.chipId}`) });
    stick.scheduler.restore(snapshot.scheduler);
    stick.log.resumeAt(snapshot.seq);
    stick.nextInputId = snapshot.nextInputId;
    stick.powered = snapshot.powered;
    stick.halted = snapshot.halted;
    stick.memory.restore(snapshot.memory);
    for (const [name, device] of stick.devices) if (snapshot.devices[name] !== undefined) device.restore(snapshot.devices[name]);
    stick.rom.restore(snapshot.rom);
    // The USB function is the firmware's controller once the ROM has handed over.
    const udc = [...stick.devices.values()].find((d) => d instanceof UsbDeviceController) as UsbDeviceController | undefined;
    stick.usb.restore(snapshot.usb, stick.rom.phase === 'jumped' ? (udc ?? null) : stick.rom);
    if (stick.core && snapshot.core !== null) stick.core.restore(snapshot.core);
    return stick;
  }
}
