import type { SocContext, SocDevice } from './device.js';

export const UART = { TX: 0x00, STATUS: 0x04 } as const;
/** A line longer than this is cut into several events. */
const MAX_LINE = 256;

/**
 * The console UART (the emulator's design): bytes written to TX are collected into lines, and
 * each line is a `console.line` event. STATUS bit 0 (ready) is always set.
 */
export class Uart implements SocDevice {
  private line: number[] = [];

  constructor(
    readonly name: string,
    readonly size: number,
    private readonly ctx: SocContext,
  ) {}

  read(offset: number): number {
    return (offset & ~3) === UART.STATUS ? 1 : 0;
  }

  write(offset: number, _size: number, value: number): void {
    if ((offset & ~3) !== UART.TX) return;
    const byte = value & 0xff;
    if (byte === 0x0a) return this.flush();
    this.line.push(byte);
    if (this.line.length >= MAX_LINE) this.flush();
  }

  private flush(): void {
    this.ctx.log.append({ kind: 'console.line', device: this.name, text: Buffer.from(this.line).toString('latin1') });
    this.line = [];
  }

  reset(): void {
    this.line = [];
  }

  snapshot(): number[] {
    return [...this.line];
  }

  restore(snapshot: unknown): void {
    this.line = [...(snapshot as number[])];
  }
}
