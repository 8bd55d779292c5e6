/**
 * The bundle cache across starts: a core takes the bundles it decoded before again without the
 * decoder when their words are unchanged, and the loop compiler uses what it compiled for a
 * body again. Code written between two starts (or reached through other windows) must still
 * be what the next start runs: each case compares a core that ran other code first with a
 * fresh machine that runs only the new code, state, counters and memory.
 */
import { describe, expect, it } from 'vitest';
import { ma2450 } from '../../emu/models/ma2450.js';
import { assemble, type Program } from '../../emu/shave/assembler.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';

const OUT = 0x1c00_4000; // window A: the core's CMX slice

/**
 * A loop entered `outer` times (so its first passes can run compiled), whose body adds `step`
 * to i2 and stores i2 to consecutive words; `tail` is the immediate of the bundle after the loop.
 * Its last bundle's load lands in the next pass, so the first pass can be taken over only at
 * its third bundle.
 */
function program(step: number, tail: number, outer = 6): Program {
  return assemble(`
        lsu0.ldil i1, ${outer}
        lsu0.ldil i4, ${OUT & 0xffff} || lsu1.ldih i4, ${OUT >>> 16}
        lsu0.ldil i5, 7 || iau.xor i2, i2, i2
        iau.xor i6, i6, i6
        nop 4
again:  bru.rpl i5, done
        iau.add i2, i2, ${step}
        nop
        lsu0.sti.i32 i2, i4, 4 || iau.add i3, i2, 1 || lsu1.ld.i32 i8, i4, -4
done:   iau.sub i1, i1, 1
        cmu.cmii.i32 i1, i6
        peu.pc1c neq || bru.bra again
        nop 6
        iau.add i7, i3, ${tail}
        nop 2
        bru.swih 0`);
}

interface Outcome {
  readonly irf: number[];
  readonly counters: unknown;
  readonly out: string;
  readonly pc: number;
}

function run(bench: KernelBench, core: number, p: Program): Outcome {
  bench.write(core, OUT, new Uint8Array(256));
  bench.load(core, p);
  const { result, counters } = bench.run(core, p, 100_000);
  expect(result).toEqual({ kind: 'halted', code: 0 });
  expect(bench.cores.loopCompilerError).toBeNull();
  return { irf: Array.from({ length: 32 }, (_, n) => bench.cores.irf(core, n)), counters, out: Buffer.from(bench.read(core, OUT, 256)).toString('hex'), pc: bench.cores.pc(core) };
}

/** What a machine that never ran anything else gets for `p`. */
function fresh(p: Program, core = 0): Outcome {
  return run(new KernelBench(ma2450), core, p);
}

describe('the bundle cache across starts', () => {
  it('takes unchanged bundles again without decoding them, and runs loops compiled from their first pass', () => {
    const bench = new KernelBench(ma2450);
    const p = program(3, 1);
    const first = run(bench, 0, p);
    const decoded = bench.cores.decodedBundles;
    const firstPasses = bench.cores.firstPassLoopRuns;
    expect(decoded).toBeGreaterThan(0);
    // The loop's later entries took over in their first pass (the first entry profiles it).
    expect(firstPasses).toBeGreaterThan(0);
    for (const reset of [false, true]) {
      if (reset) bench.resetCore(0);
      expect(run(bench, 0, p)).toEqual(first);
      expect(bench.cores.decodedBundles).toBe(decoded);
    }
    // Entries after the first of each start took over in their first pass again.
    expect(bench.cores.firstPassLoopRuns).toBeGreaterThan(firstPasses);
    expect(first).toEqual(fresh(p));
  });

  it('sees code written between starts: a loop body, the code after it, with and without a reset', () => {
    for (const reset of [false, true]) {
      const bench = new KernelBench(ma2450);
      run(bench, 0, program(3, 1));
      run(bench, 0, program(3, 1));
      // One word of the loop body differs.
      if (reset) bench.resetCore(0);
      expect(run(bench, 0, program(5, 1))).toEqual(fresh(program(5, 1)));
      // One word after the loop differs; then the first program again.
      if (reset) bench.resetCore(0);
      expect(run(bench, 0, program(5, 9))).toEqual(fresh(program(5, 9)));
      expect(run(bench, 0, program(3, 1))).toEqual(fresh(program(3, 1)));
      // A loop entered a different number of times.
      expect(run(bench, 0, program(3, 1, 2))).toEqual(fresh(program(3, 1, 2)));
    }
  });

  it('sees other code at the same address through other windows', () => {
    const bench = new KernelBench(ma2450);
    // Core 1's window B points at core 0's code: the same addresses, other words.
    const a = program(3, 1);
    const b = program(11, 4);
    run(bench, 0, a);
    run(bench, 1, b);
    const windowB = bench.cores.window(0, 1);
    bench.cores.setWindow(1, 1, windowB);
    expect(run(bench, 1, a)).toEqual(fresh(a, 1));
    expect(run(bench, 0, a)).toEqual(fresh(a, 0));
  });

  it('a state put back with loadState decodes what it reaches again and runs as before', () => {
    const bench = new KernelBench(ma2450);
    const p = program(3, 1);
    run(bench, 0, p);
    bench.load(0, p);
    bench.cores.start(0, p.codeBase);
    bench.cores.run(0, 40);
    const saved = bench.cores.saveState(0);
    const rest = bench.cores.run(0, 100_000);
    const after = { irf: Array.from({ length: 32 }, (_, n) => bench.cores.irf(0, n)), counters: bench.cores.counters(0) };
    // Other code in between, then the saved state on the original code.
    run(bench, 0, program(7, 2));
    bench.load(0, p);
    bench.cores.loadState(0, saved);
    expect(bench.cores.run(0, 100_000)).toEqual(rest);
    expect({ irf: Array.from({ length: 32 }, (_, n) => bench.cores.irf(0, n)), counters: bench.cores.counters(0) }).toEqual(after);
  });
});
