/**
 * The demo boot image: a tiny LEON program and a data section, as an MA2x stream.
 *
 * Until the open firmware exists (its own issue), this is what `npm start` boots. The LEON
 * program is hand-encoded SPARC V8, little-endian words as on Myriad:
 *
 *   0x70000000  sethi %hi(0x70000100), %g1     031c0000
 *   0x70000004  or    %g1, 0x100, %g1          82106100
 *   0x70000008  sethi %hi(0x600df00d), %g2     0518037c
 *   0x7000000c  or    %g2, 0x00d, %g2          8410a00d
 *   0x70000010  st    %g2, [%g1]               c4206000
 *   0x70000014  ba,a  .                        30800000
 *
 * It stores 0x600DF00D at 0x70000100 and spins. The DDR section is a counting pattern so that
 * the upload spans several bulk transfers and commits DDR.
 */
import { encodeMvcmd, type MvcmdRecord } from '../../emu/rom/mvcmd.js';

export const ENTRY = 0x7000_0000;
export const PROGRAM_WORDS = [0x031c0000, 0x82106100, 0x0518037c, 0x8410a00d, 0xc4206000, 0x30800000];
export const DATA_ADDR = 0x8000_0000;
export const DATA_BYTES = 256 * 1024;
/** A byte the image sets, as OpenVINO patches a watchdog flag byte into its images. */
export const FLAG_ADDR = 0x7000_0200;

export function idleLoopRecords(): MvcmdRecord[] {
  const program = new Uint8Array(PROGRAM_WORDS.length * 4);
  const view = new DataView(program.buffer);
  PROGRAM_WORDS.forEach((word, i) => view.setUint32(i * 4, word, true));
  const data = new Uint8Array(DATA_BYTES);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 8)) & 0xff;
  return [
    { op: 'magic' },
    { op: 'name', text: 'idle-loop: demo image of the open Myriad emulator' },
    { op: 'load', addr: ENTRY, data: program },
    { op: 'name', text: '.ddr.data' },
    { op: 'load', addr: DATA_ADDR, data },
    { op: 'write8', addr: FLAG_ADDR, value: 1 },
    { op: 'write32', addr: FLAG_ADDR + 4, value: 0x11111111 },
    { op: 'jump', addr: ENTRY },
  ];
}

export function buildIdleLoopImage(): Uint8Array {
  return encodeMvcmd(idleLoopRecords());
}
