import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AsmError, assemble, decodeBundle, DecodeError, disassemble, formatBundle } from '../../emu/shave/assembler.js';
import { CONDITIONS, TABLES, targetBits, UNITS, type OperandKind, type OpSpec } from '../../emu/shave/isa.js';
import { xorshift32 } from '../support/random.js';

const BASE = 0x1d000000;

/** Operand text for a sample of each kind, varied by `n` so that fields do not all look alike. */
function sample(kind: OperandKind, n: number, spec: OpSpec): string {
  switch (kind) {
    case 'i':
    case 's':
    case 'v':
      return `${kind}${[31, 0, 17][n % 3]}`;
    case 'cond':
      return CONDITIONS[(n * 5) % CONDITIONS.length]!;
    case 'lane':
      return String(15 - n);
    case 'u16':
      return '0xbeef';
    case 's14':
      return n % 2 ? '-8192' : '8191';
    case 'u8':
      return '255';
    case 'target':
      // The farthest back the field reaches, from the bundle at BASE.
      return `0x${(BASE - 4 * 2 ** (targetBits(spec) - 1)).toString(16)}`;
  }
}

const UNIT_OF = { peu: ['peu'], bru: ['bru'], lsu: ['lsu0', 'lsu1'], iau: ['iau'], sau: ['sau'], vau: ['vau'], cmu: ['cmu'] } as const;

describe('SHAVE assembler and disassembler', () => {
  it('every operation of every unit fits its slot word and round-trips: text -> bundle -> the same text', () => {
    let count = 0;
    for (const [table, specs] of Object.entries(TABLES)) {
      for (const spec of specs) {
        expect(targetBits(spec), `${table}.${spec.name}`).toBeGreaterThanOrEqual(spec.operands.includes('target') ? 16 : 0);
        for (const unit of UNIT_OF[table as keyof typeof UNIT_OF]) {
          const text = `${unit}.${spec.name}${spec.operands.length ? ' ' + spec.operands.map((k, n) => sample(k, n, spec)).join(', ') : ''}`;
          const program = assemble(text, { codeBase: BASE });
          expect(program.code.length, text).toBe(8);
          const bundle = decodeBundle(program.code, 0, BASE);
          expect(formatBundle(bundle), text).toBe(text); // the samples are written in canonical form
          // And the bytes again from the disassembly.
          expect(assemble(formatBundle(bundle), { codeBase: BASE }).code).toEqual(program.code);
          count++;
        }
      }
    }
    expect(count).toBe(Object.values(TABLES).reduce((sum, specs) => sum + specs.length, 0) + TABLES.lsu.length);
  });

  it('a bundle with all eight units, labels both ways, nop N, and ldil/ldih of a data label', () => {
    const source = `
      .code
      start:  lsu0.ldil i3, table || lsu1.ldih i3, table
      loop:   peu.pc1c neq || bru.bra loop || lsu0.ld.i32 i1, i3, 4 || lsu1.st.i32 i1, i3, -4 || iau.add i2, i2, 1 || sau.add.f16 s1, s2, s3 || vau.mac.f16 v1, v2, v3 || cmu.cmii.i32 i2, i4 ; all eight
              bru.rpl i5, done
              nop 6
      done:   bru.swih 0x1f
      .data
      pad:    .byte 1, 2, 3
              .align 4
      table:  .word 0x12345678, -1, done
              .half 7
              .space 3`;
    const program = assemble(source, { codeBase: BASE, dataBase: 0x1e000000 });
    expect(program.labels.get('table')).toBe(0x1e000004);
    expect(program.labels.get('loop')).toBe(BASE + 12);
    expect(disassemble(program.code, BASE)).toEqual([
      '1d000000: lsu0.ldil i3, 0x4 || lsu1.ldih i3, 0x1e00',
      '1d00000c: peu.pc1c neq || bru.bra 0x1d00000c || lsu0.ld.i32 i1, i3, 4 || lsu1.st.i32 i1, i3, -4 || iau.add i2, i2, 1 || sau.add.f16 s1, s2, s3 || vau.mac.f16 v1, v2, v3 || cmu.cmii.i32 i2, i4',
      '1d000030: bru.rpl i5, 0x1d00003c',
      '1d000038: nop 6',
      '1d00003c: bru.swih 0x1f',
    ]);
    expect([...program.data]).toEqual([1, 2, 3, 0, 0x78, 0x56, 0x34, 0x12, 0xff, 0xff, 0xff, 0xff, 0x3c, 0, 0, 0x1d, 7, 0, 0, 0, 0]);
  });

  it.each([
    ['fpu.add i1, i2, i3', 1, 1, /does not start with a unit/],
    ['iau.frob i1, i2, i3', 1, 1, /iau has no operation 'frob'/],
    ['iau.add i1, s2, i3', 1, 13, /iau.add takes i, i, i or i, i, s14/],
    ['iau.add i1, i2, 9000', 1, 17, /9000 is out of range for s14 \(-8192 to 8191\)/],
    ['iau.add i1, i2, i3 || iau.sub i1, i2, i3', 1, 23, /iau has a second operation in this bundle/],
    ['  bru.bra nowhere', 1, 11, /undefined label 'nowhere'/],
    ['x: nop\nx: nop', 2, 1, /label 'x' is already defined on line 1/],
    ['nop || iau.not i1, i2', 1, 8, /nop stands alone/],
    ['iau.add i1, i2, i40', 1, 17, /there is no register i40/],
    ['.data\n  iau.not i1, i2', 2, 3, /instructions belong in the .code section/],
    ['.data\nv: .word 1, 0x100000000', 2, 13, /4294967296 does not fit in 4 bytes/],
    ['.frob 3', 1, 1, /belongs in the .data section|unknown directive/],
    ['.data\n.space 16777215\n  .space 16777215', 3, 3, /the .data section grows past 16777216 bytes here/],
  ])('%j is an error at line %i, column %i', (source, line, column, message) => {
    try {
      assemble(source);
      expect.unreachable('no error');
    } catch (error) {
      expect(error).toBeInstanceOf(AsmError);
      expect((error as Error).message).toMatch(message);
      expect([(error as AsmError).line, (error as AsmError).column]).toEqual([line, column]);
    }
  });

  it('undefined encodings are decode errors, never a wrong instruction', () => {
    const word = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
    const bundle = (...words: number[]) => new Uint8Array(new Uint32Array(words).buffer);
    expect(() => decodeBundle(word(0x12345678), 0, 0)).toThrow(DecodeError); // no marker
    expect(() => decodeBundle(bundle(0x01a50000 | 1), 0, 0)).toThrow(/not a bundle header/); // reserved bits
    expect(() => decodeBundle(bundle(0x00a50001), 0, 0)).toThrow(/runs past the end/); // a slot missing
    expect(() => decodeBundle(bundle(0x00a50001, 0xff), 0, 0)).toThrow(/peu has no operation 255/);
    expect(() => decodeBundle(bundle(0x00a50001, 0x0f00), 0, 0)).toThrow(/condition 15 is undefined/);
    const ret = TABLES.bru.findIndex((s) => s.name === 'ret');
    expect(() => decodeBundle(bundle(0x00a50002, ret | 0x100), 0, 0)).toThrow(/bits set past its operands/);
    expect(UNITS.length).toBe(8);
  });
});

