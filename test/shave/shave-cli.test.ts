import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'dist/emu/cli/bin.js');
const dir = mkdtempSync(join(tmpdir(), 'myriad-shave-'));
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root, timeout: 20_000 });

describe('myriad-emu shave asm / disasm', () => {
  it('assembles a file and disassembles it back', () => {
    const source = join(dir, 'loop.s');
    writeFileSync(source, ['.code', 'loop: iau.add i2, i2, 1 || lsu0.ldil i3, table', '      peu.pc1c neq || bru.bra loop', '      bru.swih 0', '.data', 'table: .word 0x01020304'].join('\n'));
    const program = join(dir, 'loop.shv');
    const asm = run('shave', 'asm', source, '-o', program, '--code-base', '0x1d000000');
    expect(asm.status, asm.stderr).toBe(0);
    expect(asm.stdout).toMatch(/wrote .*loop.shv: 32 bytes of code at 0x1d000000, 4 bytes of data at 0x1d000020/);
    const disasm = run('shave', 'disasm', program);
    expect(disasm.status, disasm.stderr).toBe(0);
    expect(disasm.stdout.trim().split('\n')).toEqual([
      '1d000000: lsu0.ldil i3, 0x20 || iau.add i2, i2, 1',
      '1d00000c: peu.pc1c neq || bru.bra 0x1d000000',
      '1d000018: bru.swih 0x0',
      '1d000020: .byte 0x04, 0x03, 0x02, 0x01',
    ]);
  });

  it('an error in the source is exit 3 with the file, line and column', () => {
    const source = join(dir, 'bad.s');
    writeFileSync(source, 'iau.add i1, i2, i3\n  vau.add.i32 v1, v2, i3\n');
    const r = run('shave', 'asm', source, '-o', join(dir, 'bad.shv'));
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/bad\.s: line 2, column 23: vau.add.i32 takes v, v, v/);
  });

  it('a CRLF source assembles like its LF twin; a carriage return inside an operation is exit 3 with line and column, not a crash', () => {
    const lines = ['; a comment', '.code', 'loop: iau.add i2, i2, 1 || lsu0.ldil i3, table ; and another', '      bru.bra loop', '.data', 'table: .word 7'];
    const lf = join(dir, 'lf.s');
    const crlf = join(dir, 'crlf.s');
    writeFileSync(lf, lines.join('\n'));
    writeFileSync(crlf, lines.join('\r\n') + '\r\n');
    for (const source of [lf, crlf]) expect(run('shave', 'asm', source, '-o', `${source}.shv`).status, source).toBe(0);
    expect(readFileSync(`${crlf}.shv`)).toEqual(readFileSync(`${lf}.shv`));
    const cr = join(dir, 'cr.s');
    writeFileSync(cr, 'nop\r\n  iau.add i1,\ri2, i3\r\n');
    const r = run('shave', 'asm', cr, '-o', join(dir, 'cr.shv'));
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/cr\.s: line 2, column 3: iau\.add takes /);
    expect(r.stderr).not.toMatch(/TypeError|    at /);
  });

  it('a damaged program file is exit 3 with what is wrong, an undefined encoding included', () => {
    const good = readFileSync(join(dir, 'loop.shv'));
    const cut = join(dir, 'cut.shv');
    writeFileSync(cut, good.subarray(0, good.length - 2));
    expect(run('shave', 'disasm', cut).stderr).toMatch(/the header says 32 \+ 4 bytes, the file holds 34/);
    const flipped = Buffer.from(good);
    flipped[24 + 2] = 0x00; // the first bundle's marker
    const bad = join(dir, 'flipped.shv');
    writeFileSync(bad, flipped);
    const r = run('shave', 'disasm', bad);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/0x1d000000: 0x00000014 is not a bundle header/);
    expect(run('shave', 'frob', bad).status).toBe(2);
  });
});

