import { describe, expect, it } from 'vitest';
import type { CoreHost } from '../../emu/core/control-core.js';
import type { MachineEvent } from '../../emu/events/event.js';
import { ma2450, ma2485 } from '../../emu/models/index.js';
import { encodeMvcmd, type MvcmdRecord } from '../../emu/rom/mvcmd.js';
import { DirectHost } from '../support/direct-host.js';
import { fakeLeon } from '../support/fake-leon.js';

const ENTRY = 0x70001000;
/** The stick's chip id: the CPR's fuse-read port serves it (+0x164 enable, +0x16C status; docs/soc-devices.md). */
const STICK_CHIP_ID = 0x9abcdef0_12345678n;
const CHIP_ID = 0x70000000;

/** Stands in for the chip-id reader that Luxonis' host sends: reads two CPR words (the port's enable and status), stores 9 bytes. */
const readChipId = (host: CoreHost) => {
  const a = host.bus.read(0x20300164, 4, 'leon-os');
  const b = host.bus.read(0x2030016c, 4, 'leon-os');
  host.bus.write(CHIP_ID, 4, a, 'leon-os');
  host.bus.write(CHIP_ID + 4, 4, b, 'leon-os');
  host.bus.write(CHIP_ID + 8, 1, 0x5a, 'leon-os');
};

const EVERY_RECORD: MvcmdRecord[] = [
  { op: 'nop', count: 2 },
  { op: 'magic' },
  { op: 'name', text: '.text' },
  { op: 'write32', addr: 0x20300164, value: 0x11111111 }, // the fuse port's enable: it keeps bits 0-1
  { op: 'write32', addr: 0x2030016c, value: 0x22222222 },
  { op: 'write8', addr: 0x70000100, value: 0x42 },
  { op: 'load', addr: ENTRY, data: Uint8Array.from({ length: 40 }, (_, i) => 255 - i) },
  { op: 'call', addr: ENTRY },
  { op: 'send', addr: CHIP_ID, length: 9 },
  { op: 'jump', addr: ENTRY },
];
const STREAM = encodeMvcmd(EVERY_RECORD);
/** The same without the send record, so that nothing waits for the host to read. */
const NO_SEND = encodeMvcmd(EVERY_RECORD.filter((r) => r.op !== 'send'));

const withoutStamps = (events: MachineEvent[]) =>
  events.filter((e) => e.kind.startsWith('rom.') || e.kind.startsWith('bus.') || e.kind.startsWith('core.')).map(({ seq: _s, t: _t, ...rest }) => rest);

/** Submits the stream in pieces, as a host with all its transfers in flight, then reads 9 bytes. */
function bootInPieces(cuts: number[]) {
  const host = new DirectHost({ model: ma2485, chipId: STICK_CHIP_ID, leon: fakeLeon({ [ENTRY]: readChipId }) }).enumerate();
  let from = 0;
  const ids: number[] = [];
  for (const cut of [...cuts, STREAM.length]) {
    ids.push(host.submit(0x01, 0, STREAM.subarray(from, cut)));
    from = cut;
  }
  const chipId = host.in(0x81, 9);
  host.run(1);
  const statuses = ids.map((id) => host.done(id)?.status ?? 'pending');
  return { host, statuses, chipId };
}

