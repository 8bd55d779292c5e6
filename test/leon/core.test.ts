import { describe, expect, it } from 'vitest';
import { Leon3Board } from '../../emu/boards/leon3.js';
import { ElfError } from '../../emu/elf/elf32.js';
import { SparcV8 } from '../../emu/leon/cpu.js';
import { addImm, b, elf, exit, G0, G1, G2, G3, jmpl, ld, ldub, nop, orImm, print, set, st, subccImm, ta, wrAsr19 } from '../support/sparc-encode.js';

function run(words: number[], littleEndian = false, steps = 1_000_000) {
  const out: number[] = [];
  const board = new Leon3Board({ littleEndian, onUart: (byte) => out.push(byte) });
  board.load(elf(words, { littleEndian }));
  const stop = board.run(steps);
  return { stop, output: Buffer.from(out).toString('latin1'), board };
}

/** A loop that counts %g2 down from 5, printing a digit each time, then exits. */
const COUNTDOWN = [
  ...set(0x80000100, G1),
  orImm(G0, 5, G2),
  addImm(G2, 0x30, G3), // loop: '0' + g2
  st(G3, G1, 0),
  subccImm(G2, 1, G2),
  b(9, -3), // bne loop
  nop(),
  ...print('\n'),
  ...exit(),
];

describe('SPARC core on the leon3 board', () => {
  it.each([false, true])('runs the same hand-encoded program in both byte orders (little-endian: %s)', (le) => {
    const { stop, output } = run(COUNTDOWN, le);
    expect(stop).toEqual({ kind: 'exit' });
    expect(output).toBe('54321\n');
  });

  it('stores and loads little-endian data in little-endian mode, big-endian otherwise', () => {
    const program = (marker: number) => [...set(0x40001000, G1), ...set(0x11223344, G2), st(G2, G1, 0), ldub(G1, 0, G3), ...set(0x80000100, G1), orImm(G3, 0, G2), st(G2, G1, 0), ...exit(), marker];
    expect(run(program(0), true).output).toBe('\x44');
    expect(run(program(0), false).output).toBe('\x11');
  });

  it('sees code it has just written: a store into a decoded page drops the decoded copy', () => {
    // The instruction at `patch` prints 'A'; the program first overwrites it to print 'B'.
    const patchIndex = 8;
    const words = [
      ...set(0x80000100, G1), // 0, 1
      ...set(0x40000000 + patchIndex * 4, G3), // 2, 3
      ld(G3, 4, G2), // 4: the replacement instruction word, stored after `patch`
      st(G2, G3, 0), // 5: overwrite
      nop(), // 6
      nop(), // 7
      orImm(G0, 0x41, G2), // 8: patch: or %g0, 'A', %g2
      0, // 9: replaced below with the new instruction
      st(G2, G1, 0), // 10
      ...exit(),
    ];
    words[patchIndex + 1] = orImm(G0, 0x42, G2);
    // The loop has to run the patched page once first so that it is decoded before the store.
    expect(run(words).output).toBe('B');
  });

  it('a jump into unmapped memory with traps disabled stops in error mode with instruction_access_exception', () => {
    const { stop } = run([...set(0x30000000, G1), jmpl(G1, 0, G0), nop()]);
    expect(stop).toMatchObject({ kind: 'error-mode', trap: 0x01 });
  });

  it('an undefined opcode with traps disabled stops in error mode with illegal_instruction', () => {
    const { stop } = run([nop(), 0x81680000]);
    expect(stop).toMatchObject({ kind: 'error-mode', trap: 0x02, description: expect.stringContaining('illegal_instruction') });
  });

  it('error mode from another trap than ta 0 is not an exit', () => {
    const { stop } = run([ta(5)]);
    expect(stop).toMatchObject({ kind: 'error-mode', trap: 0x85 });
  });

  it('a runaway program ends at the step limit, exactly, translated or not', () => {
    for (const translate of [true, false]) {
      const out: number[] = [];
      const board = new Leon3Board({ translate, onUart: (byte) => out.push(byte) });
      board.load(elf(COUNTDOWN.slice(0, 6).concat([b(8, -4), nop()])));
      expect(board.run(50_001)).toEqual({ kind: 'step-limit' });
      expect(board.cpu.instructions).toBe(50_001);
    }
  });

  it('power-down with no interrupt that could wake it is reported, not a hang', () => {
    // The boot stub's timer 0 runs, but without its interrupt enabled: nothing can wake the core.
    const { stop } = run([wrAsr19(), nop(), ...exit()]);
    expect(stop).toEqual({ kind: 'asleep', description: 'powered down with no interrupt that could wake it' });
  });

  it('a timer interrupt wakes a powered-down core, even one that PIL keeps from being taken', () => {
    const { stop, output, board } = run([
      ...set(0x80000240, G1), // IRQMP mask: timer 1 (interrupt 7)
      orImm(G0, 0x80, G2),
      st(G2, G1, 0),
      ...set(0x80000320, G1), // timer 1: reload 9 ticks, load, enable, interrupt enable
      orImm(G0, 9, G2),
      st(G2, G1, 4),
      orImm(G0, 0xd, G2),
      st(G2, G1, 8),
      wrAsr19(), // traps are disabled: the interrupt wakes the core but is not taken
      nop(),
      ...print('woke'),
      ...exit(),
    ]);
    expect(stop).toEqual({ kind: 'exit' });
    expect(output).toBe('woke');
    expect(board.now).toBeGreaterThanOrEqual(10_000); // ten 1 us ticks asleep
  });

  it('refuses files that are not SPARC ELFs, with the reason', () => {
    const board = new Leon3Board();
    expect(() => board.load(Uint8Array.from([1, 2, 3]))).toThrow(ElfError);
    const wrongMachine = elf([nop()]);
    wrongMachine[19] = 62; // EM_X86_64 (big-endian field)
    expect(() => board.load(wrongMachine)).toThrow(/not a SPARC ELF/);
    expect(() => board.load(elf([nop()], { base: 0x10000000 }))).toThrow(/outside RAM/);
    const truncated = elf([nop(), nop()]).subarray(0, 90);
    expect(() => board.load(truncated)).toThrow(/runs past the end of the file/);
    expect(() => board.load(elf([nop()], { littleEndian: true }))).toThrow(/little-endian but the board runs big-endian/);
  });
});

describe('register windows', () => {
  it('NWINDOWS is configurable: window registers wrap after NWINDOWS saves', () => {
    for (const nwindows of [2, 4, 8, 16, 32]) {
      const cpu = new SparcV8({ littleEndian: false, nwindows, asr17: 0, ram: [], bus: { read: () => -1, write: () => false } });
      cpu.setReg(16, 0x1234); // %l0 of window 0
      cpu.psr = 0xf30000c0 | (nwindows - 1);
      expect(cpu.reg(16)).toBe(0);
      cpu.psr = 0xf30000c0;
      expect(cpu.reg(16)).toBe(0x1234);
      // %o registers of window w are the %i registers of window w-1.
      cpu.setReg(8, 0x5678);
      cpu.psr = 0xf30000c0 | (nwindows - 1);
      expect(cpu.reg(24)).toBe(0x5678);
    }
  });

  it('writes to %g0 are discarded', () => {
    const cpu = new SparcV8({ littleEndian: false, asr17: 0, ram: [], bus: { read: () => -1, write: () => false } });
    cpu.setReg(0, 42);
    expect(cpu.reg(0)).toBe(0);
  });
});