describe('myriad-emu shave run', () => {
  const source = join(dir, 'sum.s');
  writeFileSync(
    source,
    [
      '        lsu0.ldil i1, values || lsu1.ldih i1, values',
      '        lsu0.ldil i3, 0',
      '        bru.rpl i18, done',
      '        lsu0.ldi.i32 i2, i1, 4',
      '        nop 2',
      '        iau.add i3, i3, i2',
      'done:   lsu0.st.i32 i3, i1, 0',
      '        bru.swih 5',
      '        .data',
      'values: .word 1, 2, 3, 4, 5',
      '        .word 0',
    ].join('\n'),
  );

  it('runs source on one core and prints cycles, occupancy, traffic and dumps', () => {
    const r = run('shave', 'run', source, '--set', 'i18=5', '--dump', '0x1d000040:24', '--model', 'ma2485', '--core', '15');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SHAVE 15 of ma2485: halted by swih 5, pc 0x1d00/);
    expect(lines[1]).toMatch(/^cycles 2[0-9] \(0\.0\d+ us at 700 MHz\), bundles \d+, stalls 0$/);
    expect(lines[2]).toMatch(/^occupancy peu 0\.0%, bru \d+\.\d%, lsu0 \d+\.\d%, lsu1 \d+\.\d%, iau \d+\.\d%/);
    expect(lines[3]).toBe('memory CMX slice 15: read 20 B, written 4 B; DDR: read 0 B, written 0 B');
    expect(lines[4]).toBe('1d000040: 01 00 00 00 02 00 00 00 03 00 00 00 04 00 00 00');
    expect(lines[5]).toBe('1d000050: 05 00 00 00 0f 00 00 00');
  });

  it('runs a program file too, and says so when the kernel faults or runs out of cycles', () => {
    const program = join(dir, 'sum.shv');
    expect(run('shave', 'asm', source, '-o', program).status).toBe(0);
    const ok = run('shave', 'run', program, '--set', 'i18=5');
    expect(ok.status, ok.stderr).toBe(0);
    const fault = run('shave', 'run', program, '--set', 'i18=1000000');
    expect(fault.status).toBe(1);
    expect(fault.stdout).toMatch(/stopped by an exception: (unmapped address|undefined encoding) at 0x/);
    const spin = join(dir, 'spin.s');
    writeFileSync(spin, 'loop: bru.bra loop\nnop 6\n');
    const runaway = run('shave', 'run', spin, '--cycles', '5000');
    expect(runaway.status).toBe(1);
    expect(runaway.stdout).toMatch(/still running when its 5000 cycles ran out/);
  });

  it('loads input files where the kernel reads them', () => {
    const a = join(dir, 'a.bin');
    const b = join(dir, 'b.bin');
    writeFileSync(a, new Uint8Array(new Uint32Array([1, 2, 3, 4, 0x8000_0000, 0, 0, 7]).buffer));
    writeFileSync(b, new Uint8Array(new Uint32Array([10, 20, 30, 40, 0x8000_0000, 1, 2, 3]).buffer));
    const kernel = join(root, 'firmware-stubs', 'shave', 'vector-add.s');
    const r = run('shave', 'run', kernel, '--load', `${a}@0x1c000000`, '--load', `${b}@0x1c000100`, '--set', 'i18=0x1c000000', '--set', 'i17=0x1c000100', '--set', 'i16=0x1c000200', '--set', 'i15=8', '--dump', '0x1c000200:32');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('1c000200: 0b 00 00 00 16 00 00 00 21 00 00 00 2c 00 00 00');
    expect(r.stdout).toContain('1c000210: 00 00 00 00 01 00 00 00 02 00 00 00 0a 00 00 00');
    // --interpret: every bundle interpreted, the same output to the byte.
    const interpreted = run('shave', 'run', kernel, '--interpret', '--load', `${a}@0x1c000000`, '--load', `${b}@0x1c000100`, '--set', 'i18=0x1c000000', '--set', 'i17=0x1c000100', '--set', 'i16=0x1c000200', '--set', 'i15=8', '--dump', '0x1c000200:32');
    expect(interpreted.stdout).toBe(r.stdout);
    expect(run('shave', 'run', kernel, '--load', a).status).toBe(2);
    expect(run('shave', 'run', kernel, '--load', `${join(dir, 'missing.bin')}@0x1c000000`).status).toBe(3);
  });

  it('bad options are usage errors', () => {
    expect(run('shave', 'run', source, '--set', 'x1=2').status).toBe(2);
    expect(run('shave', 'run', source, '--core', '12').status).toBe(2); // ma2450 has 12
    expect(run('shave', 'run', source, '--dump', '0x1d000000').status).toBe(2);
    expect(run('shave', 'run', source, '--model', 'ma9999').status).toBe(2);
    const r = run('shave', 'run', source, '--dump', '0x20000000:4');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not one stretch of RAM/);
  });
});

