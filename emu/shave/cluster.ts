/**
 * The SHAVEs as the LEON sees them: one control block per core on the SoC bus
 * (myriad-facts.md section 5), and the cores' time. A core started by a register write runs in
 * virtual time at the system clock: it is brought up to the present whenever its registers are
 * touched, and by a scheduler task every SLICE_NS while any core runs, so a halt is seen no
 * later than one slice after it happens (the event carries the exact cycle count).
 */
import { mergeRegisterBytes, registerBytes } from '../bus/bus.js';
import type { Task } from '../time/scheduler.js';
import type { SocContext, SocDevice } from '../soc/device.js';
import type { ShaveSpec } from '../models/model.js';
import { ShaveCores, STATE_BYTES, type RunResult } from './cores.js';

/** Offsets in a core's control block. Offsets marked "ours" are not public; docs/shave-isa.md. */
export const SHAVE_REGISTER = {
  RESET: 0x0000, // write 1: the core's power-on state
  CONTROL: 0x0004, // bit 0 (ours): raise the SHAVE interrupt line while halted (OSR bit 3 or 4 set)
  WINDOW: 0x0010, // A-D at 0x10, 0x14, 0x18, 0x1C: bus address of each 16 MB window
  OCR: 0x1000, // bit 2: stop
  OSR: 0x1004, // bit 3: halted by swih
  PC: 0x1024, // SVU_PTR
  CAUSE: 0x1028, // ours: exception cause (0 none, 1 undefined encoding, 2 misaligned, 3 unmapped, 4 branch in delay slot)
  FAULT_ADDRESS: 0x102c, // ours: the address the exception concerns
  SWIH_CODE: 0x1030, // ours: the operand of the swih that halted the core
  CYCLES: 0x1034, // ours: cycles since the start, low 32 bits
  // Ours: the counters of the last run (since the start), low 32 bits each, for the runtime's profile.
  BUNDLES: 0x1038,
  STALLS: 0x103c,
  UNIT_OPS: 0x1040, // 8 words, in slot order (PEU, BRU, LSU0, LSU1, IAU, SAU, VAU, CMU)
  DDR_READ: 0x1060,
  DDR_WRITE: 0x1064,
  CMX_READ: 0x1068, // bytes, all slices
  CMX_WRITE: 0x106c,
  IRF: 0x1180, // 32 x 4 bytes
  SRF: 0x1200, // ours: 32 x 4 bytes
  VRF: 0x1300, // 32 x 16 bytes
} as const;

export const OCR_STOP = 1 << 2;
export const OSR_RUNNING = 1 << 0; // ours
export const OSR_SWIH = 1 << 3;
export const OSR_ERROR = 1 << 4; // ours: the exception state
export const CONTROL_HALT_IRQ = 1 << 0; // ours

/** Virtual time between catch-ups of running cores. */
export const SLICE_NS = 10_000;

/** A register file reached word by word through the control block. */
interface RegisterFile {
  readonly offset: number;
  readonly words: number;
  read(core: number, word: number): number;
  write(core: number, word: number, value: number): void;
}

interface CoreControl {
  ocr: number;
  control: number;
  /** OSR_SWIH / OSR_ERROR until written back as ones. */
  sticky: number;
  /** The clock cycle (of the system clock since time 0) at which the core started. */
  startCycle: number;
}

/** A core's control registers at power-on: stopped. */
const powerOnControl = (): CoreControl => ({ ocr: OCR_STOP, control: 0, sticky: 0, startCycle: 0 });

interface ClusterSnapshot {
  readonly controls: readonly CoreControl[];
  readonly generation: number;
  /** Architectural state of each core that has been used, or null. */
  readonly states: readonly (Uint8Array | null)[];
  /** Whether the cluster holds its interrupt line high (absent in older traces: low). */
  readonly irqActive?: boolean;
}

export class ShaveCluster implements SocDevice {
  readonly size: number;
  readonly cores: ShaveCores;
  private controls: CoreControl[];
  /** Cores whose state may differ from the power-on state, so reset need not clear all. */
  private used = new Set<number>();
  private generation = 0;
  private irqActive = false;

  constructor(
    readonly name: string,
    private readonly spec: ShaveSpec,
    private readonly ctx: SocContext,
  ) {
    this.size = spec.count * spec.controlStride;
    this.cores = new ShaveCores(ctx.bus.memory, spec.count);
    this.controls = this.freshControls();
  }

  private freshControls(): CoreControl[] {
    return Array.from({ length: this.spec.count }, powerOnControl);
  }

  private cycleAt(ns: number): number {
    return Math.floor((ns * this.ctx.clockHz) / 1e9);
  }

  // ---- bus

  read(offset: number, size: number): number {
    const core = Math.floor(offset / this.spec.controlStride);
    const register = offset % this.spec.controlStride;
    this.catchUp();
    return registerBytes(this.readWord(core, register & ~3), register, size);
  }

