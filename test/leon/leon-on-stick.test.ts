import { describe, expect, it } from 'vitest';
import { canonicalJson, fromCanonical, hashEvents } from '../../emu/events/canonical.js';
import { EventRecorder } from '../../emu/events/log.js';
import { Stick, type StickSnapshot } from '../../emu/machine/stick.js';
import { ma2450, ma2485 } from '../../emu/models/index.js';
import { encodeMvcmd, type MvcmdRecord } from '../../emu/rom/mvcmd.js';
import { DirectHost } from '../support/direct-host.js';
import { exit, G0, G1, G2, G3, jmpl, ld, nop, orImm, set, st, ta } from '../support/sparc-encode.js';

/** Little-endian SPARC words as a load block's bytes (Myriad's byte order). */
function littleEndian(words: number[]): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w, true));
  return bytes;
}

const CODE = 0x70100000; // inside CMX on both chips
const rdAsr17 = (rd: number) => ((2 << 30) | (rd << 25) | (0x28 << 19) | (17 << 14)) >>> 0;
const retl = () => jmpl(15, 8, G0);

describe('the LEON OS core on the stick', () => {
  it('runs code that a ROM call record calls, which reads CPR over the bus and returns; the ROM then sends its result', () => {
    // Luxonis-style chip-id reader: CPR words to CMX, then 9 bytes sent to the host.
    const reader = littleEndian([
      ...set(0x20300164, G1),
      ld(G1, 0, G2),
      ...set(0x70000000, G3),
      st(G2, G3, 0),
      ld(G1, 8, G2), // 0x2030016c
      st(G2, G3, 4),
      orImm(G0, 0x5a, G2),
      0xc428e008, // stb %g2, [%g3 + 8]
      retl(),
      nop(),
    ]);
    const records: MvcmdRecord[] = [
      { op: 'magic' },
      { op: 'load', addr: CODE, data: reader },
      { op: 'call', addr: CODE },
      { op: 'send', addr: 0x70000000, length: 9 },
    ];
    // The chip id is the stick's own, read from the CPR's fuses.
    const host = new DirectHost({ model: ma2485, chipId: 0x9abcdef0_12345678n }).enumerate();
    expect(host.out(0x01, encodeMvcmd(records))?.status).toBe('ok');
    const id = host.in(0x81, 9);
    expect(Buffer.from(id!.data!).toString('hex')).toBe('00000000000000005a'); // an idle fuse port's enable and status (test/firmware/mxid.test.ts reads the id)
    expect(host.of('bus.read').filter((e) => e.initiator === 'leon-os').map((e) => e.addr)).toEqual([0x20300164, 0x2030016c]);
    expect(host.of('core.return')).toHaveLength(1);
    expect(host.stick.rom.phase).toBe('parsing');
  });

  it.each([ma2450, ma2485])('reads %asr17 = 0x4587 and writes DDR through the bus on $name', (model) => {
    const program = littleEndian([rdAsr17(G2), ...set(0x80100000, G1), st(G2, G1, 0), ...exit()]);
    const host = new DirectHost({ model }).enumerate();
    host.out(0x01, encodeMvcmd([{ op: 'magic' }, { op: 'load', addr: CODE, data: program }, { op: 'jump', addr: CODE }]));
    host.run(1);
    expect(host.stick.bus.read(0x80100000, 4, 'test')).toBe(0x4587);
    // ta 0 with traps disabled: the core is in error mode, and the log says so.
    expect(host.of('core.halt').map((e) => e.reason)).toEqual([expect.stringContaining('error mode after trap_instruction 0')]);
  });

  it('takes virtual time at the model clock: 700 MHz on ma2485', () => {
    // A loop of 100,000 iterations of 2 instructions (subcc + bne with the delay slot) = 3 per iteration.
    const program = littleEndian([...set(100000, G1), 0x82a06001 /* subcc %g1, 1, %g1 */, 0x12bfffff /* bne .-4 */, nop(), ta(0)]);
    const host = new DirectHost({ model: ma2485 }).enumerate();
    host.out(0x01, encodeMvcmd([{ op: 'magic' }, { op: 'load', addr: CODE, data: program }, { op: 'jump', addr: CODE }]));
    const started = host.stick.now;
    host.run(10);
    const halt = host.of('core.halt')[0]!;
    const instructions = 300_003;
    expect(halt.t - started).toBeGreaterThanOrEqual(Math.floor((instructions / 700e6) * 1e9));
    expect(halt.t - started).toBeLessThanOrEqual(Math.ceil((instructions / 700e6) * 1e9) + 100);
  });

  it('a snapshot taken while the LEON runs restores into a machine that goes on identically', () => {
    const program = littleEndian([...set(200000, G1), 0x82a06001, 0x12bfffff, nop(), ...set(0x70000040, G2), st(G1, G2, 0), ...exit()]);
    const stream = encodeMvcmd([{ op: 'magic' }, { op: 'load', addr: CODE, data: program }, { op: 'jump', addr: CODE }]);
    const host = new DirectHost({ model: ma2485 }).enumerate();
    host.out(0x01, stream);
    host.stick.runUntil(host.stick.now + 300_000); // the LEON is mid-loop
    expect(host.of('core.halt')).toHaveLength(0);
    const snapshot = host.stick.snapshot();
    const thawed = Stick.restore(fromCanonical(JSON.parse(canonicalJson(snapshot))) as StickSnapshot);
    const tail = new EventRecorder(thawed.log);
    const until = host.stick.now + 5_000_000;
    host.stick.runUntil(until);
    thawed.runUntil(until);
    const original = host.events.slice(snapshot.seq);
    expect(original.map((e) => e.kind)).toContain('core.halt');
    expect(hashEvents(tail.events)).toBe(hashEvents(original));
    expect(thawed.bus.read(0x70000040, 4, 'test')).toBe(0);
    expect(thawed.bus.read(0x70000040, 4, 'test')).toBe(host.stick.bus.read(0x70000040, 4, 'test'));
  });
});