const KERNELS = fileURLToPath(new URL('../../firmware-stubs/shave/', import.meta.url));
const kernels = readdirSync(KERNELS)
  .filter((name) => name.endsWith('.s'))
  .sort()
  .map((name) => ({ name, source: readFileSync(join(KERNELS, name), 'utf8') }));

/** assemble(), or the AsmError it throws; anything else thrown fails the test that calls it. */
function attempt(source: string): ReturnType<typeof assemble> | AsmError {
  try {
    return assemble(source);
  } catch (error) {
    if (error instanceof AsmError) return error;
    throw error;
  }
}

describe('SHAVE assembler line ends', () => {
  it('CRLF and lone-CR sources assemble to the same program as LF ones, comments and all', () => {
    expect(kernels.length).toBeGreaterThan(3);
    for (const { name, source } of kernels) {
      const lf = assemble(source);
      for (const eol of ['\r\n', '\r']) {
        const other = assemble(source.replace(/\n/g, eol));
        expect(other.code, name).toEqual(lf.code);
        expect(other.data, name).toEqual(lf.data);
        expect(other.labels, name).toEqual(lf.labels);
      }
    }
  });

  it.each([
    // A CR ends a line, so the operation is cut short there: an error at its first line...
    ['iau.add i1,\r i2, i3', 1, 1, /iau.add takes/],
    ['iau.add i1, i2, i3\r\n  iau.add i1,\ri2, i3', 2, 3, /iau.add takes/],
    // ...and what follows the CR is the next line.
    ['nop\r\n\r\niau.add i1, i2, s3', 3, 17, /iau.add takes i, i, i or i, i, s14/],
    ['nop\riau.frob i1', 2, 1, /iau has no operation 'frob'/],
    // Other Unicode space (no-break space, line separator, byte order mark) is whitespace.
    ['\ufeffiau.add\u00a0i1,\u2028i2, 9000', 1, 18, /9000 is out of range/],
    ['iau.add i1, i2, i3 ; a comment\u2028with a line separator in it', 0, 0, null],
    ['bru.bra x\u0000', 1, 9, /bru.bra takes target/],
  ])('%j: line %i, column %i', (source, line, column, message) => {
    const result = attempt(source);
    if (message === null) {
      expect(result).not.toBeInstanceOf(AsmError);
      return;
    }
    expect(result).toBeInstanceOf(AsmError);
    expect((result as AsmError).message).toMatch(message);
    expect([(result as AsmError).line, (result as AsmError).column]).toEqual([line, column]);
  });
});

