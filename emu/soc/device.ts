import type { Bus, BusTarget } from '../bus/bus.js';
import type { EventLog } from '../events/log.js';
import type { Scheduler, Task } from '../time/scheduler.js';
import type { UsbController } from '../usb/controller.js';

/** What a SoC device may use of its machine. */
export interface SocContext {
  readonly scheduler: Scheduler;
  readonly log: EventLog;
  readonly bus: Bus;
  readonly usb: UsbController;
  /** The system clock in Hz. */
  readonly clockHz: number;
  /** The stick's 64-bit chip id (CPR). */
  readonly chipId: bigint;
  /** Drives an interrupt line of the interrupt controller (level-triggered). */
  irq(line: number, active: boolean): void;
  /** The interrupt controller presents this SPARC level to the LEON OS core. */
  interruptLevel(level: number): void;
  /** Resets the chip (the watchdog does): cores stop, devices reset, the ROM comes back. */
  chipReset(reason: string): void;
}

/** A device on the SoC bus with state of its own. Scheduler tasks with its name reach `handle`. */
export interface SocDevice extends BusTarget {
  reset(): void;
  handle?(task: Task): void;
  snapshot(): unknown;
  restore(snapshot: unknown): void;
}
