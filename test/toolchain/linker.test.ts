import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Leon3Board } from '../../emu/boards/leon3.js';
import { parseElf32 } from '../../emu/elf/elf32.js';
import { MvcmdParser, type MvcmdSink } from '../../emu/rom/mvcmd.js';
import { parseObject, SHF_ALLOC, SHF_EXECINSTR, SHN_COMMON, SHT_NOBITS, SHT_PROGBITS, STB_GLOBAL, type ElfObject, type ObjectSection, type ObjectSymbol } from '../../emu/toolchain/elf-object.js';
import { writeExecutable } from '../../emu/toolchain/elf-writer.js';
import { LayoutError, parseLayout } from '../../emu/toolchain/layout-file.js';
import { link, LinkError, MAX_ALIGNMENT, MAX_IMAGE_BYTES, type Layout } from '../../emu/toolchain/linker.js';
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

/**
 * A little-endian object made by hand: a null section, then `sections` (index 1 on), and a
 * global `first` (main) at the start of section 1.
 */
function handMade(sections: readonly Partial<ObjectSection>[], symbols: readonly ObjectSymbol[] = [], first = 'main'): ElfObject {
  const made: ObjectSection[] = [{ index: 0, name: '', type: 0, flags: 0, address: 0, size: 0, align: 1, data: new Uint8Array(0), relocations: [] }];
  sections.forEach((s, i) => {
    const type = s.type ?? SHT_PROGBITS;
    const size = s.size ?? 8;
    made.push({ index: i + 1, name: '.text', type, flags: SHF_ALLOC | SHF_EXECINSTR, address: 0, size, align: 4, data: new Uint8Array(type === SHT_NOBITS ? 0 : size), relocations: [], ...s });
  });
  const main: ObjectSymbol = { name: first, value: 0, size: 0, bind: STB_GLOBAL, type: 2, section: 1 };
  return { file: 'hand.o', littleEndian: true, machine: 2, sections: made, symbols: [main, ...symbols] };
}