describe('boot ROM', () => {
  const baseline = bootInPieces([]);

  it('performs every record through the bus, calls the LEON, sends memory to the host and jumps', () => {
    const { host, chipId } = baseline;
    expect(chipId?.status).toBe('ok');
    expect(Buffer.from(chipId!.data!).toString('hex')).toBe('01000000000000005a'); // enable kept bit 0; status idle
    expect(host.stick.bus.read(0x70000100, 1, 'test')).toBe(0x42);
    expect(host.stick.bus.read(ENTRY + 4, 4, 'test')).toBe(0xf8f9fafb);
    expect(host.of('bus.write').filter((e) => e.initiator === 'rom').map((e) => [e.target, e.addr, e.value])).toEqual([
      ['cpr', 0x20300164, 0x11111111],
      ['cpr', 0x2030016c, 0x22222222],
    ]);
    expect(host.of('core.start').map((e) => [e.pc, e.mode])).toEqual([
      [ENTRY, 'call'],
      [ENTRY, 'jump'],
    ]);
    expect(host.of('core.return')).toHaveLength(1);
    expect(host.of('usb.disconnect').map((e) => e.reason)).toEqual(['boot ROM jumped to the firmware']);
    expect(host.stick.usb.state).toBe('detached');
  });

  it('does the same whatever byte boundary the stream is split at across transfers', () => {
    const expected = withoutStamps(baseline.host.events);
    for (let cut = 0; cut < STREAM.length; cut++) {
      const run = bootInPieces([cut]);
      expect(withoutStamps(run.host.events), `split at ${cut}`).toEqual(expected);
      expect(run.statuses, `split at ${cut}`).toEqual(['ok', 'ok']);
      expect(run.chipId?.data).toEqual(baseline.chipId?.data);
    }
    // Cut after the last byte, the second transfer is empty and comes after the jump.
    const late = bootInPieces([STREAM.length]);
    expect(withoutStamps(late.host.events)).toEqual(expected);
    expect(late.statuses).toEqual(['ok', 'no-device']);
  });

  it('does the same with one-byte transfers', () => {
    const run = bootInPieces(Array.from({ length: STREAM.length - 1 }, (_, i) => i + 1));
    expect(withoutStamps(run.host.events)).toEqual(withoutStamps(baseline.host.events));
    expect(run.statuses.every((s) => s === 'ok')).toBe(true);
  });

  it('holds the transfer that carries a call record (NAK) until the LEON returns', () => {
    const host = new DirectHost({ model: ma2485, leon: fakeLeon({ [ENTRY]: () => {} }, 50_000_000) }).enumerate();
    const id = host.submit(0x01, 0, NO_SEND);
    host.run(20);
    expect(host.done(id)).toBeUndefined();
    expect(host.stick.rom.phase).toBe('calling');
    host.run(40);
    expect(host.done(id)?.status).toBe('ok');
  });

  it('acknowledges bytes after the jump record, then leaves the bus; later transfers find no device', () => {
    const host = new DirectHost({ model: ma2485, chipId: STICK_CHIP_ID, leon: fakeLeon({ [ENTRY]: readChipId }) }).enumerate();
    const done = host.out(0x01, new Uint8Array([...NO_SEND, 0xff, 0xff, 0xff]));
    expect(done?.status).toBe('ok');
    expect(done?.length).toBe(NO_SEND.length + 3);
    expect(host.out(0x01, Uint8Array.of(0))?.status).toBe('no-device');
  });

  it('without a LEON core, a jump halts with a clear reason and a call is a ROM error', () => {
    const host = new DirectHost({ model: ma2485, leon: null }).enumerate();
    host.out(0x01, encodeMvcmd([{ op: 'magic' }, { op: 'jump', addr: ENTRY }]));
    host.run(1);
    expect(host.of('core.halt').map((e) => e.reason)).toEqual(['this machine has no LEON core to run the firmware']);

    const other = new DirectHost({ model: ma2485, leon: null }).enumerate();
    expect(other.out(0x01, encodeMvcmd([{ op: 'magic' }, { op: 'call', addr: ENTRY }]))?.status).toBe('stall');
    expect(other.of('rom.error').map((e) => e.reason)).toEqual([`call to 0x${ENTRY.toString(16)}: this machine has no LEON core to run it`]);
  });

  it('a host that reads fewer bytes than the ROM sends gets babble', () => {
    const host = new DirectHost({ model: ma2485, leon: fakeLeon({ [ENTRY]: readChipId }) }).enumerate();
    host.out(0x01, encodeMvcmd([{ op: 'magic' }, { op: 'send', addr: 0x70000000, length: 9 }]));
    const read = host.in(0x81, 4);
    expect(read?.status).toBe('babble');
    expect(read?.length).toBe(4);
  });

  it('waits after a send record (OUT NAKs) until the host has read the data, so memory stays bounded', () => {
    const host = new DirectHost({ model: ma2485 }).enumerate();
    const records: MvcmdRecord[] = [{ op: 'magic' }];
    for (let i = 0; i < 20; i++) records.push({ op: 'send', addr: 0x70000000, length: 0xffff });
    records.push({ op: 'write8', addr: 0x70000000, value: 9 });
    const id = host.submit(0x01, 0, encodeMvcmd(records));
    host.run(50);
    expect(host.stick.rom.phase).toBe('sending');
    expect(host.done(id)).toBeUndefined();
    expect(host.stick.usb.queuedIn(0x81)).toBe(0xffff);
    let read = 0;
    while (!host.done(id)) {
      const chunk = host.in(0x81, 0x10000, 100);
      if (!chunk) break;
      expect(chunk.status).toBe('ok');
      read += chunk.length;
    }
    expect(host.done(id)?.status).toBe('ok');
    expect(read).toBe(20 * 0xffff);
    expect(host.stick.bus.read(0x70000000, 1, 'test')).toBe(9);
  });
});