  /**
   * The register file a control-block offset falls in (windows, IRF, SRF, VRF), with the word
   * index inside it, or null.
   */
  private fileWord(register: number): { file: RegisterFile; word: number } | null {
    for (const file of this.files) {
      if (register >= file.offset && register < file.offset + 4 * file.words) return { file, word: (register - file.offset) / 4 };
    }
    return null;
  }

  private readonly files: readonly RegisterFile[] = [
    { offset: SHAVE_REGISTER.WINDOW, words: 4, read: (core, n) => this.cores.window(core, n), write: (core, n, v) => this.cores.setWindow(core, n, v) },
    { offset: SHAVE_REGISTER.IRF, words: 32, read: (core, n) => this.cores.irf(core, n), write: (core, n, v) => this.cores.setIrf(core, n, v) },
    { offset: SHAVE_REGISTER.SRF, words: 32, read: (core, n) => this.cores.srf(core, n), write: (core, n, v) => this.cores.setSrf(core, n, v) },
    // Four words per VRF register, lane 0 first.
    { offset: SHAVE_REGISTER.VRF, words: 128, read: (core, n) => this.cores.vrfWord(core, n >> 2, n & 3), write: (core, n, v) => this.cores.setVrfWord(core, n >> 2, n & 3, v) },
  ];

  private readWord(core: number, register: number): number {
    const cores = this.cores;
    const control = this.controls[core]!;
    const hit = this.fileWord(register);
    if (hit) return hit.file.read(core, hit.word);
    switch (register) {
      case SHAVE_REGISTER.CONTROL: return control.control;
      case SHAVE_REGISTER.OCR: return control.ocr;
      case SHAVE_REGISTER.OSR: return (cores.status(core) === 'running' ? OSR_RUNNING : 0) | control.sticky;
      case SHAVE_REGISTER.PC: return cores.pc(core);
      case SHAVE_REGISTER.CAUSE: return cores.errorCode(core);
      case SHAVE_REGISTER.FAULT_ADDRESS: return cores.error(core)?.address ?? 0;
      case SHAVE_REGISTER.SWIH_CODE: return cores.swihCode(core);
      case SHAVE_REGISTER.CYCLES: return cores.cycles(core) % 0x1_0000_0000;
      default: return this.counterWord(core, register);
    }
  }

  write(offset: number, size: number, value: number): void {
    const core = Math.floor(offset / this.spec.controlStride);
    const register = offset % this.spec.controlStride;
    this.catchUp();
    // Sub-word writes merge into the register, as on the rest of the bus.
    const word = size === 4 ? value >>> 0 : mergeRegisterBytes(this.readWord(core, register & ~3), register, size, value);
    this.writeWord(core, register & ~3, word);
  }

  private writeWord(core: number, register: number, value: number): void {
    const cores = this.cores;
    const control = this.controls[core]!;
    this.used.add(core);
    const hit = this.fileWord(register);
    if (hit) return hit.file.write(core, hit.word, value);
    switch (register) {
      case SHAVE_REGISTER.RESET:
        if (value & 1) this.resetCore(core);
        return;
      case SHAVE_REGISTER.CONTROL:
        control.control = value;
        this.updateIrq();
        return;
      case SHAVE_REGISTER.OCR: {
        const wasStopped = (control.ocr & OCR_STOP) !== 0;
        control.ocr = value;
        const running = cores.status(core) === 'running';
        if (wasStopped && !(value & OCR_STOP) && !running) this.start(core);
        else if (value & OCR_STOP && running) this.stop(core);
        return;
      }
      case SHAVE_REGISTER.OSR:
        control.sticky &= ~value; // write ones to clear
        this.updateIrq();
        return;
      case SHAVE_REGISTER.PC:
        // The start address; a running core's PC is its own.
        if (cores.status(core) !== 'running') cores.setPc(core, value);
        return;
      default:
        return; // read-only or unassigned: ignored
    }
  }

  // ---- running

  /** A counter register's value: the low 32 bits of the core's counter since its start. */
  private counterWord(core: number, register: number): number {
    const R = SHAVE_REGISTER;
    if (register < R.BUNDLES || register > R.CMX_WRITE) return 0;
    const c = this.cores.counters(core);
    const low = (n: number) => n % 0x1_0000_0000;
    if (register >= R.UNIT_OPS && register < R.DDR_READ) return low(Object.values(c.unitOps)[(register - R.UNIT_OPS) / 4]!);
    switch (register) {
      case R.BUNDLES: return low(c.bundles);
      case R.STALLS: return low(c.stalls);
      case R.DDR_READ: return low(c.ddr.read);
      case R.DDR_WRITE: return low(c.ddr.written);
      case R.CMX_READ: return low(c.cmx.reduce((sum, s) => sum + s.read, 0));
      default: return low(c.cmx.reduce((sum, s) => sum + s.written, 0));
    }
  }

  /** The interrupt line is high while a core that asks for it is halted and not acknowledged. */
  private updateIrq(): void {
    if (this.spec.irq === undefined) return;
    const active = this.controls.some((c) => (c.control & CONTROL_HALT_IRQ) !== 0 && (c.sticky & (OSR_SWIH | OSR_ERROR)) !== 0);
    if (active === this.irqActive) return;
    this.irqActive = active;
    this.ctx.irq(this.spec.irq, active);
  }

