/**
 * A SHAVE program file (`myriad-emu shave asm -o prog.shv`), little-endian:
 *
 *   "SHVB" u32 version (1) u32 codeBase u32 dataBase u32 codeBytes u32 dataBytes, code, data
 */
import type { Program } from './assembler.js';

const MAGIC = 'SHVB';
const VERSION = 1;
const HEADER_BYTES = 24;

export class ProgramFileError extends Error {}

export function writeProgram(program: Program): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + program.code.length + program.data.length);
  const view = new DataView(out.buffer);
  out.set(Buffer.from(MAGIC, 'latin1'), 0);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, program.codeBase >>> 0, true);
  view.setUint32(12, program.dataBase >>> 0, true);
  view.setUint32(16, program.code.length, true);
  view.setUint32(20, program.data.length, true);
  out.set(program.code, HEADER_BYTES);
  out.set(program.data, HEADER_BYTES + program.code.length);
  return out;
}

/** Reads a program file; every length is checked against the file's size. */
export function readProgram(bytes: Uint8Array): Omit<Program, 'labels'> {
  if (bytes.length < HEADER_BYTES || Buffer.from(bytes.subarray(0, 4)).toString('latin1') !== MAGIC) throw new ProgramFileError('not a SHAVE program (no SHVB magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== VERSION) throw new ProgramFileError(`SHAVE program version ${version} is not supported (this emulator reads ${VERSION})`);
  const codeBytes = view.getUint32(16, true);
  const dataBytes = view.getUint32(20, true);
  if (HEADER_BYTES + codeBytes + dataBytes !== bytes.length) throw new ProgramFileError(`the header says ${codeBytes} + ${dataBytes} bytes, the file holds ${bytes.length - HEADER_BYTES}`);
  if (codeBytes % 4 !== 0) throw new ProgramFileError(`code of ${codeBytes} bytes is not whole words`);
  return {
    codeBase: view.getUint32(8, true),
    dataBase: view.getUint32(12, true),
    code: bytes.slice(HEADER_BYTES, HEADER_BYTES + codeBytes),
    data: bytes.slice(HEADER_BYTES + codeBytes),
  };
}