describe('boot ROM errors', () => {
  const bad: [string, Uint8Array, RegExp][] = [
    ['bad magic', Uint8Array.of(0x4d, 0x41, 0x32, 0x79), /bad magic/],
    ['a stream without magic', encodeMvcmd([{ op: 'write8', addr: 0x70000000, value: 1 }]), /bad magic: stream starts with 0x98/],
    ['an unknown opcode', Uint8Array.of(0x4d, 0x41, 0x32, 0x78, 0xee), /unknown opcode 0xee/],
    ['a write to an unmapped address', encodeMvcmd([{ op: 'magic' }, { op: 'write32', addr: 0x40000000, value: 1 }]), /write32 to 0x40000000 failed/],
    ['a misaligned write32', encodeMvcmd([{ op: 'magic' }, { op: 'write32', addr: 0x70000002, value: 1 }]), /write32 to 0x70000002 failed/],
    [
      'a load block larger than the memory it targets',
      encodeMvcmd([{ op: 'magic' }, { op: 'load', addr: 0x70000000 + 20 * 128 * 1024 - 8, data: new Uint8Array(16) }]),
      /load block of 16 bytes at 0x7027fff8 does not fit in memory/,
    ],
    ['a load block into registers', encodeMvcmd([{ op: 'magic' }, { op: 'load', addr: 0x20300000, data: new Uint8Array(4) }]), /does not fit in memory/],
    ['a send from an unmapped address', encodeMvcmd([{ op: 'magic' }, { op: 'send', addr: 0x10, length: 4 }]), /send of 4 bytes from 0x10 failed/],
  ];

  it.each(bad)('%s: the log says why, the transfer STALLs, and so does every later OUT transfer', (_name, stream, reason) => {
    const host = new DirectHost({ model: ma2485 }).enumerate();
    expect(host.out(0x01, stream)?.status).toBe('stall');
    expect(host.of('rom.error').map((e) => e.reason).join()).toMatch(reason);
    expect(host.stick.rom.phase).toBe('error');
    expect(host.out(0x01, encodeMvcmd([{ op: 'magic' }]))?.status).toBe('stall');
    // Clearing the halt does not clear the ROM's error.
    host.mustControl({ requestType: 0x02, request: 1, value: 0, index: 0x01, length: 0 });
    expect(host.out(0x01, encodeMvcmd([{ op: 'magic' }]))?.status).toBe('stall');
  });

  it('bus errors name the address and the reason', () => {
    const host = new DirectHost({ model: ma2485 }).enumerate();
    host.out(0x01, encodeMvcmd([{ op: 'magic' }, { op: 'write32', addr: 0x40000000, value: 1 }]));
    expect(host.of('bus.error').map(({ initiator, access, addr, size, reason }) => ({ initiator, access, addr, size, reason }))).toEqual([
      { initiator: 'rom', access: 'write', addr: 0x40000000, size: 4, reason: 'unmapped address' },
    ]);
  });

  it('a USB reset brings the ROM back, and a good stream then boots', () => {
    const host = new DirectHost({ model: ma2485, leon: fakeLeon() }).enumerate();
    expect(host.out(0x01, Uint8Array.of(0x12))?.status).toBe('stall');
    host.stick.busReset();
    host.mustControl({ requestType: 0x00, request: 5, value: 2, index: 0, length: 0 });
    host.mustControl({ requestType: 0x00, request: 9, value: 1, index: 0, length: 0 });
    expect(host.stick.rom.phase).toBe('awaiting-magic');
    expect(host.out(0x01, encodeMvcmd([{ op: 'magic' }, { op: 'jump', addr: ENTRY }]))?.status).toBe('ok');
    host.run(1);
    expect(host.of('core.start').map((e) => e.mode)).toEqual(['jump']);
  });

  it('a stream cut off by a detach is an error in the log; the pending transfer ends with no-device', () => {
    const host = new DirectHost({ model: ma2485 }).enumerate();
    const stream = encodeMvcmd([{ op: 'magic' }, { op: 'load', addr: 0x70000000, data: new Uint8Array(4096) }, { op: 'jump', addr: 0x70000000 }]);
    host.out(0x01, stream.subarray(0, 1000));
    const pending = host.submit(0x81, 64, null);
    host.stick.unplug();
    expect(host.of('rom.error').map((e) => e.reason)).toEqual(['stream cut off by detach after 1000 bytes, missing 3107 bytes of a load block']);
    expect(host.done(pending)?.status).toBe('no-device');
    expect(host.of('machine.power').map((e) => e.on)).toEqual([true, false]);
  });

  it('a detach between records of an unfinished stream is reported too; a detach before any stream is not', () => {
    const host = new DirectHost({ model: ma2450 }).enumerate();
    host.out(0x01, encodeMvcmd([{ op: 'magic' }]));
    host.stick.unplug();
    expect(host.of('rom.error').map((e) => e.reason)).toEqual(['stream cut off by detach after 4 bytes, missing the rest of the stream up to its jump record']);
    host.stick.plug();
    host.stick.unplug();
    expect(host.of('rom.error')).toHaveLength(1);
  });

  it('plugging in again is a power-on: memory is clear and the ROM waits for a stream', () => {
    const host = new DirectHost({ model: ma2485 }).enumerate();
    host.out(0x01, encodeMvcmd([{ op: 'magic' }, { op: 'write32', addr: 0x70000000, value: 0xffffffff }]));
    expect(host.stick.bus.read(0x70000000, 4, 'test')).toBe(0xffffffff);
    host.stick.unplug();
    host.stick.plug();
    expect(host.stick.bus.read(0x70000000, 4, 'test')).toBe(0);
    expect(host.stick.rom.phase).toBe('awaiting-magic');
  });
});
