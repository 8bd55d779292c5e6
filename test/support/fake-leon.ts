import type { ControlCore, CoreHost } from '../../emu/core/control-core.js';
import type { Task } from '../../emu/time/scheduler.js';

/**
 * A test double for the LEON OS core: "programs" are TypeScript functions keyed by entry
 * address that act on the bus. A call returns to the ROM after `runNs` of virtual time.
 */
export class FakeLeon implements ControlCore {
  readonly name = 'leon-os';
  readonly started: { pc: number; mode: 'call' | 'jump' }[] = [];
  private running = 0;

  constructor(
    private readonly host: CoreHost,
    private readonly programs: ReadonlyMap<number, (host: CoreHost) => void>,
    private readonly runNs = 5_000,
  ) {}

  start(pc: number, mode: 'call' | 'jump'): void {
    this.started.push({ pc, mode });
    this.running = pc;
    this.host.scheduler.after(this.runNs, this.name, mode, pc);
  }

  handle(task: Task): void {
    this.programs.get(task.arg)?.(this.host);
    if (task.action === 'call') this.host.returnToRom();
  }

  reset(): void {
    this.running = 0;
  }

  snapshot(): unknown {
    return { running: this.running };
  }

  restore(snapshot: unknown): void {
    this.running = (snapshot as { running: number }).running;
  }
}

export function fakeLeon(programs: Record<number, (host: CoreHost) => void> = {}, runNs?: number) {
  return (host: CoreHost) => new FakeLeon(host, new Map(Object.entries(programs).map(([pc, fn]) => [Number(pc), fn])), runNs);
}
