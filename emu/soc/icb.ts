import type { InterruptLineSpec } from '../models/model.js';
import type { SocContext, SocDevice } from './device.js';

export const ICB = { PENDING: 0x00, MASK: 0x04, LEVEL: 0x08 } as const;

/**
 * The interrupt controller of the LEON OS core (the emulator's design, docs/soc-devices.md):
 * level-triggered lines, a mask, and the highest SPARC level among pending unmasked lines
 * presented to the core. A device clears its line by clearing its own interrupt status.
 */
export class InterruptController implements SocDevice {
  private pending = 0;
  private mask = 0;
  private level = 0;

  constructor(
    readonly name: string,
    readonly size: number,
    private readonly ctx: SocContext,
    private readonly lines: readonly InterruptLineSpec[],
  ) {}

  setLine(line: number, active: boolean): void {
    const bit = 1 << line;
    const next = active ? this.pending | bit : this.pending & ~bit;
    if (next === this.pending) return;
    this.pending = next;
    this.present();
  }

  private present(): void {
    const active = this.pending & this.mask;
    let level = 0;
    for (const l of this.lines) if (active & (1 << l.line) && l.level > level) level = l.level;
    if (level === this.level) return;
    this.level = level;
    this.ctx.interruptLevel(level);
  }

  read(offset: number): number {
    switch (offset & ~3) {
      case ICB.PENDING:
        return this.pending;
      case ICB.MASK:
        return this.mask;
      case ICB.LEVEL:
        return this.level;
      default:
        return 0;
    }
  }

  write(offset: number, _size: number, value: number): void {
    if ((offset & ~3) === ICB.MASK) {
      this.mask = value >>> 0;
      this.present();
    }
  }

  reset(): void {
    this.pending = 0;
    this.mask = 0;
    this.level = 0;
  }

  snapshot(): number[] {
    return [this.pending, this.mask, this.level];
  }

  restore(snapshot: unknown): void {
    [this.pending, this.mask, this.level] = snapshot as number[];
  }
}
