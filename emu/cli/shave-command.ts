/** `myriad-emu shave asm|disasm`: the SHAVE assembler and disassembler (docs/shave-isa.md). */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AsmError, assemble, DecodeError, disassemble, type Program } from '../shave/assembler.js';
import { AddressError, KernelBench } from '../shave/kernel-runner.js';
import { findModel } from '../models/index.js';
import { ProgramFileError, readProgram, writeProgram } from '../shave/binary.js';
import { EXIT, InputError, readInput, UsageError, type Print } from './errors.js';

export const SHAVE_HELP = `Usage: myriad-emu shave asm <source.s> -o <program.shv> [--code-base ADDR] [--data-base ADDR]
       myriad-emu shave disasm <program.shv>
       myriad-emu shave run <source.s|program.shv> [--model ma2450|ma2485] [--core N]
                 [--cycles N] [--load FILE@ADDR]... [--set i18=VALUE]... [--dump ADDR:LEN]...
                 [--interpret]

asm assembles moviAsm-style source (ops joined by ||, labels, .code/.data, nop N) into a
program file in the emulator's own, documented encoding (docs/shave-isa.md; not the silicon's).
Lines end at LF, CRLF or a lone CR; other Unicode spaces are whitespace. A malformed source is
exit 3 with the line and column of what is wrong. disasm prints every bundle with its address,
and the data.

run loads a program on one SHAVE (code and data through window B, which points 64 KB into the
core's CMX slice; window A is the slice itself, C and D are DDR), copies input files into
memory (--load, at addresses as the core sees them), sets registers (iN, sN: a number; vN:
four words, comma-separated), runs until swih, an exception or --cycles (default
10 000 000), and prints the cycles, the occupancy of each unit, the memory traffic per CMX
slice and DDR, and the dumps (addresses as the core sees them). Exit 1 when the kernel did not
halt by swih. rpl loops run compiled to WebAssembly; --interpret runs every bundle in the
interpreter instead (the results are the same, cycle for cycle).`;

/** A number from 0 to `max`, decimal or 0x hex. */
function integer(text: string, what: string, max: number): number {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(text) || Number(text) > max) throw new UsageError(`${what}: '${text}' is not a number from 0 to ${max}`);
  return Number(text);
}

const address = (text: string | undefined, what: string) => (text === undefined ? undefined : integer(text, what, 0xffffffff));

