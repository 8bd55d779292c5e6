import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Leon3Board } from '../../emu/boards/leon3.js';
import { parseElf32 } from '../../emu/elf/elf32.js';
import { MvcmdParser, type MvcmdSink } from '../../emu/rom/mvcmd.js';
import { parseObject } from '../../emu/toolchain/elf-object.js';
import { writeExecutable } from '../../emu/toolchain/elf-writer.js';
import { LayoutError, parseLayout } from '../../emu/toolchain/layout-file.js';
import { link, LinkError, type Layout } from '../../emu/toolchain/linker.js';
import { elfToMvcmd } from '../../emu/toolchain/mvcmd-writer.js';
import { buildCorpus, COMMON, CORPUS, RT, runQemu } from '../leon/build-corpus.js';
import { haveTools } from '../support/require-tool.js';

const dir = mkdtempSync(join(tmpdir(), 'linker-'));
const root = fileURLToPath(new URL('../..', import.meta.url));
const clangOk = haveTools('clang-14');

function clang(name: string, source: string): Uint8Array {
  const src = join(dir, `${name}.c`);
  writeFileSync(src, source);
  const out = join(dir, `${name}.o`);
  const r = spawnSync('clang-14', ['--target=sparcel-unknown-elf', '-mcpu=ma2485', '-O2', '-ffreestanding', '-nostdlib', '-fintegrated-as', '-c', src, '-o', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return readFileSync(out);
}

const LAYOUT: Layout = {
  entry: 'main',
  sections: [
    { name: '.text', address: 0x70000000, inputs: ['.text*'] },
    { name: '.rodata', inputs: ['.rodata*'] },
    { name: '.data', inputs: ['.data*'] },
    { name: '.bss', inputs: ['.bss*', 'COMMON'] },
  ],
};

describe.runIf(clangOk)('static linker (clang sparcel objects)', () => {
  it('resolves calls and data across objects: HI22/LO10 and WDISP30 land on the right addresses', () => {
    const a = parseObject(clang('a', 'extern int shared; int helper(int x); int main(void) { return helper(shared); }'), 'a.o');
    const b = parseObject(clang('b', 'int shared = 41; int helper(int x) { return x + 1; }'), 'b.o');
    const image = link([a, b], LAYOUT);
    const text = image.sections.find((s) => s.name === '.text')!;
    const view = new DataView(text.data.buffer, text.data.byteOffset);
    const helper = image.symbols.get('helper')!;
    const shared = image.symbols.get('shared')!;
    // Find the call in main and check its displacement reaches helper.
    let call = -1;
    for (let at = image.symbols.get('main')! - text.address; at < text.size; at += 4) {
      if (view.getUint32(at, true) >>> 30 === 1) {
        call = at;
        break;
      }
    }
    expect(call).toBeGreaterThanOrEqual(0);
    expect(text.address + call + ((view.getInt32(call, true) << 2) | 0)).toBe(helper);
    // And a sethi/or pair builds the address of `shared` somewhere in .text.
    const words = Array.from({ length: text.size / 4 }, (_, i) => view.getUint32(i * 4, true));
    const his = words.filter((w) => w >>> 22 === ((w >>> 25) << 3 | 4) && (w & 0x3fffff) === shared >>> 10);
    expect(his.length).toBeGreaterThan(0);
    expect(image.symbols.get('__text_start')).toBe(0x70000000);
  });

  it('reports an undefined reference with the object and the place', () => {
    const a = parseObject(clang('undef', 'int missing(void); int main(void) { return missing(); }'), 'undef.o');
    expect(() => link([a], LAYOUT)).toThrow(/undef\.o: undefined reference to missing \(from \.text\+0x[0-9a-f]+\)/);
  });

  it('reports a symbol defined twice', () => {
    const a = parseObject(clang('dup1', 'int twice = 1; int main(void) { return twice; }'), 'dup1.o');
    const b = parseObject(clang('dup2', 'int twice = 2;'), 'dup2.o');
    expect(() => link([a, b], LAYOUT)).toThrow(/twice is defined twice \(again in dup2\.o\)/);
  });

  it('refuses a relocation type it does not know, and a section the layout does not place', () => {
    const bytes = clang('reloc', 'extern int x; int y = 5; int main(void) { return x + y; }');
    const object = parseObject(bytes, 'reloc.o');
    const bad = { ...object, sections: object.sections.map((s) => ({ ...s, relocations: s.relocations.map((r) => ({ ...r, type: 77 })) })) };
    expect(() => link([bad], { ...LAYOUT, symbols: { x: 0x70001000 } })).toThrow(LinkError);
    expect(() => link([bad], { ...LAYOUT, symbols: { x: 0x70001000 } })).toThrow(/relocation type 77 is not supported/);
    // The .data section holding y has nowhere to go.
    expect(() => link([object], { entry: 'main', sections: [{ name: '.text', address: 0x70000000, inputs: ['.text*'] }], symbols: { x: 0 } })).toThrow(/section \.data matches no output section/);
  });

  it('keeps the image inside the layout limit', () => {
    const a = parseObject(clang('big', 'char block[4096] = {1}; int main(void) { return block[0]; }'), 'big.o');
    expect(() => link([a], { ...LAYOUT, limit: 0x70000800 })).toThrow(/past the layout's limit/);
  });

  it('writes an executable ELF that reads back, and a boot stream with a name and load block per section', () => {
    const a = parseObject(clang('mv', 'int data = 7; const char text[] = "hello"; int main(void) { return data + text[0]; }'), 'mv.o');
    const image = link([a], LAYOUT);
    const elf = writeExecutable(image);
    const back = parseElf32(elf);
    expect(back.entry).toBe(image.entry);
    expect(back.littleEndian).toBe(true);
    const stream = elfToMvcmd(elf);
    const seen: string[] = [];
    const sink: MvcmdSink = {
      magic: () => (seen.push('magic'), true),
      name: (_o, t) => (seen.push(`name ${t}`), true),
      write8: () => true,
      write32: () => true,
      loadStart: (_o, addr, n) => (seen.push(`load ${addr.toString(16)} ${n}`), true),
      loadData: () => {},
      call: () => true,
      send: () => true,
      jump: (_o, addr) => (seen.push(`jump ${addr.toString(16)}`), false),
      error: (_o, r) => void seen.push(`error ${r}`),
    };
    new MvcmdParser(sink).feed(stream);
    const expected = image.sections.filter((s) => !s.nobits).flatMap((s) => [`name ${s.name}`, `load ${s.address.toString(16)} ${Math.ceil(s.size / 4) * 4}`]);
    expect(seen).toEqual(['magic', ...expected, `jump ${image.entry.toString(16)}`]);
  });
});

describe.runIf(haveTools('sparc64-linux-gnu-gcc', 'qemu-system-sparc'))('static linker (gcc big-endian objects)', () => {
  it('links gcc objects into an ELF that runs on the big-endian board like QEMU runs the program', () => {
    const flags = ['-m32', '-mcpu=v8', '-O2', '-ffreestanding', '-nostdlib', '-fno-pic', '-fno-pie', '-msoft-float', '-Wa,-Aleon', '-c', `-I${RT}`, `-I${COMMON}`];
    const objects = ['start.S', 'rt.c'].map((f) => join(RT, f)).concat(join(CORPUS, 'programs.c')).map((src, i) => {
      const out = join(dir, `be${i}.o`);
      const r = spawnSync('sparc64-linux-gnu-gcc', [...flags, src, '-o', out], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      return parseObject(readFileSync(out), src);
    });
    const elf = writeExecutable(link(objects, parseLayout(readFileSync(join(RT, 'layout.json'), 'utf8'))));
    const out: number[] = [];
    const board = new Leon3Board({ onUart: (b) => out.push(b) });
    board.load(elf);
    expect(board.run(100_000_000)).toEqual({ kind: 'exit' });
    const qemu = runQemu(buildCorpus().get('programs.c')!);
    expect(Buffer.from(out).toString('latin1').split('--- registers')[0]).toBe(qemu.output.split('--- registers')[0]);
  }, 120_000);
});

describe('layout files', () => {
  it.each([
    ['{', /not JSON/],
    ['{"sections": []}', /needs "entry"/],
    ['{"entry": "x", "sections": [{"name": ".text"}]}', /needs "inputs"/],
    ['{"entry": "x", "sections": [{"name": ".text", "inputs": [], "address": "0x1zz"}]}', /\.text\.address must be a 32-bit address/],
    ['{"entry": "x", "sections": [{"name": ".text", "inputs": []}], "symbols": {"top": -1}}', /symbol top must be a 32-bit address/],
  ])('%s is refused with a reason', (text, reason) => {
    expect(() => parseLayout(text)).toThrow(LayoutError);
    expect(() => parseLayout(text)).toThrow(reason);
  });

  it('accepts hexadecimal strings and numbers', () => {
    expect(parseLayout('{"entry": "e", "limit": 4096, "sections": [{"name": ".t", "address": "0x70000000", "inputs": [".t*"]}]}')).toEqual({
      entry: 'e',
      limit: 4096,
      symbols: {},
      sections: [{ name: '.t', address: 0x70000000, inputs: ['.t*'] }],
    });
  });
});

describe.runIf(clangOk)('myriad-emu link and mvcmd', () => {
  const bin = join(root, 'dist/emu/cli/bin.js');
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  it('link then mvcmd: exit 0 and the files; a link error exits 1; a bad object exits 3', () => {
    const object = join(dir, 'cli.o');
    writeFileSync(object, clang('cli', 'int main(void) { return 3; }'));
    const layout = join(dir, 'layout.json');
    writeFileSync(layout, JSON.stringify({ entry: 'main', sections: [{ name: '.text', address: '0x70000000', inputs: ['.text*'] }] }));
    const elf = join(dir, 'cli.elf');
    expect(cli('link', '-T', layout, '-o', elf, object)).toMatchObject({ code: 0, out: expect.stringContaining('entry 0x70000000 (main)') });
    expect(cli('mvcmd', elf, '-o', join(dir, 'cli.mvcmd'))).toMatchObject({ code: 0, out: expect.stringContaining('wrote') });
    expect(cli('info', join(dir, 'cli.mvcmd'))).toMatchObject({ code: 0, out: expect.stringContaining('entry point 0x70000000') });
    writeFileSync(join(dir, 'undef.c.o'), clang('undef2', 'int nope(void); int main(void) { return nope(); }'));
    expect(cli('link', '-T', layout, '-o', elf, join(dir, 'undef.c.o'))).toMatchObject({ code: 1, out: expect.stringContaining('undefined reference to nope') });
    expect(cli('link', '-T', layout, '-o', elf, layout)).toMatchObject({ code: 3, err: expect.stringContaining('not an ELF file') });
    expect(cli('link', '-o', elf, object)).toMatchObject({ code: 2 });
  });
});
