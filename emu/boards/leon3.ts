/**
 * A board that mirrors QEMU's `leon3_generic` machine (real-clients.md section 1), so that the
 * same bare-metal ELF runs on QEMU and on this core:
 *
 *   0x00000000  PROM: a boot stub that enables the UART and timer 0 and jumps to the ELF entry
 *   0x40000000  RAM, 128 MiB by default
 *   0x80000100  APBUART (a write to +0 prints a byte)
 *   0x80000200  IRQMP interrupt controller
 *   0x80000300  GPTIMER, two timers on interrupts 6 and 7, 40 MHz input clock
 *
 * Time: one instruction is one nanosecond, as under QEMU's `-icount shift=0`. The core runs in
 * slices and says how many instructions a slice took only when it ends, so a device register
 * sees the time its slice began. So that a program reading GPTIMER sees time pass (as on QEMU,
 * whose timers follow the clock), no slice is longer than MAX_SLICE instructions, and an access
 * to the timers or the interrupt controller ends its slice so that the clock catches up before
 * the next one: such an access sees the time at most MAX_SLICE ns behind its instruction count.
 * (Exact time needs the core to tell a bus access how far into its slice it is.)
 */
import { SparcV8, type SparcBus } from '../leon/cpu.js';
import { EM_SPARC, EM_SPARC32PLUS, ElfError, parseElf32, type ElfImage } from '../elf/elf32.js';

export const RAM_BASE = 0x4000_0000;
export const UART_BASE = 0x8000_0100;
export const IRQMP_BASE = 0x8000_0200;
export const GPTIMER_BASE = 0x8000_0300;
const PROM_SIZE = 0x1000;
/** GPTIMER input clock ticks per instruction time: 40 MHz against 1 GHz. */
const NS_PER_TIMER_CLOCK = 25;
const TIMER_IRQ = 6;
const TIMERS = 2;
/**
 * The most instructions one slice runs: how far behind the instruction count a timer access
 * may see the time (256 ns, about ten GPTIMER input clocks). Shorter slices cost more calls into
 * the core and cut more translated blocks short: the LEON corpus (test/leon/corpus, 14 M
 * instructions) took about 12 % longer with translated blocks than with unbounded slices, and
 * the same interpreted (best of 7, 1024 cost 8 %, 4096 nothing measurable).
 */
const MAX_SLICE = 256;

export interface Leon3Options {
  readonly ramBytes?: number;
  readonly littleEndian?: boolean;
  readonly nwindows?: number;
  /** Where UART bytes go. */
  readonly onUart?: (byte: number) => void;
  /** Translate hot blocks (default true); false runs the interpreter alone. */
  readonly translate?: boolean;
}

export type Leon3Stop =
  /** Error mode entered by `ta 0` with traps disabled: how bare-metal programs end under QEMU. */
  | { readonly kind: 'exit' }
  | { readonly kind: 'error-mode'; readonly trap: number; readonly description: string }
  | { readonly kind: 'step-limit' }
  | { readonly kind: 'asleep'; readonly description: string };

/** The same boot stub as QEMU's in effect: UART on, timer 0 running, %g1 = entry, jump. */
function bootStub(entry: number): number[] {
  const code: number[] = [];
  const store = (addr: number, value: number) => {
    code.push(0x82100000, 0x84100000); // mov %g0, %g1; mov %g0, %g2
    code.push(0x03000000 | (addr >>> 10), 0x82106000 | (addr & 0x3ff)); // set addr, %g1
    code.push(0x05000000 | (value >>> 10), 0x8410a000 | (value & 0x3ff)); // set value, %g2
    code.push(0xc4204000); // st %g2, [%g1]
  };
  store(UART_BASE + 8, 3); // receiver and transmitter enable
  store(GPTIMER_BASE + 4, 39); // scaler reload: 1 MHz ticks
  store(GPTIMER_BASE + 0x14, 0xfffffffe); // timer 0 reload
  store(GPTIMER_BASE + 0x18, 3); // timer 0: enable, restart
  code.push(0x82100000, 0x03000000 | (entry >>> 10), 0x82106000 | (entry & 0x3ff)); // set entry, %g1
  code.push(0x81c04000, 0x01000000); // jmp %g1; nop
  return code;
}