describe('SHAVE assembler under mutation', () => {
  /** Characters an editor, a transfer or a stranger may put into a source. */
  const INSERTS = ['\r', '\n', '\r\n', '\t', ' ', '\u00a0', '\u2028', '\u2029', '\ufeff', '\u0000', '\u00e9', '\u{1f600}', '\ufffd', '||', ',', ':', ';', '//', '.', '-', '0x', '9', 'i', 'v', '$'];

  /** One mutation of `source`: bytes flipped (read back as UTF-8, as the CLI does), text inserted, removed or cut. */
  function mutate(source: string, next: () => number): string {
    const below = (n: number) => next() % n;
    const at = below(source.length + 1);
    switch (below(6)) {
      case 0: {
        const bytes = Buffer.from(source, 'utf8');
        for (let i = 1 + below(4); i > 0; i--) bytes[below(bytes.length)]! ^= 1 << below(8);
        return bytes.toString('utf8');
      }
      case 1: {
        let out = source;
        for (let i = 1 + below(3); i > 0; i--) {
          const where = below(out.length + 1);
          out = out.slice(0, where) + INSERTS[below(INSERTS.length)]! + out.slice(where);
        }
        return out;
      }
      case 2:
        return source.slice(0, at) + source.slice(at + 1 + below(40));
      case 3:
        return source.slice(0, at);
      case 4: {
        // A piece of the source somewhere else (labels defined twice, operands moved).
        const from = below(source.length);
        return source.slice(0, at) + source.slice(from, from + below(60)) + source.slice(at);
      }
      default:
        return source.slice(0, at) + String.fromCharCode(below(0x80)) + source.slice(at + 1);
    }
  }

  it('4000 mutated kernel sources either assemble or give an AsmError whose line and column are in the source', () => {
    const next = xorshift32(0x5a5e);
    const outcomes = { assembled: 0, errors: 0 };
    for (let i = 0; i < 4000; i++) {
      const { name, source } = kernels[next() % kernels.length]!;
      let mutant = source;
      for (let n = 1 + (next() % 3); n > 0; n--) mutant = mutate(mutant, next);
      let result;
      try {
        result = attempt(mutant);
      } catch (error) {
        throw new Error(`mutant ${i} of ${name} threw ${(error as Error).stack ?? String(error)}\n--- source:\n${JSON.stringify(mutant)}`);
      }
      if (!(result instanceof AsmError)) {
        outcomes.assembled++;
        continue;
      }
      outcomes.errors++;
      const lines = mutant.split(/\r\n|\r|\n/);
      const where = `mutant ${i} of ${name}: ${result.message}\n--- source:\n${JSON.stringify(mutant)}`;
      expect(result.message, where).toMatch(/^line \d+, column \d+: \S/);
      expect(result.line, where).toBeGreaterThanOrEqual(1);
      expect(result.line, where).toBeLessThanOrEqual(lines.length);
      expect(result.column, where).toBeGreaterThanOrEqual(1);
      expect(result.column, where).toBeLessThanOrEqual(lines[result.line - 1]!.length + 1);
    }
    // Both outcomes are common: the mutations reach past the first error check.
    expect(outcomes.assembled).toBeGreaterThan(200);
    expect(outcomes.errors).toBeGreaterThan(2000);
  });
});