  private start(core: number): void {
    const control = this.controls[core]!;
    control.sticky = 0;
    this.updateIrq();
    control.startCycle = this.cycleAt(this.ctx.scheduler.now);
    const pc = this.cores.pc(core);
    this.cores.start(core, pc);
    this.ctx.log.append({ kind: 'shave.start', core, pc });
    this.scheduleSlice();
  }

  private stop(core: number): void {
    this.cores.stop(core);
    this.ctx.log.append({ kind: 'shave.halt', core, pc: this.cores.pc(core), reason: 'stopped', code: 0, cycles: Math.min(this.cores.cycles(core), 0xffffffff) });
  }

  private scheduleSlice(): void {
    this.ctx.scheduler.after(SLICE_NS, this.name, 'slice', ++this.generation);
  }

  handle(task: Task): void {
    if (task.action !== 'slice' || task.arg !== this.generation) return;
    if (this.catchUp()) this.scheduleSlice();
  }

  /** Runs every running core up to the present. Returns whether any still runs. */
  private catchUp(): boolean {
    const now = this.cycleAt(this.ctx.scheduler.now);
    let running = false;
    for (let core = 0; core < this.spec.count; core++) {
      if (this.cores.status(core) !== 'running') continue;
      const due = now - this.controls[core]!.startCycle - this.cores.cycles(core);
      if (due > 0) this.report(core, this.cores.run(core, due));
      running ||= this.cores.status(core) === 'running';
    }
    return running;
  }

  private report(core: number, result: RunResult): void {
    const pc = this.cores.pc(core);
    if (result.kind === 'halted') {
      this.controls[core]!.sticky |= OSR_SWIH;
      this.controls[core]!.ocr |= OCR_STOP;
      this.ctx.log.append({ kind: 'shave.halt', core, pc, reason: 'swih', code: result.code, cycles: Math.min(this.cores.cycles(core), 0xffffffff) });
      this.updateIrq();
    } else if (result.kind === 'error') {
      this.controls[core]!.sticky |= OSR_ERROR;
      this.controls[core]!.ocr |= OCR_STOP;
      this.ctx.log.append({ kind: 'shave.error', core, pc, cause: result.cause, addr: result.address });
      this.updateIrq();
    }
  }

  private resetCore(core: number): void {
    this.cores.reset(core);
    this.controls[core] = powerOnControl();
    this.updateIrq();
  }

  /** The cores that have been used: status, PC, cycles and the IRF registers that are not zero. */
  describe(): string {
    if (this.used.size === 0) return 'no core used since power-on';
    return [...this.used]
      .sort((a, b) => a - b)
      .map((core) => {
        const cores = this.cores;
        const error = cores.error(core);
        const irf = Array.from({ length: 32 }, (_, n) => cores.irf(core, n)).flatMap((v, n) => (v === 0 ? [] : [`i${n}=0x${v.toString(16)}`]));
        return `shave ${core} ${cores.status(core)}${error ? ` (${error.cause} at 0x${error.address.toString(16)})` : ''} pc=0x${cores.pc(core).toString(16)} cycles=${cores.cycles(core)} ${irf.join(' ')}`.trimEnd();
      })
      .join('; ');
  }

  // ---- device

  reset(): void {
    for (const core of this.used) this.cores.reset(core);
    this.used.clear();
    this.controls = this.freshControls();
    this.generation++;
    this.irqActive = false; // the chip's reset lowers every line
  }

  snapshot(): ClusterSnapshot {
    const states = this.controls.map((_, core) => (this.used.has(core) ? this.cores.saveState(core) : null));
    return { controls: this.controls.map((c) => ({ ...c })), generation: this.generation, states, irqActive: this.irqActive };
  }

  restore(snapshot: unknown): void {
    const s = snapshot as ClusterSnapshot;
    // Snapshots come from trace files, which may come from anyone: check the shape first.
    const word = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
    if (
      !Array.isArray(s?.controls) ||
      s.controls.length !== this.spec.count ||
      !s.controls.every((c) => word(c?.ocr) && word(c?.control) && word(c?.sticky) && Number.isSafeInteger(c?.startCycle)) ||
      !Array.isArray(s.states) ||
      s.states.length !== this.spec.count ||
      !s.states.every((state) => state === null || state instanceof Uint8Array) ||
      !Number.isSafeInteger(s.generation)
    ) {
      throw new RangeError(`not a snapshot of ${this.spec.count} SHAVEs`);
    }
    this.reset();
    this.controls = s.controls.map((c) => ({ ...c }));
    this.generation = s.generation;
    this.irqActive = s.irqActive === true;
    s.states.forEach((state, core) => {
      if (!state) return;
      if (state.length !== STATE_BYTES) throw new RangeError(`SHAVE ${core} state is ${state.length} bytes, not ${STATE_BYTES}`);
      this.cores.loadState(core, state);
      this.used.add(core);
    });
  }
}