export class Leon3Board {
  readonly cpu: SparcV8;
  readonly ram: Uint8Array;
  readonly littleEndian: boolean;
  private readonly prom = new Uint8Array(PROM_SIZE);
  private readonly promView = new DataView(this.prom.buffer);
  private readonly onUart: (byte: number) => void;
  // APBUART
  private uartControl = 0;
  private uartScaler = 0;
  // IRQMP
  private pending = 0;
  private mask = 0;
  private force = 0;
  private irqLevel = 0;
  // GPTIMER
  private scalerValue = 0;
  private scalerReload = 0;
  private readonly counter = new Uint32Array(TIMERS);
  private readonly reload = new Uint32Array(TIMERS);
  private readonly control = new Uint32Array(TIMERS);
  /** Virtual time (ns) the timers were last brought up to date. */
  private timerTime = 0;
  /** Virtual time in ns: one per instruction, plus time asleep. */
  now = 0;

  constructor(options: Leon3Options = {}) {
    this.littleEndian = options.littleEndian ?? false;
    this.ram = new Uint8Array(options.ramBytes ?? 128 * 1024 * 1024);
    this.onUart = options.onUart ?? (() => {});
    const bus: SparcBus = { read: (addr, size) => this.read(addr, size), write: (addr, size, value) => this.write(addr, size, value) };
    this.cpu = new SparcV8({
      littleEndian: this.littleEndian,
      nwindows: options.nwindows ?? 8,
      // NWIN-1 and the V8 mul/div bit, as QEMU reports for its LEON3.
      asr17: (options.nwindows ?? 8) - 1 + (1 << 8),
      ram: [{ base: RAM_BASE, size: this.ram.length, bytes: this.ram }],
      bus,
      acknowledge: (level) => this.acknowledge(level),
      translate: options.translate ?? true,
    });
  }

  /** Loads an ELF into RAM and resets the core to run the boot stub, then the ELF. */
  load(file: Uint8Array): ElfImage {
    const elf = parseElf32(file);
    if (elf.machine !== EM_SPARC && elf.machine !== EM_SPARC32PLUS) throw new ElfError(`not a SPARC ELF (machine ${elf.machine})`);
    if (elf.littleEndian !== this.littleEndian) {
      throw new ElfError(`the ELF is ${elf.littleEndian ? 'little' : 'big'}-endian but the board runs ${this.littleEndian ? 'little' : 'big'}-endian`);
    }
    for (const segment of elf.segments) {
      const offset = segment.vaddr - RAM_BASE;
      if (offset < 0 || offset + segment.memsz > this.ram.length) {
        throw new ElfError(`segment at 0x${segment.vaddr.toString(16)} (${segment.memsz} bytes) is outside RAM 0x${RAM_BASE.toString(16)}..0x${(RAM_BASE + this.ram.length).toString(16)}`);
      }
      this.ram.set(segment.data, offset);
      this.ram.fill(0, offset + segment.data.length, offset + segment.memsz);
      this.cpu.invalidate(segment.vaddr);
    }
    this.reset(elf.entry);
    return elf;
  }

  /** The start state of QEMU's leon3_generic: PC 0 in the PROM, S=PS=1, WIM=1, %sp = RAM top. */
  reset(entry: number): void {
    this.prom.fill(0);
    bootStub(entry).forEach((word, i) => this.promView.setUint32(i * 4, word, this.littleEndian));
    this.cpu.reset(0);
    this.cpu.psr = 0xf30000c0;
    this.cpu.wim = 1;
    this.cpu.setReg(14, RAM_BASE + this.ram.length);
    this.uartControl = this.uartScaler = 0;
    this.pending = this.mask = this.force = 0;
    this.scalerValue = this.scalerReload = 0;
    this.counter.fill(0);
    this.reload.fill(0);
    this.control.fill(0);
    this.now = this.timerTime = 0;
    this.updateIrl();
  }

