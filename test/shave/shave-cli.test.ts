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
