import type { ControlCore, CoreHost } from '../core/control-core.js';
import type { ChipModel } from '../models/model.js';
import type { Task } from '../time/scheduler.js';
import { SparcV8, type SparcState } from './cpu.js';

/** Instructions per scheduler slice: about 15 us of a 700 MHz LEON. */
const SLICE = 10_000;
/**
 * Where code called by the boot ROM returns to. The ROM's own code is not emulated, so the
 * core stops here (a ROM address where nothing runs) and hands back to the ROM model.
 */
export const ROM_RETURN_OFFSET = 0x100;

interface LeonCoreState {
  readonly running: boolean;
  readonly sleeping: boolean;
  readonly mode: 'call' | 'jump';
  readonly cpu: SparcState;
}

/**
 * The LEON OS core of a stick: the SPARC V8 core in little-endian mode on the Myriad SoC bus.
 * CMX (and its alias) is RAM the core reads directly; DDR and device registers go through the
 * bus, so DDR is committed lazily and register accesses are events. The core runs in slices of
 * virtual time at the model's clock, one instruction per cycle.
 */
export class LeonCore implements ControlCore {
  readonly name: string;
  readonly cpu: SparcV8;
  private running = false;
  /** Asleep (power-down or an idle loop) until an interrupt. */
  private sleeping = false;
  private mode: 'call' | 'jump' = 'jump';
  private readonly romReturn: number;
  private readonly nsPerInstruction: number;

  constructor(
    private readonly host: CoreHost,
    model: ChipModel,
  ) {
    this.name = model.leon.cores[0]!;
    this.romReturn = (model.rom.base + ROM_RETURN_OFFSET) >>> 0;
    this.nsPerInstruction = 1e9 / model.clocks.systemHz;
    const memory = host.bus.memory;
    const cmx = memory.regions.find((r) => r.name === 'cmx');
    // The memory is shared, so these views stay valid when DDR grows.
    const windows = cmx ? [cmx.base, ...cmx.aliases].map((base) => ({ base, size: cmx.size, bytes: new Uint8Array(memory.wasm.buffer, cmx.offset, cmx.size) })) : [];
    this.cpu = new SparcV8({
      littleEndian: true,
      nwindows: (model.leon.asr17 & 0x1f) + 1,
      implVer: 0xf3,
      asr17: model.leon.asr17,
      fpu: model.leon.fpu,
      ram: windows,
      bus: {
        read: (addr, size) => host.bus.read(addr, size, this.name),
        write: (addr, size, value) => host.bus.write(addr, size, value, this.name),
      },
    });
  }

  start(pc: number, mode: 'call' | 'jump'): void {
    this.mode = mode;
    if (mode === 'jump') {
      // The firmware's start-up code sets up windows, traps and stacks itself.
      this.cpu.reset(pc);
      this.cpu.stopAt = -1;
    } else {
      // Called like a C function: it returns with `retl` (or `ret; restore`) to %o7 + 8.
      this.cpu.pc = pc;
      this.cpu.npc = (pc + 4) | 0;
      this.cpu.setReg(15, (this.romReturn - 8) | 0);
      this.cpu.stopAt = this.romReturn;
      this.cpu.halted = null;
    }
    this.running = true;
    this.host.scheduler.after(0, this.name, 'run', 0);
  }

  handle(task: Task): void {
    if (!this.running) return;
    const cpu = this.cpu;
    if (task.action === 'settle') return this.settle();
    if (task.action !== 'run') return;
    const ran = cpu.run(SLICE);
    // The slice's instructions take virtual time; what they lead to happens at its end.
    const elapsed = Math.max(1, Math.round(ran * this.nsPerInstruction));
    this.host.scheduler.after(elapsed, this.name, cpu.halted === null ? 'run' : 'settle', 0);
  }

  /** The core stopped at the end of the last slice: back to the ROM, or a halt in the log. */
  private settle(): void {
    const cpu = this.cpu;
    this.running = false;
    if (cpu.halted === 'stopped') {
      cpu.halted = null;
      if (this.mode === 'call') this.host.returnToRom();
      return;
    }
    // Error mode for good; power-down and idle loops until an interrupt.
    this.sleeping = cpu.halted === 'power-down' || cpu.halted === 'idle-loop';
    this.host.log.append({ kind: 'core.halt', core: this.name, pc: cpu.pc >>> 0, reason: cpu.describeHalt() });
    if (this.sleeping && cpu.irl !== 0) this.interrupt(cpu.irl); // it is pending already
  }

  reset(): void {
    this.cpu.reset(0);
    this.running = false;
    this.sleeping = false;
  }

  /** A sleeping core (power-down, idle loop) wakes on any interrupt and runs again. */
  interrupt(level: number): void {
    this.cpu.irl = level;
    if (level === 0 || !this.sleeping) return;
    this.sleeping = false;
    this.running = true;
    this.host.log.append({ kind: 'core.start', core: this.name, pc: this.cpu.pc >>> 0, mode: 'interrupt' });
    this.host.scheduler.after(0, this.name, 'run', 0);
  }

  describe(): string {
    const cpu = this.cpu;
    const hex = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
    const state = this.running ? 'running' : this.sleeping ? `sleeping (${cpu.halted})` : cpu.halted ? `halted (${cpu.describeHalt()})` : 'stopped';
    const lines = [
      `${this.name}: ${state}, ${cpu.instructions} instructions`,
      `  pc=${hex(cpu.pc)} npc=${hex(cpu.npc)} psr=${hex(cpu.psr)} wim=${hex(cpu.wim)} tbr=${hex(cpu.tbr)} y=${hex(cpu.y)}`,
    ];
    for (const [bank, base] of [['g', 0], ['o', 8], ['l', 16], ['i', 24]] as const) {
      const regs: string[] = [];
      for (let r = 0; r < 8; r++) regs.push(hex(cpu.reg(base + r)));
      lines.push(`  %${bank}0-7 ${regs.join(' ')}`);
    }
    return lines.join('\n');
  }

  snapshot(): LeonCoreState {
    return { running: this.running, sleeping: this.sleeping, mode: this.mode, cpu: this.cpu.snapshot() };
  }

  restore(snapshot: unknown): void {
    const state = snapshot as LeonCoreState;
    this.running = state.running;
    this.sleeping = state.sleeping;
    this.mode = state.mode;
    this.cpu.restore(state.cpu);
  }
}

/** The factory a Stick uses by default. */
export const leonCore = (model: ChipModel) => (host: CoreHost) => new LeonCore(host, model);
