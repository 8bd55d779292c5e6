/**
 * SHAVEs driven from the LEON's side of the bus, through the control block layout of
 * myriad-facts.md section 5: windows, PC, IRF/VRF through the debug registers, OCR bit 2 to
 * start and stop, OSR bit 3 after swih. Start, halt and errors are events.
 */
import { describe, expect, it } from 'vitest';
import { Stick } from '../../emu/machine/stick.js';
import { ma2450 } from '../../emu/models/ma2450.js';
import { ma2485 } from '../../emu/models/ma2485.js';
import type { ChipModel } from '../../emu/models/model.js';
import type { MachineEvent } from '../../emu/events/event.js';
import { assemble } from '../../emu/shave/assembler.js';
import { SUM_WORDS } from '../support/shave-programs.js';
import { OCR_STOP, OSR_ERROR, OSR_RUNNING, OSR_SWIH, SHAVE_REGISTER as R, SLICE_NS } from '../../emu/shave/cluster.js';

const shaveEvents = new WeakMap<Stick, MachineEvent[]>();

function watch(stick: Stick): Stick {
  const events: MachineEvent[] = [];
  stick.log.subscribe((event) => event.kind.startsWith('shave.') && events.push(event));
  shaveEvents.set(stick, events);
  return stick;
}

function poweredStick(model: ChipModel): Stick {
  const stick = watch(new Stick({ model, leon: null }));
  stick.plug();
  return stick;
}

const eventsOf = (stick: Stick) => shaveEvents.get(stick)!;

/** Loads SUM_WORDS for SHAVE `core` the way LEON firmware would: code in CMX, windows, registers. */
function prepare(stick: Stick, core: number, values: number[]): { control: number; out: number } {
  const control = stick.model.shave.controlBase + core * stick.model.shave.controlStride;
  const slice = 0x7000_0000 + core * 0x2_0000;
  const program = assemble(SUM_WORDS, { codeBase: 0x1d00_0000 });
  expect(stick.bus.writeBlock(slice, program.code, 'leon-os')).toBe(true);
  const data = new Uint8Array(new Uint32Array(values).buffer);
  expect(stick.bus.writeBlock(slice + 0x1000, data, 'leon-os')).toBe(true);
  const w = (register: number, value: number) => expect(stick.bus.write(control + register, 4, value, 'leon-os')).toBe(true);
  w(R.WINDOW + 4, slice); // window B: the code
  w(R.WINDOW, slice); // window A: the data
  w(R.PC, 0x1d00_0000);
  w(R.IRF + 4 * 18, 0x1c00_1000);
  w(R.IRF + 4 * 17, 0x1c00_0800);
  w(R.IRF + 4 * 16, values.length);
  return { control, out: slice + 0x800 };
}

