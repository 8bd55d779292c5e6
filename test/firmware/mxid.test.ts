/**
 * The MX ID as Luxonis' host library reads it: the exact byte streams it sends to the unbooted
 * ROM (../shared/clients/luxonis-mxid/), fed through WebUSB, then the open firmware's serial.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bootDevice } from '../../emu/host/boot.js';
import { Hub } from '../../emu/host/hub.js';
import type { EmulatedUSBDevice } from '../../emu/host/webusb.js';
import { replay } from '../../emu/machine/replay.js';
import { Stick } from '../../emu/machine/stick.js';
import { fuseId, mxId } from '../../emu/soc/cpr.js';

const client = (name: string) => readFileSync(new URL(`../../../shared/clients/luxonis-mxid/${name}`, import.meta.url));
const READ_STREAM = client('mxid_read_cmd.bin');
const END_STREAM = client('mxid_read_end_cmd.bin');
const VSC = readFileSync(new URL('../../firmware-stubs/vsc/vsc-ma2485.mvcmd', import.meta.url));
/** Luxonis' read timeout, and its buffer for the 9 bytes. */
const TIMEOUT_MS = 100;
const READ_BUFFER = 128;

/** A promise, or 'timeout' after `ms` of virtual time (the host library's libusb timeouts). */
async function within<T>(hub: Hub, work: Promise<T>, ms: number): Promise<T | 'timeout'> {
  const sleeping = hub.sleep(ms);
  try {
    return await Promise.race([work, sleeping.then(() => 'timeout' as const)]);
  } finally {
    hub.cancelSleep(sleeping);
  }
}

/** What luxonis/XLink's usb_mx_id does with an unbooted stick: the 9 raw bytes it reads. */
async function readMxIdBytes(hub: Hub, rom: EmulatedUSBDevice, resync = false): Promise<Uint8Array> {
  await rom.open();
  await rom.selectConfiguration(1);
  await rom.claimInterface(0);
  const send = async (bytes: Uint8Array, what: string) => {
    const sent = await within(hub, rom.transferOut(1, bytes), TIMEOUT_MS);
    if (sent === 'timeout') throw new Error(`${what}: the ROM took no bytes in ${TIMEOUT_MS} ms`);
    expect([sent.status, sent.bytesWritten], what).toEqual(['ok', bytes.length]);
  };
  if (resync) await send(new Uint8Array(256 * 1024 + 16), 'resynchronising NOPs');
  await send(READ_STREAM, 'the read stream');
  const read = await within(hub, rom.transferIn(1, READ_BUFFER), TIMEOUT_MS);
  if (read === 'timeout') throw new Error(`no MX ID came back in ${TIMEOUT_MS} ms`);
  expect(read.status).toBe('ok');
  await send(END_STREAM, 'the end stream');
  return new Uint8Array(read.data!.buffer, read.data!.byteOffset, read.data!.byteLength);
}

/** The host library's conversion: the low nibble of the last byte cleared, 18 upper-case hex digits. */
const asHostPrints = (bytes: Uint8Array) => Buffer.from(bytes.map((b, i) => (i === 8 ? b & 0xf0 : b))).toString('hex').toUpperCase();

/** Replays a port's recording on a fresh stick with the same chip id. */
const replayed = (port: { stick: Stick; recorder: { events: readonly import('../../emu/events/event.js').MachineEvent[] } | null }) =>
  replay(port.stick.model, port.recorder!.events, { start: new Stick({ model: port.stick.model, chipId: port.stick.chipId }) }).divergence;

async function plugged(model: string, chipId?: bigint) {
  const hub = new Hub();
  const port = hub.plug({ model, record: true, ...(chipId !== undefined ? { chipId } : {}) });
  await hub.sleep(300);
  const [rom] = await hub.usb.getDevices();
  return { hub, port, rom: rom! };
}

// Ids whose low bits made the old registers' poll spin (the busy bits were the chip id's), the
// default of a hub's first two ports, and ones whose check byte has a low nibble to clear.
const CHIP_IDS = [0x00000003_00000003n, 0xffffffff_ffffffffn, 0x00000002_00000006n, 0x0d2c3b4a_59687f80n, 0x0d2c3b4b_59688081n, 0x14442c10_d13eabcen].map(
  (chipId) => ({ chipId, hex: chipId.toString(16).padStart(16, '0') }),
);