  /** Runs until the program stops or `maxInstructions` have run. */
  run(maxInstructions: number): Leon3Stop {
    const cpu = this.cpu;
    let left = maxInstructions;
    while (left > 0) {
      // Run up to the next timer underflow so that its interrupt comes at the right instruction,
      // and no further than MAX_SLICE, so that devices see time pass within a run.
      const slice = Math.max(1, Math.min(left, MAX_SLICE, this.nsToNextTimerEvent()));
      const ran = cpu.run(slice);
      left -= ran;
      this.now += ran;
      if (cpu.halted === 'stopped') cpu.halted = null; // a timer access ended the slice
      this.advanceTimers();
      if (cpu.halted === 'error-mode') {
        return cpu.errorTrap === 0x80 ? { kind: 'exit' } : { kind: 'error-mode', trap: cpu.errorTrap, description: cpu.describeHalt() };
      }
      if (cpu.halted === 'power-down' || cpu.halted === 'idle-loop') {
        // Asleep: time passes without instructions until an interrupt can wake the core.
        const wait = this.nsToNextTimerEvent(true);
        if (wait === Infinity) {
          const how = cpu.halted === 'power-down' ? 'powered down' : `in an idle loop (ba,a to itself at 0x${(cpu.pc >>> 0).toString(16)})`;
          return { kind: 'asleep', description: `${how} with no interrupt that could wake it` };
        }
        this.now += wait;
        this.advanceTimers();
      }
    }
    return { kind: 'step-limit' };
  }

  // ---- devices

  private read(addr: number, size: 1 | 2 | 4): number {
    if (addr < PROM_SIZE) {
      return size === 4 ? this.promView.getUint32(addr, this.littleEndian) : size === 2 ? this.promView.getUint16(addr, this.littleEndian) : this.prom[addr]!;
    }
    if (size !== 4) return -1; // APB registers are word-wide
    this.advanceTimers();
    const off = addr & 0xff;
    switch ((addr & ~0xff) >>> 0) {
      case UART_BASE:
        if (off === 0) return 0;
        if (off === 4) return 0x6; // transmitter shift register and FIFO empty, no data
        if (off === 8) return this.uartControl;
        if (off === 0xc) return this.uartScaler;
        return 0;
      case IRQMP_BASE:
        this.endSlice();
        if (off === 0x04) return this.pending;
        if (off === 0x08 || off === 0x80) return this.force;
        if (off === 0x10) return 0; // multiprocessor status: one CPU, running
        if (off === 0x40) return this.mask;
        return 0;
      case GPTIMER_BASE: {
        this.endSlice();
        if (off === 0x00) return this.scalerValue;
        if (off === 0x04) return this.scalerReload;
        if (off === 0x08) return (TIMER_IRQ << 3) | (1 << 8) | TIMERS; // separate interrupts
        const t = (off >> 4) - 1;
        if (t < 0 || t >= TIMERS) return 0;
        const reg = off & 0xf;
        return reg === 0 ? this.counter[t]! : reg === 4 ? this.reload[t]! : reg === 8 ? this.control[t]! : 0;
      }
      default:
        return -1;
    }
  }

  private write(addr: number, size: 1 | 2 | 4, value: number): boolean {
    if (size !== 4 || addr < PROM_SIZE) return addr >= PROM_SIZE ? false : true; // the PROM ignores writes
    this.advanceTimers();
    const off = addr & 0xff;
    switch ((addr & ~0xff) >>> 0) {
      case UART_BASE:
        if (off === 0) this.onUart(value & 0xff);
        else if (off === 8) this.uartControl = value;
        else if (off === 0xc) this.uartScaler = value;
        return true;
      case IRQMP_BASE:
        this.endSlice();
        if (off === 0x04) this.pending = value & 0xfffe;
        else if (off === 0x08 || off === 0x80) this.force = value & 0xfffe;
        else if (off === 0x0c) this.pending &= ~value;
        else if (off === 0x40) this.mask = value & 0xfffe;
        this.updateIrl();
        return true;
      case GPTIMER_BASE: {
        this.endSlice();
        if (off === 0x00) this.scalerValue = value & 0xffff;
        else if (off === 0x04) {
          this.scalerReload = value & 0xffff;
          this.scalerValue = this.scalerReload;
        }
        const t = (off >> 4) - 1;
        if (t >= 0 && t < TIMERS) {
          const reg = off & 0xf;
          if (reg === 0) this.counter[t] = value;
          else if (reg === 4) this.reload[t] = value;
          else if (reg === 8) {
            if (value & 4) this.counter[t] = this.reload[t]!; // LD: load the reload value
            const cleared = value & 0x10 ? this.control[t]! & ~0x10 : this.control[t]!; // write IP=1 clears it
            this.control[t] = (value & 0x2b) | (cleared & 0x10);
          }
        }
        return true;
      }
      default:
        return false;
    }
  }

