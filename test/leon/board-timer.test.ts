/**
 * The leon3 board's GPTIMER as a program sees it: time passes between two reads of a timer's
 * counter inside one stretch of instructions, as on QEMU's leon3_generic, where the counter
 * follows the clock.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GPTIMER_BASE, Leon3Board } from '../../emu/boards/leon3.js';
import { b, elf, exit, G0, G1, G2, G3, L0, ld, nop, print, set, st, subccImm } from '../support/sparc-encode.js';
import { haveTools } from '../support/require-tool.js';
import { runQemu } from './build-corpus.js';

const L1 = L0 + 1;
/** subcc rs1, rs2, rd (format 3, chapter 5 of the manual): the register form. */
const subcc = (rs1: number, rs2: number, rd: number) => ((2 << 30) | (rd << 25) | (0x14 << 19) | (rs1 << 14) | rs2) >>> 0;

/** Where the program leaves the two counter values it read. */
const RESULTS = 0x40100000;
/** The boot stub's timer 0: a 1 MHz tick, one per 1000 instructions. */
const NS_PER_TICK = 1000;

/**
 * Waits for timer 0's counter to leave 0 (the boot stub starts it at 0 with reload 0xfffffffe;
 * QEMU shows 0 until its first underflow has been handled, some milliseconds of host time),
 * takes that value, spins `iterations` times round a three-instruction loop, reads the counter
 * again, stores both reads at RESULTS and prints "moved" or "still".
 */
function twoReads(iterations: number): { words: number[]; between: number } {
  const words = [
    ...set(GPTIMER_BASE + 0x10, G1), // timer 0 counter value
    ...set(RESULTS, G3),
    ld(G1, 0, L0), // poll:
    subcc(L0, G0, G0),
    b(1, -2), // be poll
    nop(),
    ...set(iterations, G2), // 2 instructions
    subccImm(G2, 1, G2), // loop:
    b(9, -1), // bne loop
    nop(),
    ld(G1, 0, L1),
    st(L0, G3, 0),
    st(L1, G3, 4),
    subcc(L0, L1, G0),
    b(1, 2 + print('moved\n').length + 2), // be still: past its delay slot, the "moved" print, and ba done with its own
    nop(),
    ...print('moved\n'),
    b(8, 2 + print('still\n').length), // ba done
    nop(),
    ...print('still\n'),
    ...exit(), // done:
  ];
  // From the read that found the counter running: subcc, be, its delay slot, set, the loop.
  return { words, between: 3 + 2 + 3 * iterations + 1 };
}

function onBoard(words: number[], translate: boolean) {
  const out: number[] = [];
  const board = new Leon3Board({ translate, onUart: (byte) => out.push(byte) });
  board.load(elf(words));
  const stop = board.run(50_000_000);
  const view = new DataView(board.ram.buffer, RESULTS - 0x40000000);
  return { stop, output: Buffer.from(out).toString('latin1'), first: view.getUint32(0), second: view.getUint32(4) };
}

describe('leon3 board: GPTIMER time inside a run', () => {
  it.each([true, false])('two reads of the counter 90 us of instructions apart see it count down 90 ticks (translated blocks: %s)', (translate) => {
    const { words, between } = twoReads(30_000);
    const { stop, output, first, second } = onBoard(words, translate);
    expect(stop).toEqual({ kind: 'exit' });
    expect(output).toBe('moved\n');
    // A down-counter (from 0xfffffffe, far from wrapping): one tick per microsecond of
    // instructions between the reads, give or take the tick the reads fall in.
    expect(first - second).toBeGreaterThanOrEqual(Math.floor(between / NS_PER_TICK) - 1);
    expect(first - second).toBeLessThanOrEqual(Math.ceil(between / NS_PER_TICK) + 1);
  });

  it('reads back to back see the same tick, and a longer spin sees proportionally more', () => {
    const near = onBoard(twoReads(1).words, true);
    expect(near.first - near.second).toBeLessThanOrEqual(1);
    const short = onBoard(twoReads(10_000).words, true);
    const long = onBoard(twoReads(100_000).words, true);
    expect(Math.abs(long.first - long.second - 10 * (short.first - short.second))).toBeLessThanOrEqual(11);
  });

  it.runIf(haveTools('qemu-system-sparc'))('QEMU leon3_generic runs the same program and sees the counter move too', () => {
    // Long enough that QEMU, whose timer follows the host's clock, sees it tick.
    const { words } = twoReads(3_000_000);
    const file = join(mkdtempSync(join(tmpdir(), 'leon3-timer-')), 'two-reads.elf');
    writeFileSync(file, elf(words));
    const qemu = runQemu(file);
    expect(qemu.status).toBe(0);
    expect(qemu.output).toBe('moved\n');
    expect(onBoard(words, true).output).toBe(qemu.output);
  });
});