describe('SHAVE control from the LEON bus', () => {
  for (const model of [ma2450, ma2485]) {
    it(`${model.name}: a kernel started by register writes halts with swih and leaves its result in CMX`, () => {
      const stick = poweredStick(model);
      const core = model.shave.count - 1;
      const values = Array.from({ length: 100 }, (_, i) => i * 7 + 1);
      const { control, out } = prepare(stick, core, values);
      expect(stick.bus.read(control + R.OCR, 4, 'leon-os') & OCR_STOP).toBe(OCR_STOP);
      expect(stick.bus.read(control + R.IRF + 4 * 16, 4, 'leon-os')).toBe(100);
      const started = stick.now;
      stick.bus.write(control + R.OCR, 4, 0, 'leon-os'); // clear bit 2: go
      expect(stick.bus.read(control + R.OSR, 4, 'leon-os') & OSR_RUNNING).toBe(OSR_RUNNING);
      // 100 passes of 4 cycles and a few more: under 1 us at 600 MHz, seen within one slice.
      stick.runUntil(started + SLICE_NS);
      const osr = stick.bus.read(control + R.OSR, 4, 'leon-os');
      expect(osr & (OSR_SWIH | OSR_RUNNING)).toBe(OSR_SWIH);
      expect(stick.bus.read(control + R.SWIH_CODE, 4, 'leon-os')).toBe(0x2a);
      expect(stick.bus.read(out, 4, 'leon-os')).toBe(values.reduce((a, b) => a + b, 0));
      expect(stick.bus.read(control + R.IRF + 4 * 1, 4, 'leon-os')).toBe(values.reduce((a, b) => a + b, 0));
      const events = eventsOf(stick);
      expect(events.map((e) => e.kind)).toEqual(['shave.start', 'shave.halt']);
      expect(events[1]).toMatchObject({ core, reason: 'swih', code: 0x2a });
      expect((events[1] as { cycles: number }).cycles).toBeGreaterThan(400);
      // What seek prints for the cluster.
      expect((stick.devices.get('shave') as unknown as { describe(): string }).describe()).toMatch(new RegExp(`^shave ${core} halted pc=0x1d0000[0-9a-f]{2} cycles=\\d+ i1=0x${values.reduce((a, b) => a + b, 0).toString(16)} `));
      // OSR bit 3 clears when written as one.
      stick.bus.write(control + R.OSR, 4, OSR_SWIH, 'leon-os');
      expect(stick.bus.read(control + R.OSR, 4, 'leon-os')).toBe(0);
    });
  }

  it('runs in virtual time: a long kernel is still running before its cycles have passed', () => {
    const stick = poweredStick(ma2450);
    const values = Array.from({ length: 3000 }, () => 1); // 12 000 cycles: 20 us
    const { control } = prepare(stick, 0, values);
    const started = stick.now;
    stick.bus.write(control + R.OCR, 4, 0, 'leon-os');
    stick.runUntil(started + 10_000);
    expect(stick.bus.read(control + R.OSR, 4, 'leon-os')).toBe(OSR_RUNNING);
    const cycles = stick.bus.read(control + R.CYCLES, 4, 'leon-os');
    expect(cycles).toBeGreaterThanOrEqual(6000);
    expect(cycles).toBeLessThan(6010);
    stick.runUntil(started + 30_000);
    expect(stick.bus.read(control + R.OSR, 4, 'leon-os')).toBe(OSR_SWIH);
    expect(stick.bus.read(control + R.IRF + 4, 4, 'leon-os')).toBe(3000);
  });

  it('setting OCR bit 2 stops a running core; VRF words are reachable through the debug registers', () => {
    const stick = poweredStick(ma2450);
    const { control } = prepare(stick, 2, Array.from({ length: 3000 }, () => 1));
    stick.bus.write(control + R.VRF + 16 * 5 + 8, 4, 0xdead_beef, 'leon-os');
    stick.bus.write(control + R.OCR, 4, 0, 'leon-os');
    stick.runUntil(stick.now + 5_000);
    stick.bus.write(control + R.OCR, 4, OCR_STOP, 'leon-os');
    const pc = stick.bus.read(control + R.PC, 4, 'leon-os');
    stick.runUntil(stick.now + 50_000);
    expect(stick.bus.read(control + R.OSR, 4, 'leon-os')).toBe(0);
    expect(stick.bus.read(control + R.PC, 4, 'leon-os')).toBe(pc);
    expect(stick.bus.read(control + R.VRF + 16 * 5 + 8, 4, 'leon-os')).toBe(0xdead_beef);
    expect(eventsOf(stick).filter((e) => e.kind === 'shave.halt')).toMatchObject([{ core: 2, reason: 'stopped' }]);
  });

  it('an exception shows in OSR and as an event, and the machine goes on', () => {
    const stick = poweredStick(ma2450);
    const { control } = prepare(stick, 1, [1, 2, 3]);
    stick.bus.write(control + R.IRF + 4 * 18, 4, 0x1c00_1002, 'leon-os'); // misaligned
    stick.bus.write(control + R.OCR, 4, 0, 'leon-os');
    stick.runUntil(stick.now + SLICE_NS);
    expect(stick.bus.read(control + R.OSR, 4, 'leon-os')).toBe(OSR_ERROR);
    expect(stick.bus.read(control + R.CAUSE, 4, 'leon-os')).toBe(2);
    expect(stick.bus.read(control + R.FAULT_ADDRESS, 4, 'leon-os')).toBe(0x1c00_1002);
    expect(eventsOf(stick).filter((e) => e.kind === 'shave.error')).toMatchObject([{ core: 1, cause: 'misaligned access', addr: 0x1c00_1002 }]);
  });

  it('a snapshot whose SHAVE part is damaged does not restore', () => {
    const stick = poweredStick(ma2450);
    const snapshot = stick.snapshot();
    const shave = snapshot.devices.shave as { controls: unknown[] };
    for (const damaged of [{ ...shave, controls: shave.controls.slice(1) }, { ...shave, controls: shave.controls.map(() => ({ ocr: -1 })) }, { ...shave, states: 'x' }, null]) {
      expect(() => Stick.restore({ ...snapshot, devices: { ...snapshot.devices, shave: damaged } }, { leon: null })).toThrow(/not a snapshot of 12 SHAVEs/);
    }
  });

  it('a snapshot taken while a core runs restores into a machine that finishes identically', () => {
    const run = (split: boolean) => {
      let stick = poweredStick(ma2450);
      const { control, out } = prepare(stick, 4, Array.from({ length: 3000 }, (_, i) => i));
      stick.bus.write(control + R.OCR, 4, 0, 'leon-os');
      stick.runUntil(stick.now + 7_000);
      if (split) stick = watch(Stick.restore(stick.snapshot(), { leon: null }));
      stick.runUntil(stick.now + 50_000);
      return { sum: stick.bus.read(out, 4, 'leon-os'), halt: eventsOf(stick).find((e) => e.kind === 'shave.halt') };
    };
    const whole = run(false);
    expect(whole.sum).toBe((2999 * 3000) / 2);
    expect(run(true)).toEqual(whole);
  });
});