  /**
   * Ends the running slice after the instruction now accessing a device whose state follows
   * the clock (the timers, and the interrupt controller they raise lines on): the board then
   * adds the slice's instructions to the clock, and the next access sees that time. The UART
   * does not depend on time, so printing does not cut slices short.
   */
  private endSlice(): void {
    if (this.cpu.halted === null) this.cpu.halted = 'stopped';
  }

  // ---- interrupts

  private updateIrl(): void {
    const active = (this.pending & this.mask) | this.force;
    this.irqLevel = active === 0 ? 0 : 31 - Math.clz32(active);
    this.cpu.irl = this.irqLevel;
  }

  /** The core took interrupt `level`: its pending (or forced) bit clears. */
  private acknowledge(level: number): void {
    const bit = 1 << level;
    if (this.force & bit) this.force &= ~bit;
    else this.pending &= ~bit;
    this.updateIrl();
  }

  // ---- timers (GRLIB GPTIMER): a prescaler feeding two down-counters

  private scalerPeriodNs(): number {
    return (this.scalerReload + 1) * NS_PER_TIMER_CLOCK;
  }

  /**
   * Nanoseconds until a timer underflows, or Infinity. With `interrupting`, only timers whose
   * underflow raises an unmasked interrupt count (what could wake a powered-down core).
   */
  private nsToNextTimerEvent(interrupting = false): number {
    let next = Infinity;
    for (let t = 0; t < TIMERS; t++) {
      if (!(this.control[t]! & 1)) continue;
      if (interrupting && !(this.control[t]! & 8 && this.mask & (1 << (TIMER_IRQ + t)))) continue;
      const ticks = this.counter[t]! + 1;
      const ns = this.scalerValue * NS_PER_TIMER_CLOCK + (ticks - 1) * this.scalerPeriodNs() + NS_PER_TIMER_CLOCK;
      next = Math.min(next, ns);
    }
    return next;
  }

  private advanceTimers(): void {
    let clocks = Math.floor((this.now - this.timerTime) / NS_PER_TIMER_CLOCK);
    if (clocks <= 0) return;
    this.timerTime += clocks * NS_PER_TIMER_CLOCK;
    // Prescaler underflows in `clocks` input clocks.
    let ticks = 0;
    if (clocks > this.scalerValue) {
      clocks -= this.scalerValue + 1;
      ticks = 1 + Math.floor(clocks / (this.scalerReload + 1));
      this.scalerValue = this.scalerReload - (clocks % (this.scalerReload + 1));
    } else {
      this.scalerValue -= clocks;
    }
    if (ticks === 0) return;
    for (let t = 0; t < TIMERS; t++) {
      const control = this.control[t]!;
      if (!(control & 1)) continue;
      const value = this.counter[t]!;
      if (ticks <= value) {
        this.counter[t] = value - ticks;
        continue;
      }
      // Underflow: restart from the reload value or stop; raise the interrupt if enabled.
      if (control & 2) {
        const period = this.reload[t]! + 1;
        const after = ticks - value - 1;
        this.counter[t] = this.reload[t]! - (after % period);
      } else {
        this.counter[t] = 0xffffffff;
        this.control[t] = control & ~1;
      }
      if (control & 8) {
        this.control[t]! |= 0x10;
        this.pending |= 1 << (TIMER_IRQ + t);
        this.updateIrl();
      }
    }
  }
}
