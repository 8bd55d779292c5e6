import { describe, expect, it } from 'vitest';
import { AsmError, assemble, decodeBundle, DecodeError, disassemble, formatBundle } from '../../emu/shave/assembler.js';
import { CONDITIONS, TABLES, targetBits, UNITS, type OperandKind, type OpSpec } from '../../emu/shave/isa.js';

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
