import { describe, expect, it } from 'vitest';
import { compiledImages, images, rebuild } from '../firmware-stubs/build.js';
import { haveTools } from './support/require-tool.js';
import { replay } from '../emu/machine/replay.js';
import { ma2485 } from '../emu/models/index.js';
import { DirectHost } from './support/direct-host.js';
import { DATA_ADDR, DATA_BYTES, ENTRY, FLAG_ADDR, PROGRAM_WORDS } from '../firmware-stubs/idle-loop/image.js';

describe('firmware-stubs', () => {
  it('the committed images built by TypeScript are byte-identical to a rebuild', () => {
    expect(Object.keys(images).length).toBeGreaterThan(0);
    expect(rebuild(true, images)).toEqual([]);
  });

  it.runIf(haveTools('clang-14'))('the committed firmware images are byte-identical to a rebuild with clang-14 and the project linker', () => {
    expect(Object.keys(compiledImages)).toEqual(['vsc/vsc-ma2450.mvcmd', 'vsc/vsc-ma2485.mvcmd', 'vsc/vsc-ma2485-ncsdk2.mvcmd']);
    expect(rebuild(true, compiledImages)).toEqual([]);
  }, 60_000);

  it('the idle-loop image loads its program, data and flag; the LEON runs it into its idle loop', () => {
    const host = new DirectHost({ model: ma2485 }).enumerate();
    expect(host.out(0x01, images['idle-loop/idle-loop.mvcmd']!())?.status).toBe('ok');
    const bus = host.stick.bus;
    expect(PROGRAM_WORDS.map((_, i) => bus.read(ENTRY + 4 * i, 4, 'test'))).toEqual(PROGRAM_WORDS);
    expect(bus.read(DATA_ADDR + DATA_BYTES - 1, 1, 'test')).toBe(((DATA_BYTES - 1) * 7 + ((DATA_BYTES - 1) >> 8)) & 0xff);
    expect(bus.read(FLAG_ADDR, 1, 'test')).toBe(1);
    host.run(1);
    // The hand-encoded SPARC program stored its marker, then parked in `ba,a .`.
    expect(bus.read(0x70000100, 4, 'test')).toBe(0x600df00d);
    expect(host.of('core.halt').map((e) => [e.pc, e.reason])).toEqual([[ENTRY + 20, 'in an idle loop at pc 0x70000014, waiting for an interrupt']]);
    expect(replay(ma2485, host.events).ok).toBe(true);
  });
});
