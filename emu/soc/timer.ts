import type { Task } from '../time/scheduler.js';
import type { SocContext, SocDevice } from './device.js';

/** TIM0 registers (myriad-facts.md section 3 for the watchdog; the counter is the emulator's). */
export const TIMER = {
  FREE_LOW: 0x00,
  FREE_HIGH: 0x04,
  WATCHDOG_COUNT: 0x9c,
  WATCHDOG_ENABLE: 0xa4,
  SAFE_KEY: 0xa8,
} as const;
export const SAFE_KEY = 0xf1d0dead;

interface TimerState {
  readonly keyArmed: boolean;
  readonly enabled: boolean;
  readonly count: number;
  readonly startedAt: number;
  readonly generation: number;
}

/**
 * TIM0: a free-running 64-bit counter at the system clock, and the watchdog. A write to the
 * watchdog's counter or enable register takes effect only right after 0xF1D0DEAD was written to
 * the safe key register; otherwise it is ignored. An enabled watchdog counts down at the system
 * clock and, at zero, resets the chip: the stick drops off the bus and comes back as the ROM.
 */
export class Timer implements SocDevice {
  private keyArmed = false;
  private enabled = false;
  /** Watchdog ticks left when it was last loaded or enabled. */
  private count = 0;
  private startedAt = 0;
  private generation = 0;

  constructor(
    readonly name: string,
    readonly size: number,
    private readonly ctx: SocContext,
  ) {}

  private ticks(ns: number): number {
    return Math.floor((ns * this.ctx.clockHz) / 1e9);
  }

  private remaining(): number {
    if (!this.enabled) return this.count;
    return Math.max(0, this.count - this.ticks(this.ctx.scheduler.now - this.startedAt));
  }

  read(offset: number): number {
    const free = this.ticks(this.ctx.scheduler.now);
    switch (offset & ~3) {
      case TIMER.FREE_LOW:
        return free % 0x100000000;
      case TIMER.FREE_HIGH:
        return Math.floor(free / 0x100000000);
      case TIMER.WATCHDOG_COUNT:
        return this.remaining();
      case TIMER.WATCHDOG_ENABLE:
        return this.enabled ? 1 : 0;
      default:
        return 0;
    }
  }

  write(offset: number, _size: number, value: number): void {
    const register = offset & ~3;
    if (register === TIMER.SAFE_KEY) {
      this.keyArmed = value >>> 0 === SAFE_KEY;
      return;
    }
    if (register !== TIMER.WATCHDOG_COUNT && register !== TIMER.WATCHDOG_ENABLE) return;
    if (!this.keyArmed) return; // a protected register without the key: ignored
    this.keyArmed = false;
    const left = this.remaining();
    if (register === TIMER.WATCHDOG_COUNT) this.count = value >>> 0;
    else {
      this.count = left;
      this.enabled = (value & 1) === 1;
    }
    this.startedAt = this.ctx.scheduler.now;
    this.schedule();
  }

  private schedule(): void {
    this.generation++;
    if (!this.enabled) return;
    const ns = Math.ceil((this.count * 1e9) / this.ctx.clockHz);
    this.ctx.scheduler.after(ns, this.name, 'expire', this.generation);
  }

  handle(task: Task): void {
    if (task.action === 'expire' && task.arg === this.generation && this.enabled) {
      this.ctx.chipReset('watchdog expired');
    }
  }

  reset(): void {
    this.keyArmed = false;
    this.enabled = false;
    this.count = 0;
    this.startedAt = 0;
    this.generation++;
  }

  snapshot(): TimerState {
    return { keyArmed: this.keyArmed, enabled: this.enabled, count: this.count, startedAt: this.startedAt, generation: this.generation };
  }

  restore(snapshot: unknown): void {
    const s = snapshot as TimerState;
    this.keyArmed = s.keyArmed;
    this.enabled = s.enabled;
    this.count = s.count;
    this.startedAt = s.startedAt;
    this.generation = s.generation;
  }
}
