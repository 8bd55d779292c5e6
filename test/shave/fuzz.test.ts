/**
 * Hostile SHAVE code: random words, and random bundles that decode, with random registers and
 * windows. Whatever it is, the core ends halted, in its exception state or out of cycles; the
 * host never sees a WebAssembly trap or a JavaScript exception.
 */
import { describe, expect, it } from 'vitest';
import { xorshift32 } from '../support/random.js';
import { HEADER_MARKER, OPERAND_BITS, TABLES, UNITS, tableOf, targetBits } from '../../emu/shave/isa.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { ma2485 } from '../../emu/models/ma2485.js';

const rand32 = xorshift32(7);

/** A bundle that decodes: a header with random units, and for each a random operation with random operand bits. */
function randomBundle(): number[] {
  let mask = 0;
  for (let unit = 0; unit < 8; unit++) if (rand32() % 4 === 0) mask |= 1 << unit;
  const words = [mask | ((rand32() % 4) << 8) | (HEADER_MARKER << 16)];
  UNITS.forEach((unit, n) => {
    if (!(mask & (1 << n))) return;
    const table = TABLES[tableOf(unit)];
    const opcode = rand32() % table.length;
    let word = opcode;
    let bit = 8;
    for (const kind of table[opcode]!.operands) {
      const width = kind === 'target' ? targetBits(table[opcode]!) : OPERAND_BITS[kind];
      // Conditions past the list and lanes past the type's are undefined: left in, now and then.
      const field = kind === 'target' ? (rand32() % 16) - 4 : kind === 'cond' && rand32() % 8 !== 0 ? rand32() % 12 : rand32();
      word |= (field & ((1 << width) - 1)) << bit;
      bit += width;
    }
    words.push(word >>> 0);
  });
  return words;
}

describe('SHAVE against hostile code', () => {
  it('10 000 random programs end halted, faulted or out of cycles, never with a trap', () => {
    const bench = new KernelBench(ma2485);
    const outcomes = { halted: 0, error: 0, budget: 0 };
    let bundles = 0;
    for (let n = 0; n < 10_000; n++) {
      const core = n % 16;
      const cores = bench.cores;
      cores.reset(core);
      // Windows anywhere: CMX, DDR, unmapped, the top of the address space.
      for (let w = 0; w < 4; w++) cores.setWindow(core, w, [0x7000_0000, 0x8000_0000 + (rand32() & 0x1fff_ffff), rand32(), 0xffff_fff0, 0x7800_0000][rand32() % 5]!);
      cores.setWindow(core, 1, 0x7000_0000 + core * 0x2_0000);
      for (let r = 0; r < 32; r++) {
        cores.setIrf(core, r, rand32() % 2 === 0 ? 0x1c00_0000 + (rand32() & 0x3ff_fff0) : rand32());
        cores.setSrf(core, r, rand32());
        for (let w = 0; w < 4; w++) cores.setVrfWord(core, r, w, rand32());
      }
      const words = n % 2 === 0 ? Array.from({ length: 64 }, rand32) : Array.from({ length: 24 }, randomBundle).flat();
      bench.write(core, 0x1d00_0000, new Uint8Array(new Uint32Array(words).buffer));
      cores.start(core, 0x1d00_0000);
      const result = cores.run(core, 2000);
      outcomes[result.kind]++;
      bundles += cores.counters(core).bundles;
      expect(['halted', 'error', 'budget']).toContain(cores.status(core) === 'running' ? 'budget' : result.kind);
    }
    // Random words are almost never bundles; decodable ones run a while.
    // Random code mostly ends in an exception (an undefined encoding, an unmapped or misaligned
    // access); the decodable programs get some way first.
    expect(outcomes.error).toBeGreaterThan(5000);
    expect(bundles).toBeGreaterThan(10_000);
  });
});