describe('addresses and sizes that do not fit', () => {
  const text = { name: '.text', address: 0x70000000, inputs: ['.text*'] };
  const bss = (size: number) => ({ name: '.bss', type: SHT_NOBITS, flags: SHF_ALLOC, size });

  it('a section that asks for alignment 0x80000000 is refused, naming the object and the section, before any memory is taken', () => {
    const object = handMade([{ align: 0x80000000 }]);
    expect(() => link([object], { entry: 'main', sections: [text] })).toThrow(LinkError);
    expect(() => link([object], { entry: 'main', sections: [text] })).toThrow(/hand\.o: section \.text asks for alignment 0x80000000, more than the 0x100000 a section may ask for/);
    // What may be asked for is linked as asked.
    const image = link([handMade([{ align: MAX_ALIGNMENT }]), handMade([{ align: 4 }], [], 'after')], { entry: 'main', sections: [{ ...text, address: 0x70000004 }] });
    expect(image.sections[0]!.address).toBe(0x70000004);
    expect(image.symbols.get('main')).toBe(0x70100000);
    expect(image.symbols.get('after')).toBe(0x70100008);
  });

  it('an alignment that is not a power of two is refused, in an object, a common symbol or the layout', () => {
    expect(() => link([handMade([{ align: 12 }])], { entry: 'main', sections: [text] })).toThrow(/hand\.o: section \.text asks for alignment 0xc, which is not a power of two/);
    const common: ObjectSymbol = { name: 'lots', value: 0x80000000, size: 16, bind: STB_GLOBAL, type: 1, section: SHN_COMMON };
    expect(() => link([handMade([{}], [common])], { entry: 'main', sections: [text, { name: '.bss', inputs: ['COMMON'] }] })).toThrow(/hand\.o: common symbol lots asks for alignment 0x80000000/);
    expect(() => link([handMade([{}])], { entry: 'main', sections: [{ ...text, align: 24 }] })).toThrow(/the layout's section \.text asks for alignment 0x18, which is not a power of two/);
    expect(() => link([handMade([{}])], { entry: 'main', sections: [{ ...text, align: 0x80000000 }] })).toThrow(/the layout's section \.text asks for alignment 0x80000000, more than/);
  });

  it('a .bss that wraps past 2^32 is refused, naming the section', () => {
    const object = handMade([{}, bss(0x90000000)]);
    const layout: Layout = { entry: 'main', sections: [text, { name: '.bss', inputs: ['.bss*'] }] };
    expect(() => link([object], layout)).toThrow(LinkError);
    expect(() => link([object], layout)).toThrow(/section \.bss: hand\.o's \.bss \(2415919104 bytes at 0x70000008\) runs past the 32-bit address space/);
    // Common symbols and layout addresses too.
    const common: ObjectSymbol = { name: 'huge', value: 8, size: 0xfffffff0, bind: STB_GLOBAL, type: 1, section: SHN_COMMON };
    expect(() => link([handMade([{}], [common])], { entry: 'main', sections: [text, { name: '.bss', inputs: ['COMMON'] }] })).toThrow(/section \.bss: hand\.o's common symbol huge \(4294967280 bytes at 0x70000008\) runs past the 32-bit address space/);
    expect(() => link([handMade([{}])], { entry: 'main', sections: [{ ...text, address: 0xfffffffc }] })).toThrow(/section \.text: hand\.o's \.text \(8 bytes at 0xfffffffc\) runs past the 32-bit address space/);
    expect(() => link([handMade([{}])], { entry: 'main', sections: [{ ...text, address: 0xfffffff9, align: 16 }] })).toThrow(/section \.text starts past the 32-bit address space/);
    expect(() => link([handMade([{}])], { entry: 'main', sections: [{ ...text, address: 2 ** 32 }] })).toThrow(/the layout's section \.text is placed at 4294967296, not a 32-bit address/);
    // Up to the last byte below 2^32 is fine.
    const top = link([handMade([{ size: 12 }])], { entry: 'main', sections: [{ ...text, address: 0xfffffff0 }] });
    expect(top.symbols.get('__text_end')).toBe(0xfffffffc);
  });

  it('an image larger than the Myriad DDR is refused: one section, or all of them together', () => {
    expect(MAX_IMAGE_BYTES).toBe(512 << 20);
    const layout: Layout = { entry: 'main', sections: [{ ...text, address: 0x10000000 }, { name: '.bss', inputs: ['.bss*'] }] };
    expect(() => link([handMade([{}, bss(0x30000000)])], layout)).toThrow(/section \.bss is 805306368 bytes, more than the 536870912 an image may hold/);
    const two: Layout = { entry: 'main', sections: [{ ...text, address: 0x10000000 }, { name: '.bss', inputs: ['.bss.a'] }, { name: '.bss2', address: 0x40000000, inputs: ['.bss.b'] }] };
    const halves = handMade([{}, { ...bss(0x10000008), name: '.bss.a' }, { ...bss(0x10000000), name: '.bss.b' }]);
    expect(() => link([halves], two)).toThrow(/the sections hold 536870928 bytes together, more than the 536870912 an image may hold/);
  });

  it('relocations in a section without contents are a link error, not a crash', () => {
    const object = handMade([{}, { ...bss(16), relocations: [{ offset: 0, type: 3, symbol: 0, addend: 0 }] }]);
    expect(() => link([object], { entry: 'main', sections: [text, { name: '.bss', inputs: ['.bss*'] }] })).toThrow(/hand\.o: section \.bss has no contents, yet 1 relocation/);
  });
});

describe('layout files', () => {
  it.each([
    ['{', /not JSON/],
    ['{"sections": []}', /needs "entry"/],
    ['{"entry": "x", "sections": [{"name": ".text"}]}', /needs "inputs"/],
    ['{"entry": "x", "sections": [{"name": ".text", "inputs": [], "address": "0x1zz"}]}', /\.text\.address must be a 32-bit address/],
    ['{"entry": "x", "sections": [{"name": ".text", "inputs": []}], "symbols": {"top": -1}}', /symbol top must be a 32-bit address/],
    ['{"entry": "x", "sections": [{"name": ".text", "inputs": [], "align": "0x80000000"}]}', /\.text\.align 0x80000000 is more than the 0x100000 a section may ask for/],
    ['{"entry": "x", "sections": [{"name": ".text", "inputs": [], "align": 24}]}', /\.text\.align 0x18 is not a power of two/],
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

  it('link of an object whose .text asks for alignment 0x80000000: exit 1 naming the section, no 268 MB file', () => {
    const bytes = Buffer.from(clang('aligned', 'int main(void) { return 3; }'));
    const text = parseObject(bytes, 'aligned.o').sections.find((s) => s.name === '.text')!;
    bytes.writeUInt32LE(0x80000000, bytes.readUInt32LE(32) + text.index * bytes.readUInt16LE(46) + 32); // its sh_addralign
    const object = join(dir, 'aligned.o');
    writeFileSync(object, bytes);
    const layout = join(dir, 'layout-aligned.json');
    writeFileSync(layout, JSON.stringify({ entry: 'main', sections: [{ name: '.text', address: '0x70000000', inputs: ['.text*'] }] }));
    const elf = join(dir, 'aligned.elf');
    expect(cli('link', '-T', layout, '-o', elf, object)).toMatchObject({ code: 1, out: expect.stringMatching(/link failed: .*aligned\.o: section \.text asks for alignment 0x80000000/) });
    expect(existsSync(elf)).toBe(false);
  });
});
