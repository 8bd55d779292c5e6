/** `myriad-emu shave asm|disasm`: the SHAVE assembler and disassembler (docs/shave-isa.md). */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AsmError, assemble, DecodeError, disassemble } from '../shave/assembler.js';
import { ProgramFileError, readProgram, writeProgram } from '../shave/binary.js';
import { EXIT, InputError, readInput, UsageError, type Print } from './errors.js';

export const SHAVE_HELP = `Usage: myriad-emu shave asm <source.s> -o <program.shv> [--code-base ADDR] [--data-base ADDR]
       myriad-emu shave disasm <program.shv>

asm assembles moviAsm-style source (ops joined by ||, labels, .code/.data, nop N) into a
program file in the emulator's own, documented encoding (docs/shave-isa.md; not the silicon's).
Errors name the line and column. disasm prints every bundle with its address, and the data.`;

const address = (text: string | undefined, fallback: number | undefined) => {
  if (text === undefined) return fallback;
  if (!/^(0x[0-9a-f]{1,8}|\d+)$/i.test(text) || Number(text) > 0xffffffff) throw new UsageError(`'${text}' is not an address`);
  return Number(text);
};

export function shaveCommand(args: string[], print: Print): number {
  const [sub, ...rest] = args;
  const { positionals, values } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { output: { type: 'string', short: 'o' }, 'code-base': { type: 'string' }, 'data-base': { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError(`shave ${sub ?? ''} takes one file`);
  const file = positionals[0]!;
  if (sub === 'asm') {
    if (!values.output) throw new UsageError('shave asm needs an output file: -o program.shv');
    let program;
    try {
      program = assemble(Buffer.from(readInput(file, 'source')).toString('utf8'), { codeBase: address(values['code-base'], undefined), dataBase: address(values['data-base'], undefined) });
    } catch (error) {
      if (error instanceof AsmError) throw new InputError(`${file}: ${error.message}`);
      throw error;
    }
    writeFileSync(values.output, writeProgram(program));
    print(`wrote ${values.output}: ${program.code.length} bytes of code at 0x${program.codeBase.toString(16)}, ${program.data.length} bytes of data at 0x${program.dataBase.toString(16)}`);
    return EXIT.ok;
  }
  if (sub === 'disasm') {
    try {
      const program = readProgram(readInput(file, 'program'));
      for (const line of disassemble(program.code, program.codeBase)) print(line);
      for (let at = 0; at < program.data.length; at += 16) {
        print(`${(program.dataBase + at).toString(16).padStart(8, '0')}: .byte ${[...program.data.subarray(at, at + 16)].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')}`);
      }
    } catch (error) {
      if (error instanceof ProgramFileError || error instanceof DecodeError) throw new InputError(`${file}: ${error.message}`);
      throw error;
    }
    return EXIT.ok;
  }
  throw new UsageError(`shave takes asm or disasm, not '${sub ?? ''}'`);
}
