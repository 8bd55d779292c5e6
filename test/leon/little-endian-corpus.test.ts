import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Leon3Board } from '../../emu/boards/leon3.js';
import { writeExecutable } from '../../emu/toolchain/elf-writer.js';
import { parseObject } from '../../emu/toolchain/elf-object.js';
import { parseLayout } from '../../emu/toolchain/layout-file.js';
import { link } from '../../emu/toolchain/linker.js';
import { haveTools } from '../support/require-tool.js';
import { buildCorpus, compileLittleEndian, corpusPrograms, RT, runQemu } from './build-corpus.js';

const tools = haveTools('clang-14', 'sparc64-linux-gnu-gcc', 'qemu-system-sparc');
/** memory.c prints bytes of stored words: its output depends on the byte order by design. */
const ENDIAN_NEUTRAL = corpusPrograms().filter((p) => p !== 'memory.c');
const results = (output: string) => output.split('--- registers')[0]!;

describe.runIf(tools)('little-endian LEON: the corpus built by clang (sparcel) and linked here, against QEMU', () => {
  let bigEndian: Map<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'leon-le-'));
  const layout = parseLayout(readFileSync(join(RT, 'layout.json'), 'utf8'));
  beforeAll(() => {
    bigEndian = buildCorpus();
  }, 120_000);

  for (const program of ENDIAN_NEUTRAL) {
    it(`${program}: the same results as gcc's big-endian build under QEMU`, () => {
      const qemu = runQemu(bigEndian.get(program)!);
      expect(qemu.status).toBe(0);
      const objects = compileLittleEndian(program, dir).map((bytes, i) => parseObject(bytes, `${program}#${i}`));
      const elf = writeExecutable(link(objects, layout));
      const out: number[] = [];
      const board = new Leon3Board({ littleEndian: true, onUart: (b) => out.push(b) });
      board.load(elf);
      expect(board.run(500_000_000)).toEqual({ kind: 'exit' });
      const mine = results(Buffer.from(out).toString('latin1'));
      expect(mine.length).toBeGreaterThan(10); // smc.c prints a single line
      expect(mine).toBe(results(qemu.output));
    }, 120_000);
  }
});
