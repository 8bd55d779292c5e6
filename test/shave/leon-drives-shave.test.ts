/**
 * The whole chain on one stick: the host boots an MA2x stream whose LEON code (SPARC, run by the
 * LEON core) sets up a SHAVE through its control block, starts it by clearing OCR bit 2, polls
 * OSR until bit 3 says `swih`, and returns to the ROM, which sends the SHAVE's result to the host.
 */
import { describe, expect, it } from 'vitest';
import { ma2450, ma2485 } from '../../emu/models/index.js';
import type { ChipModel } from '../../emu/models/model.js';
import { encodeMvcmd } from '../../emu/rom/mvcmd.js';
import { assemble } from '../../emu/shave/assembler.js';
import { OCR_STOP, OSR_SWIH, SHAVE_REGISTER as R } from '../../emu/shave/cluster.js';
import { DirectHost } from '../support/direct-host.js';
import { SUM_WORDS } from '../support/shave-programs.js';
import { b, G0, G1, G2, G3, jmpl, ld, nop, set, st } from '../support/sparc-encode.js';

const SUM = assemble(SUM_WORDS);

const andccImm = (rs1: number, imm: number, rd: number) => ((2 << 30) | (rd << 25) | (0x11 << 19) | (rs1 << 14) | (1 << 13) | (imm & 0x1fff)) >>> 0;
const BE = 1;
const words = (list: number[]) => new Uint8Array(new Uint32Array(list).buffer); // little-endian host, as Myriad

function stream(model: ChipModel, core: number, values: number[]): Uint8Array {
  const control = model.shave.controlBase + core * model.shave.controlStride;
  const slice = 0x7000_0000 + core * 0x2_0000;
  const leonCode = 0x7010_0000 + 0x100; // another slice
  // SPARC immediates reach 4095: the debug unit (+0x1000) gets a base register of its own.
  const debug = (register: number) => register - R.OCR;
  const leon = [
    ...set(control, G1),
    ...set(control + R.OCR, G3),
    ...set(slice + 0x1_0000, G2),
    st(G2, G1, R.WINDOW + 4), // window B: the code
    ...set(slice, G2),
    st(G2, G1, R.WINDOW), // window A: the data
    ...set(0x1d00_0000, G2),
    st(G2, G3, debug(R.PC)),
    ...set(0x1c00_1000, G2),
    st(G2, G3, debug(R.IRF + 4 * 18)),
    ...set(0x1c00_0800, G2),
    st(G2, G3, debug(R.IRF + 4 * 17)),
    ...set(values.length, G2),
    st(G2, G3, debug(R.IRF + 4 * 16)),
    st(G0, G3, debug(R.OCR)), // clear bit 2: go
    // poll: until OSR bit 3
    ld(G3, debug(R.OSR), G2),
    andccImm(G2, OSR_SWIH, G0),
    b(BE, -2),
    nop(),
    jmpl(15, 8, G0), // retl: back to the ROM
    nop(),
  ];
  return encodeMvcmd([
    { op: 'magic' },
    { op: 'load', addr: slice + 0x1_0000, data: SUM.code },
    { op: 'load', addr: slice + 0x1000, data: words(values) },
    { op: 'load', addr: leonCode, data: words(leon) },
    { op: 'call', addr: leonCode },
    { op: 'send', addr: slice + 0x800, length: 4 },
  ]);
}

describe('LEON firmware drives a SHAVE', () => {
  for (const model of [ma2450, ma2485]) {
    it(`${model.name}: SPARC code starts a kernel by register writes, polls OSR for swih, and the ROM sends the result`, () => {
      const core = model.shave.count - 2;
      const values = Array.from({ length: 500 }, (_, i) => (i * 2654435761) >>> 8);
      const host = new DirectHost({ model }).enumerate();
      expect(host.out(0x01, stream(model, core, values))?.status).toBe('ok');
      const result = host.in(0x81, 4);
      expect(new DataView(result!.data!.buffer, result!.data!.byteOffset).getUint32(0, true)).toBe(values.reduce((a, v) => (a + v) >>> 0, 0));
      const [start, halt] = [host.of('shave.start'), host.of('shave.halt')];
      expect(start).toMatchObject([{ core, pc: 0x1d00_0000 }]);
      expect(halt).toMatchObject([{ core, reason: 'swih', code: 0x2a }]);
      // 500 passes of 4 cycles: the LEON saw the halt after the SHAVE's cycles had passed.
      expect(halt[0]!.cycles).toBeGreaterThan(2000);
      expect(halt[0]!.t - start[0]!.t).toBeGreaterThanOrEqual(Math.floor((2000 * 1e9) / model.clocks.systemHz));
      const control = model.shave.controlBase + core * model.shave.controlStride;
      expect(host.of('bus.write').filter((e) => e.initiator === 'leon-os' && e.addr === control + R.OCR)).toMatchObject([{ value: 0 }]);
      expect(host.stick.bus.read(control + R.OCR, 4, 'test') & OCR_STOP).toBe(OCR_STOP);
    });
  }
});