export function shaveCommand(args: string[], print: Print): number {
  const [sub, ...rest] = args;
  const { positionals, values } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      'code-base': { type: 'string' },
      'data-base': { type: 'string' },
      model: { type: 'string' },
      core: { type: 'string' },
      cycles: { type: 'string' },
      set: { type: 'string', multiple: true },
      load: { type: 'string', multiple: true },
      dump: { type: 'string', multiple: true },
      interpret: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError(`shave ${sub ?? ''} takes one file`);
  const file = positionals[0]!;
  if (sub === 'asm') {
    if (!values.output) throw new UsageError('shave asm needs an output file: -o program.shv');
    let program;
    try {
      program = assemble(Buffer.from(readInput(file, 'source')).toString('utf8'), { codeBase: address(values['code-base'], '--code-base'), dataBase: address(values['data-base'], '--data-base') });
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
  if (sub === 'run') {
    return runCommand(file, { model: values.model, core: values.core, cycles: values.cycles, set: values.set ?? [], load: values.load ?? [], dump: values.dump ?? [], interpret: values.interpret ?? false, codeBase: address(values['code-base'], '--code-base'), dataBase: address(values['data-base'], '--data-base') }, print);
  }
  throw new UsageError(`shave takes asm, disasm or run, not '${sub ?? ''}'`);
}

interface RunOptions {
  readonly model: string | undefined;
  readonly core: string | undefined;
  readonly cycles: string | undefined;
  readonly set: readonly string[];
  readonly load: readonly string[];
  readonly dump: readonly string[];
  readonly interpret: boolean;
  readonly codeBase: number | undefined;
  readonly dataBase: number | undefined;
}

function loadProgram(file: string, options: RunOptions): Program {
  const bytes = readInput(file, 'program');
  try {
    if (Buffer.from(bytes.subarray(0, 4)).toString('latin1') === 'SHVB') return { ...readProgram(bytes), labels: new Map() };
    return assemble(Buffer.from(bytes).toString('utf8'), { codeBase: options.codeBase, dataBase: options.dataBase });
  } catch (error) {
    if (error instanceof AsmError || error instanceof ProgramFileError) throw new InputError(`${file}: ${error.message}`);
    throw error;
  }
}

function runCommand(file: string, options: RunOptions, print: Print): number {
  const model = findModel(options.model ?? 'ma2450');
  if (!model) throw new UsageError(`unknown model '${options.model}' (ma2450 or ma2485)`);
  const core = options.core === undefined ? 0 : integer(options.core, '--core', model.shave.count - 1);
  const cycles = options.cycles === undefined ? 10_000_000 : integer(options.cycles, '--cycles', Number.MAX_SAFE_INTEGER);
  const program = loadProgram(file, options);
  const bench = new KernelBench(model);
  const cores = bench.cores;
  if (options.interpret) cores.useLoopCompiler(false);
  const dumps = options.dump.map((spec) => {
    const parts = spec.split(':');
    if (parts.length !== 2) throw new UsageError(`--dump takes ADDR:LEN, not '${spec}'`);
    return { address: integer(parts[0]!, '--dump address', 0xffffffff), length: integer(parts[1]!, '--dump length', 1 << 20) };
  });
  try {
    bench.load(core, program);
  } catch (error) {
    if (error instanceof AddressError) throw new InputError(`${file}: ${error.message}`);
    throw error;
  }
  for (const spec of options.load) {
    const at = spec.lastIndexOf('@');
    if (at <= 0) throw new UsageError(`--load takes FILE@ADDR, not '${spec}'`);
    const target = integer(spec.slice(at + 1), '--load', 0xffffffff);
    const data = readInput(spec.slice(0, at), 'input');
    try {
      bench.write(core, target, data);
    } catch (error) {
      if (error instanceof AddressError) throw new UsageError(`--load ${spec}: ${error.message}`);
      throw error;
    }
  }
  for (const assignment of options.set) {
    const match = /^([isv])(\d+)=(.+)$/.exec(assignment);
    if (!match || Number(match[2]) > 31) throw new UsageError(`--set takes i0..i31, s0..s31 or v0..v31 = value, not '${assignment}'`);
    const n = Number(match[2]);
    if (match[1] === 'v') {
      const parts = match[3]!.split(',');
      if (parts.length !== 4) throw new UsageError(`--set ${match[1]}${n} takes four comma-separated words`);
      parts.forEach((part, w) => cores.setVrfWord(core, n, w, integer(part, `--set v${n}`, 0xffffffff)));
    } else {
      const value = integer(match[3]!, `--set ${match[1]}${n}`, 0xffffffff);
      if (match[1] === 'i') cores.setIrf(core, n, value);
      else cores.setSrf(core, n, value);
    }
  }
  const { result, counters } = bench.run(core, program, cycles);
  const us = (counters.cycles / model.clocks.systemHz) * 1e6;
  const how =
    result.kind === 'halted' ? `halted by swih ${result.code}` : result.kind === 'error' ? `stopped by an exception: ${result.cause} at 0x${result.address.toString(16)}` : `still running when its ${cycles} cycles ran out`;
  print(`SHAVE ${core} of ${model.name}: ${how}, pc 0x${cores.pc(core).toString(16)}`);
  print(`cycles ${counters.cycles} (${us.toFixed(3)} us at ${model.clocks.systemHz / 1e6} MHz), bundles ${counters.bundles}, stalls ${counters.stalls}`);
  const percent = (n: number) => `${counters.cycles ? ((100 * n) / counters.cycles).toFixed(1) : '0.0'}%`;
  print(`occupancy ${Object.entries(counters.unitOps).map(([unit, n]) => `${unit} ${percent(n)}`).join(', ')}`);
  const traffic = counters.cmx.map((s) => `CMX slice ${s.slice}: read ${s.read} B, written ${s.written} B`);
  traffic.push(`DDR: read ${counters.ddr.read} B, written ${counters.ddr.written} B`);
  print(`memory ${traffic.join('; ')}`);
  for (const { address, length } of dumps) {
    let bytes: Uint8Array;
    try {
      bytes = bench.read(core, address, length);
    } catch (error) {
      if (error instanceof AddressError) throw new UsageError(`--dump: ${error.message}`);
      throw error;
    }
    for (let at = 0; at < bytes.length; at += 16) {
      const row = bytes.subarray(at, at + 16);
      print(`${(address + at).toString(16).padStart(8, '0')}: ${Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ')}`);
    }
  }
  return result.kind === 'halted' ? EXIT.ok : EXIT.failed;
}
