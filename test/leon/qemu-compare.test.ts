import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Leon3Board } from '../../emu/boards/leon3.js';
import { haveTools } from '../support/require-tool.js';
import { buildCorpus, corpusPrograms, runQemu } from './build-corpus.js';

const tools = haveTools('sparc64-linux-gnu-gcc', 'qemu-system-sparc');

/** The first line where two outputs differ, with the lines before it. */
function firstDifference(expected: string, actual: string): string {
  const e = expected.split('\n');
  const a = actual.split('\n');
  const at = e.findIndex((line, i) => line !== a[i]);
  const line = at < 0 ? e.length : at;
  return [`line ${line + 1}:`, ...e.slice(Math.max(0, line - 3), line).map((l) => `  ${l}`), `- qemu: ${e[line] ?? '(end)'}`, `+ emu:  ${a[line] ?? '(end)'}`].join('\n');
}

describe.runIf(tools)('LEON core against QEMU leon3_generic (UART output and final registers)', () => {
  let built: Map<string, string>;
  beforeAll(() => {
    built = buildCorpus();
  }, 120_000);

  const qemuOutputs = new Map<string, string>();
  const cases = corpusPrograms().flatMap((program) => [
    { program, translate: true, mode: 'translated blocks' },
    { program, translate: false, mode: 'interpreter only' },
  ]);
  for (const { program, translate, mode } of cases) {
    it(`${program} gives the same output (${mode})`, () => {
      const elf = built.get(program)!;
      if (!qemuOutputs.has(program)) {
        const qemu = runQemu(elf);
        expect(qemu.status, 'QEMU exit status').toBe(0);
        qemuOutputs.set(program, qemu.output);
      }
      const qemu = { output: qemuOutputs.get(program)! };
      const bytes: number[] = [];
      const board = new Leon3Board({ translate, onUart: (b) => bytes.push(b) });
      board.load(readFileSync(elf));
      const stop = board.run(500_000_000);
      const output = Buffer.from(bytes).toString('latin1');
      expect(stop).toEqual({ kind: 'exit' });
      expect(output.length).toBeGreaterThan(100);
      if (output !== qemu.output) expect.fail(`${program} differs from QEMU at ${firstDifference(qemu.output, output)}`);
    }, 120_000);
  }
});
