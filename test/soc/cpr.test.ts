import { describe, expect, it } from 'vitest';
import { Stick } from '../../emu/machine/stick.js';
import { ma2450, ma2485 } from '../../emu/models/index.js';
import { Cpr, FUSE, FUSE_BUSY_NS, fuseId, mxId } from '../../emu/soc/cpr.js';
import type { SocContext } from '../../emu/soc/device.js';
import { Scheduler } from '../../emu/time/scheduler.js';

/** The CPR alone: all it uses of its machine is the clock and the chip id. */
function cpr(chipId: bigint) {
  const scheduler = new Scheduler();
  const device = new Cpr('cpr', 0x1000, { scheduler, chipId } as Partial<SocContext> as SocContext);
  const at = (ns: number) => scheduler.runUntil(ns, () => {});
  return { device, scheduler, at, read: (reg: number) => device.read(reg, 4), write: (reg: number, value: number) => device.write(reg, 4, value) };
}

const littleEndianWord = (bytes: Uint8Array, at: number) => (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | ((bytes[at + 3] ?? 0) << 24)) >>> 0;

describe('CPR fuse-read port', () => {
  it('is busy for FUSE_BUSY_NS after enabling and after each command, then gives the id\'s words', () => {
    const chipId = 0x0123_4567_89ab_cdefn;
    const { read, write, at } = cpr(chipId);
    const id = fuseId(chipId);
    expect(read(FUSE.STATUS)).toBe(0);
    write(FUSE.ENABLE, 3);
    expect(read(FUSE.ENABLE)).toBe(3);
    expect(read(FUSE.STATUS)).toBe(3);
    let t = FUSE_BUSY_NS - 1;
    at(t);
    expect(read(FUSE.STATUS), 'still busy 1 ns before the end').toBe(3);
    at(++t);
    expect(read(FUSE.STATUS)).toBe(0);
    for (const [command, word] of [[8, 0], [9, 1], [0xa, 2]] as const) {
      write(FUSE.COMMAND, command);
      expect(read(FUSE.STATUS)).toBe(3);
      expect(read(FUSE.DATA), 'no data while busy').toBe(0);
      at((t += FUSE_BUSY_NS));
      expect(read(FUSE.STATUS)).toBe(0);
      expect(read(FUSE.DATA)).toBe(littleEndianWord(id, 4 * word));
      expect(read(FUSE.COMMAND)).toBe(command);
    }
    // Luxonis' other commands (0x1000, 0x1010, 0, 0xA000) are waited for and fetch nothing.
    for (const command of [0x1000, 0x1010, 0, 0xa000]) {
      write(FUSE.COMMAND, command);
      expect(read(FUSE.STATUS)).toBe(3);
      at((t += FUSE_BUSY_NS));
      expect([read(FUSE.STATUS), read(FUSE.DATA)]).toEqual([0, 0]);
    }
  });

  it('busy bits follow the enabled bits, as the host masks them; a port that is off is never busy and takes no commands', () => {
    const { read, write, at } = cpr(0xffff_ffff_ffff_ffffn);
    write(FUSE.COMMAND, 8);
    expect([read(FUSE.STATUS), read(FUSE.DATA), read(FUSE.COMMAND)]).toEqual([0, 0, 0]);
    write(FUSE.ENABLE, 0xffff_fff1);
    expect([read(FUSE.ENABLE), read(FUSE.STATUS)]).toEqual([1, 1]);
    at(FUSE_BUSY_NS);
    write(FUSE.COMMAND, 8);
    at(2 * FUSE_BUSY_NS);
    expect(read(FUSE.DATA)).toBe(0xffffffff);
    // Writing 0 ends the session: no data, no busy, the command is forgotten.
    write(FUSE.COMMAND, 9);
    write(FUSE.ENABLE, 0);
    expect([read(FUSE.STATUS), read(FUSE.DATA), read(FUSE.COMMAND)]).toEqual([0, 0, 0]);
  });

  it('STATUS and DATA are read-only whatever is written to them, by any size', () => {
    const { device, read, write, at } = cpr(0x1111_2222_3333_4444n);
    write(FUSE.STATUS, 0xffffffff);
    write(FUSE.DATA, 0xffffffff);
    device.write(FUSE.STATUS + 1, 1, 0xff);
    expect([read(FUSE.STATUS), read(FUSE.DATA)]).toEqual([0, 0]);
    write(FUSE.ENABLE, 3);
    device.write(FUSE.COMMAND, 1, 9); // a byte write is a command too
    at(FUSE_BUSY_NS);
    expect(read(FUSE.DATA)).toBe(littleEndianWord(fuseId(0x1111_2222_3333_4444n), 4));
    expect(device.read(FUSE.DATA + 3, 1)).toBe(fuseId(0x1111_2222_3333_4444n)[7]);
  });

  it('a snapshot taken while busy restores busy, with the same end; reset turns the port off', () => {
    const a = cpr(0x0d2c3b4a_59687f80n);
    a.write(FUSE.ENABLE, 3);
    a.at(FUSE_BUSY_NS);
    a.write(FUSE.COMMAND, 9);
    const saved = JSON.parse(JSON.stringify(a.device.snapshot()));
    const b = cpr(0x0d2c3b4a_59687f80n);
    b.at(FUSE_BUSY_NS);
    b.device.restore(saved);
    expect(b.read(FUSE.STATUS)).toBe(3);
    b.at(2 * FUSE_BUSY_NS);
    expect(b.read(FUSE.DATA)).toBe(littleEndianWord(fuseId(0x0d2c3b4a_59687f80n), 4));
    b.device.reset();
    expect([b.read(FUSE.ENABLE), b.read(FUSE.STATUS), b.read(FUSE.DATA)]).toEqual([0, 0, 0]);
    // Other registers still keep what is written.
    b.write(0x10, 0xdeadbeef);
    expect(b.read(0x10)).toBe(0xdeadbeef);
  });

  it('the 72-bit id: the chip id\'s bytes then their XOR; the MX ID clears its last nibble', () => {
    expect(Buffer.from(fuseId(0x0123_4567_89ab_cdefn)).toString('hex')).toBe('0123456789abcdef00');
    expect(Buffer.from(fuseId(0x14442c10_d13eabcen)).toString('hex')).toBe('14442c10d13eabcee6');
    expect(mxId(0x14442c10_d13eabcen)).toBe('14442C10D13EABCEE0');
    expect(mxId(0n)).toBe('000000000000000000');
    expect(() => fuseId(1n << 64n)).toThrow(RangeError);
    expect(() => fuseId(-1n)).toThrow(RangeError);
  });

  it.each([
    { model: ma2450, base: 0x10f00000 },
    { model: ma2485, base: 0x20300000 },
  ])('on $model.name the port is at the CPR base + 0x164 (ma2450: the same offsets, our choice)', ({ model, base }) => {
    const stick = new Stick({ model, chipId: 0x00000003_00000003n, leon: null });
    const words: number[] = [];
    stick.bus.write(base + FUSE.ENABLE, 4, 3, 'test');
    for (const command of [8, 9, 0xa]) {
      stick.bus.write(base + FUSE.COMMAND, 4, command, 'test');
      expect(stick.bus.read(base + FUSE.STATUS, 4, 'test')).toBe(3);
      stick.runUntil(stick.now + FUSE_BUSY_NS);
      expect(stick.bus.read(base + FUSE.STATUS, 4, 'test')).toBe(0);
      words.push(stick.bus.read(base + FUSE.DATA, 4, 'test'));
    }
    const bytes = Buffer.alloc(12);
    words.forEach((w, i) => bytes.writeUInt32LE(w, 4 * i));
    expect(bytes.subarray(0, 9).toString('hex')).toBe('000000030000000300');
  });
});
