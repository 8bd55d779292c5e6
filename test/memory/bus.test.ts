import { describe, expect, it } from 'vitest';
import { BUS_ERROR } from '../../emu/bus/bus.js';
import { EventRecorder } from '../../emu/events/log.js';
import { Stick } from '../../emu/machine/stick.js';
import { RESERVED_BYTES, SNAPSHOT_PAGE } from '../../emu/memory/shared-memory.js';
import { ma2450, ma2485 } from '../../emu/models/index.js';

function stick(model = ma2485) {
  const s = new Stick({ model });
  return { s, recorder: new EventRecorder(s.log) };
}

describe('shared memory', () => {
  it('starts with CMX committed and no DDR; DDR reads are zero without committing', () => {
    const { s } = stick();
    expect(s.memory.committedEnd).toBe(RESERVED_BYTES + 20 * 128 * 1024);
    expect(s.bus.read(0x9ffffffc, 4, 'test')).toBe(0);
    expect(s.memory.committedEnd).toBe(RESERVED_BYTES + 20 * 128 * 1024);
  });

  it('commits DDR on the first write that needs it, in 16 MiB steps', () => {
    const { s } = stick();
    expect(s.bus.write(0x80000010, 4, 0xcafef00d, 'test')).toBe(true);
    const ddr = s.memory.regions.find((r) => r.name === 'ddr')!;
    const committedDdr = s.memory.committedEnd - ddr.offset;
    expect(committedDdr).toBeGreaterThan(0);
    expect(committedDdr).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(s.memory.committedEnd % (16 * 1024 * 1024)).toBe(0);
    expect(s.bus.read(0x80000010, 4, 'test')).toBe(0xcafef00d);
    expect(s.bus.write(0x9ffffffc, 4, 1, 'test')).toBe(true);
    expect(s.memory.committedEnd).toBe(ddr.offset + 512 * 1024 * 1024);
  });

  it('CMX and DDR are reached through their aliases too, little-endian', () => {
    const { s } = stick(ma2450);
    s.bus.write(0x70000040, 4, 0x11223344, 'test');
    expect(s.bus.read(0x78000040, 4, 'test')).toBe(0x11223344);
    expect(s.bus.read(0x78000040, 1, 'test')).toBe(0x44);
    expect(s.bus.read(0x70000042, 2, 'test')).toBe(0x1122);
    s.bus.write(0xc0000100, 2, 0xbeef, 'test');
    expect(s.bus.read(0x80000100, 4, 'test')).toBe(0xbeef);
  });

  it('the same bytes are in the WebAssembly memory the SHAVE module shares', () => {
    const { s } = stick();
    s.bus.write(0x70000000, 4, 0x01020304, 'test');
    const cmx = s.memory.regions[0]!;
    expect(Array.from(new Uint8Array(s.memory.wasm.buffer, cmx.offset, 4))).toEqual([4, 3, 2, 1]);
  });

  it('snapshots keep only non-zero pages and restore them exactly', () => {
    const { s } = stick();
    s.bus.write(0x70000000 + 5 * SNAPSHOT_PAGE + 4095, 1, 0x7f, 'test');
    s.bus.write(0x80100000, 4, 0xffffffff, 'test');
    const snap = s.memory.snapshot();
    expect(snap.pages.map((p) => p.bytes.length)).toEqual([SNAPSHOT_PAGE, SNAPSHOT_PAGE]);
    const other = stick().s;
    other.memory.restore(snap);
    expect(other.bus.read(0x70000000 + 5 * SNAPSHOT_PAGE + 4095, 1, 'test')).toBe(0x7f);
    expect(other.bus.read(0x80100000, 4, 'test')).toBe(0xffffffff);
  });
});

describe('SoC bus', () => {
  it('an unmapped address is a bus error event, not an exception', () => {
    const { s, recorder } = stick();
    expect(s.bus.read(0x00001000, 4, 'leon-os')).toBe(BUS_ERROR);
    expect(s.bus.write(0xf0000000, 1, 1, 'leon-os')).toBe(false);
    expect(recorder.events.map((e) => (e.kind === 'bus.error' ? [e.access, e.addr, e.reason] : null))).toEqual([
      ['read', 0x1000, 'unmapped address'],
      ['write', 0xf0000000, 'unmapped address'],
    ]);
  });

  it('a misaligned access is a bus error', () => {
    const { s, recorder } = stick();
    expect(s.bus.read(0x70000002, 4, 'test')).toBe(BUS_ERROR);
    expect(s.bus.write(0x70000001, 2, 0, 'test')).toBe(false);
    expect(recorder.events.map((e) => e.kind === 'bus.error' && e.reason)).toEqual(['misaligned', 'misaligned']);
  });

  it('a block that runs past the end of CMX is refused whole', () => {
    const { s, recorder } = stick();
    const end = 0x70000000 + 20 * 128 * 1024;
    expect(s.bus.writeBlock(end - 4, new Uint8Array(8).fill(1), 'test')).toBe(false);
    expect(s.bus.read(end - 4, 4, 'test')).toBe(0);
    expect(recorder.events).toMatchObject([{ kind: 'bus.error', addr: end - 4, size: 8, reason: 'block runs past the end of cmx' }]);
  });

  it('register blocks keep what is written, by byte lanes, and every access is an event', () => {
    const { s, recorder } = stick(ma2450);
    s.bus.write(0x20fc0028, 4, 0x11111111, 'rom');
    s.bus.write(0x20fc0029, 1, 0xab, 'rom');
    expect(s.bus.read(0x20fc0028, 4, 'leon-os')).toBe(0x1111ab11);
    expect(s.bus.read(0x20fc002a, 2, 'leon-os')).toBe(0x1111);
    expect(recorder.events.map((e) => (e.kind === 'bus.write' || e.kind === 'bus.read' ? `${e.kind} ${e.initiator} ${e.target} ${e.addr.toString(16)}/${e.size} ${e.value.toString(16)}` : e.kind))).toEqual([
      'bus.write rom cmx-ctrl 20fc0028/4 11111111',
      'bus.write rom cmx-ctrl 20fc0029/1 ab',
      'bus.read leon-os cmx-ctrl 20fc0028/4 1111ab11',
      'bus.read leon-os cmx-ctrl 20fc002a/2 1111',
    ]);
  });

  it('each model maps the register blocks of its datasheet table', () => {
    expect(stick(ma2450).s.bus.describe(0x10f00000)).toBe('cpr');
    expect(stick(ma2485).s.bus.describe(0x20300164)).toBe('cpr');
    expect(stick(ma2485).s.bus.describe(0x20fc0028)).toBeNull();
    expect(stick(ma2485).s.bus.describe(0x70270000)).toBe('cmx');
    expect(stick(ma2485).s.bus.describe(0x70280000)).toBeNull();
    expect(stick(ma2450).s.bus.describe(0x70200000)).toBeNull();
  });
});
