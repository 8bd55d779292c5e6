import type { Bus } from '../bus/bus.js';
import type { EventLog } from '../events/log.js';
import type { Scheduler, Task } from '../time/scheduler.js';

/** What the machine lends a control core (a LEON). */
export interface CoreHost {
  readonly bus: Bus;
  readonly scheduler: Scheduler;
  readonly log: EventLog;
  /** The code a ROM call record started has returned to the ROM. */
  returnToRom(): void;
}

/**
 * The LEON OS core as the boot ROM sees it. The boot ROM's call and jump records hand control
 * to it; the SPARC interpreter (its own issue) implements this, as can a test double.
 */
export interface ControlCore {
  /** The core's name in events, e.g. "leon-os". */
  readonly name: string;
  /** Starts executing at `pc`. After a 'call' the core calls host.returnToRom() when done. */
  start(pc: number, mode: 'call' | 'jump'): void;
  /** Scheduler tasks whose target is the core's name. */
  handle(task: Task): void;
  /** Power-on state. */
  reset(): void;
  /** The interrupt controller presents SPARC interrupt level `level` (0: none). */
  interrupt?(level: number): void;
  /** The core's state in words (registers), for divergence reports and `seek`. */
  describe?(): string;
  snapshot(): unknown;
  restore(snapshot: unknown): void;
}

export type ControlCoreFactory = (host: CoreHost) => ControlCore;