describe('MX ID through the ROM, as luxonis/XLink reads it', () => {
  it.each(CHIP_IDS)('chip id $hex: the 9 bytes are the stick\'s id, and the ROM parses on', async ({ chipId }) => {
    const { hub, port, rom } = await plugged('ma2485', chipId);
    const bytes = await readMxIdBytes(hub, rom);
    expect(bytes.length).toBe(9);
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(fuseId(chipId)).toString('hex'));
    // The emulator's mapping: the chip id's 16 hex digits, then the check byte's high nibble.
    expect(asHostPrints(bytes)).toBe(mxId(chipId));
    expect(mxId(chipId).slice(0, 16)).toBe(chipId.toString(16).padStart(16, '0').toUpperCase());
    const events = port.recorder!.events;
    expect(events.filter((e) => e.kind === 'rom.error')).toEqual([]);
    expect(port.stick.rom.phase).toBe('parsing');
    // The end stream turned the payload's watchdog off: the ROM is still there 10 s later.
    await hub.sleep(10_000);
    expect(events.filter((e) => e.kind === 'machine.reset')).toEqual([]);
    expect((await hub.usb.getDevices()).map((d) => d.productId)).toEqual([0x2485]);
    expect(replayed(port)).toBeNull();
  });

  it('reads the same after the 256 KiB + 16 NOPs a host sends to resynchronise the ROM', async () => {
    const { hub, rom } = await plugged('ma2485', 0x14442c10_d13eabcen);
    expect(asHostPrints(await readMxIdBytes(hub, rom, true))).toBe('14442C10D13EABCEE0');
  });

  it('the id is stable: the same chip id gives the same MX ID on another hub, another port gives another', async () => {
    const first = await plugged('ma2485');
    const again = await plugged('ma2485');
    const a = asHostPrints(await readMxIdBytes(first.hub, first.rom));
    expect(asHostPrints(await readMxIdBytes(again.hub, again.rom))).toBe(a);
    const hub = new Hub();
    hub.plug('ma2485');
    hub.plug('ma2485');
    await hub.sleep(300);
    const [, second] = await hub.usb.getDevices();
    expect(asHostPrints(await readMxIdBytes(hub, second!))).not.toBe(a);
  });

  it.each(CHIP_IDS.slice(0, 4))('chip id $hex: the booted open firmware\'s USB serial is the MX ID the ROM gave', async ({ chipId }) => {
    const { hub, port, rom } = await plugged('ma2485', chipId);
    const fromRom = asHostPrints(await readMxIdBytes(hub, rom));
    await rom.close();
    const booted = await bootDevice(hub.usb, rom, VSC, { sleep: (ms) => hub.sleep(ms), reattachTimeoutMs: 3000 });
    const device = booted.reattached as EmulatedUSBDevice;
    expect(device?.productId).toBe(0xf63b);
    expect(device.serialNumber).toBe(fromRom);
    const console = port.recorder!.events.flatMap((e) => (e.kind === 'console.line' ? [e.text] : []));
    expect(console).toContain(`vsc: mx id ${fromRom}`);
    expect(replayed(port)).toBeNull();
  });

  it('is a Myriad X tool: on an ma2450 the ROM stops at its first record, a write to the Myriad X watchdog', async () => {
    const { hub, port, rom } = await plugged('ma2450');
    await rom.open();
    await rom.selectConfiguration(1);
    await rom.claimInterface(0);
    const sent = await within(hub, rom.transferOut(1, READ_STREAM), TIMEOUT_MS);
    expect(sent === 'timeout' ? sent : sent.status).toBe('stall');
    const errors = port.recorder!.events.flatMap((e) => (e.kind === 'rom.error' ? [e] : []));
    expect(errors).toHaveLength(1);
    // The record after the magic: 9A 203200A8 F1D0DEAD, TIM0's safe key at its ma2485 address.
    expect(errors[0]!.offset).toBe(4);
    expect(errors[0]!.reason).toMatch(/0x203200a8/i);
  });
});

describe('MX ID of the open firmware on ma2450', () => {
  it('reads its id through the same port at CPR 0x10F00000 and serves it as its serial', async () => {
    const { hub, port, rom } = await plugged('ma2450', 0x00000003_00000003n);
    const image = readFileSync(new URL('../../firmware-stubs/vsc/vsc-ma2450.mvcmd', import.meta.url));
    const booted = await bootDevice(hub.usb, rom, image, { sleep: (ms) => hub.sleep(ms), reattachTimeoutMs: 3000 });
    expect((booted.reattached as EmulatedUSBDevice).serialNumber).toBe(mxId(0x00000003_00000003n));
    const fuseReads = port.recorder!.events.filter((e) => e.kind === 'bus.read' && e.target === 'cpr').map((e) => e.kind === 'bus.read' && e.addr);
    expect(new Set(fuseReads)).toEqual(new Set([0x10f00164, 0x10f0016c, 0x10f00170]));
    expect(replayed(port)).toBeNull();
  });
});
