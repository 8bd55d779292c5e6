import { describe, expect, it } from 'vitest';
import { bootDevice, BootError, type BootOptions } from '../../emu/host/boot.js';
import { Hub } from '../../emu/host/hub.js';
import { encodeMvcmd, type MvcmdRecord } from '../../emu/rom/mvcmd.js';
import { SAFE_KEY, TIMER } from '../../emu/soc/timer.js';
import { b, nop } from '../support/sparc-encode.js';

const CMX = 0x70000000;
const DDR = 0x80000000;
const TIM0 = 0x20320000; // ma2485
const MA2485_HZ = 700_000_000;

/** SPARC words as the little-endian LEON on the Myriad bus reads them. */
function code(words: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((word, i) => view.setUint32(i * 4, word, true));
  return bytes;
}

/** `ba .` with a nop in its delay slot: runs for ever and never parks the core. */
const SPIN = code([b(8, 0), nop()]);

/** Records that arm TIM0's watchdog to reset the chip after `ms` of virtual time. */
function armWatchdog(ms: number): MvcmdRecord[] {
  return [
    { op: 'write32', addr: TIM0 + TIMER.SAFE_KEY, value: SAFE_KEY },
    { op: 'write32', addr: TIM0 + TIMER.WATCHDOG_COUNT, value: Math.round((ms / 1000) * MA2485_HZ) },
    { op: 'write32', addr: TIM0 + TIMER.SAFE_KEY, value: SAFE_KEY },
    { op: 'write32', addr: TIM0 + TIMER.WATCHDOG_ENABLE, value: 1 },
  ];
}

function filler(bytes: number): Uint8Array {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 151 + 13) & 0xff;
  return data;
}

async function plugged() {
  const hub = new Hub();
  const port = hub.plug({ model: 'ma2485', record: true });
  await hub.sleep(300);
  const [device] = await hub.usb.getDevices();
  if (!device) throw new Error(`not enumerated: ${hub.messages.join('; ')}`);
  const options: BootOptions = { sleep: (ms) => hub.sleep(ms), cancelSleep: (sleeping) => hub.cancelSleep(sleeping), reattachTimeoutMs: 50 };
  return { hub, port, device, options };
}

async function failure(boot: Promise<unknown>): Promise<BootError> {
  const outcome = await boot.then(
    (result) => ({ resolved: result }),
    (error: unknown) => ({ rejected: error }),
  );
  if (!('rejected' in outcome)) throw new Error(`the boot was reported as a success: ${JSON.stringify(outcome.resolved)}`);
  expect(outcome.rejected).toBeInstanceOf(BootError);
  return outcome.rejected as BootError;
}

const wallPause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a boot that cannot finish leaves nothing running', () => {
  it('a call record whose code never returns: timed out after 2000 ms of virtual time, the transfer aborted, the clock stopped', async () => {
    const { hub, port, device, options } = await plugged();
    const image = encodeMvcmd([{ op: 'magic' }, { op: 'load', addr: CMX, data: SPIN }, { op: 'call', addr: CMX }, { op: 'jump', addr: CMX }]);
    const started = hub.now;
    const error = await failure(bootDevice(hub.usb, device, image, options));
    expect(error.message).toBe(`bulk transfer timed out after 2000 ms at byte 0 of ${image.length}`);
    expect(hub.now - started).toBeGreaterThanOrEqual(2000e6);
    // The LEON still spins in the call, but no host wait is left to drive virtual time on.
    expect(port.stick.rom.phase).toBe('calling');
    expect(hub.pendingIds(port)).toEqual([]);
    const stoppedAt = hub.now;
    await wallPause(100);
    expect(hub.now).toBe(stoppedAt);
    expect(error).toMatchObject({ failure: 'timeout', byte: 0 });
  });

  it('the wall-clock limit ends a boot whose virtual timeouts are too long to wait for', async () => {
    const { hub, port, device, options } = await plugged();
    const image = encodeMvcmd([{ op: 'magic' }, { op: 'load', addr: CMX, data: SPIN }, { op: 'call', addr: CMX }, { op: 'jump', addr: CMX }]);
    const started = performance.now();
    const error = await failure(bootDevice(hub.usb, device, image, { ...options, transferTimeoutMs: 1e9, wallTimeoutMs: 300 }));
    expect(performance.now() - started).toBeLessThan(3000);
    expect(error.message).toBe(`bulk transfer timed out when the boot's wall-clock limit of 300 ms ran out at byte 0 of ${image.length}`);
    expect(error).toMatchObject({ failure: 'wall-timeout', byte: 0 });
    expect(hub.pendingIds(port)).toEqual([]);
    const stoppedAt = hub.now;
    await wallPause(100);
    expect(hub.now).toBe(stoppedAt);
  }, 15_000);

  it('a good boot leaves no timer behind: virtual time stands still once it returns', async () => {
    const { hub, device, options } = await plugged();
    const image = encodeMvcmd([{ op: 'magic' }, { op: 'load', addr: CMX, data: code([b(8, 0, true)]) }, { op: 'jump', addr: CMX }]);
    const result = await bootDevice(hub.usb, device, image, options);
    expect(result).toMatchObject({ bytesSent: image.length, detached: true });
    const returnedAt = hub.now;
    await wallPause(100);
    expect(hub.now).toBe(returnedAt);
  });
});

describe('an upload cut short is an error', () => {
  const longImage = (records: MvcmdRecord[] = []) =>
    encodeMvcmd([{ op: 'magic' }, ...records, { op: 'load', addr: DDR, data: filler(4 << 20) }, { op: 'load', addr: CMX, data: code([b(8, 0, true)]) }, { op: 'jump', addr: CMX }]);

  it('the watchdog armed by the image resets the chip mid-upload: BootError naming the bytes in flight and the jump not reached', async () => {
    const { hub, port, device, options } = await plugged();
    const image = longImage(armWatchdog(10));
    const chunk = 64 * 1024;
    const error = await failure(bootDevice(hub.usb, device, image, { ...options, chunkSize: chunk }));
    expect(error.failure).toBe('detached');
    expect(error.byte).toBeGreaterThan(0);
    expect(error.byte! % chunk).toBe(0);
    expect(error.byte).toBeLessThan(image.length);
    expect(error.message).toBe(
      `the device left the bus during the transfer of bytes ${error.byte}-${error.byte! + chunk - 1} of ${image.length}, before the jump record that ends at byte ${image.length}: the upload was cut short (a chip reset or an unplug)`,
    );
    const events = port.recorder!.events;
    expect(events.some((e) => e.kind === 'machine.reset' && e.reason === 'watchdog expired')).toBe(true);
    expect(port.stick.rom.phase).toBe('awaiting-magic'); // the ROM is back, waiting for a stream
    expect(hub.pendingIds(port)).toEqual([]);
  });

  it('in the default 1 MiB transfers the error names the transfer in flight', async () => {
    const { hub, device, options } = await plugged();
    const image = longImage(armWatchdog(10));
    const MiB = 1 << 20;
    const error = await failure(bootDevice(hub.usb, device, image, options));
    expect(error.failure).toBe('detached');
    expect(error.byte! % MiB).toBe(0);
    expect(error.byte! + MiB).toBeLessThan(image.length);
    expect(error.message).toContain(`bytes ${error.byte}-${error.byte! + MiB - 1} of ${image.length}, before the jump record`);
  });

  it('an unplug mid-upload: BootError at the byte where the upload stopped', async () => {
    const { hub, port, device, options } = await plugged();
    const image = longImage();
    const chunk = 64 * 1024;
    let pulledAt = -1;
    void hub.sleep(20).then(() => {
      pulledAt = hub.now;
      hub.unplug(port);
    });
    const error = await failure(bootDevice(hub.usb, device, image, { ...options, chunkSize: chunk }));
    expect(pulledAt).toBeGreaterThan(0);
    expect(error.failure).toBe('detached');
    expect(error.byte).toBeGreaterThan(0);
    expect(error.byte).toBeLessThan(image.length);
    expect(error.message).toMatch(new RegExp(`^the device left the bus during the transfer of bytes ${error.byte}-\\d+ of ${image.length}, before the jump record`));
    expect(port.recorder!.events.some((e) => e.kind === 'rom.error' && e.reason.startsWith('stream cut off by detach'))).toBe(true);
  });

  it('an image without a jump record whose chip resets after the upload did not boot', async () => {
    const { hub, device, options } = await plugged();
    const image = encodeMvcmd([{ op: 'magic' }, ...armWatchdog(1)]);
    const error = await failure(bootDevice(hub.usb, device, image, { ...options, reattachTimeoutMs: 500 }));
    expect(error).toMatchObject({ failure: 'detached', byte: image.length });
    expect(error.message).toBe(`the device left the bus after taking all ${image.length} bytes, but the image has no jump record, so it did not boot (a chip reset or an unplug)`);
  });

  it('bytes after the jump record may meet a device that has left: that is still a good boot', async () => {
    const { hub, port, device, options } = await plugged();
    const jumpEnd = encodeMvcmd([{ op: 'magic' }, { op: 'load', addr: CMX, data: code([b(8, 0, true)]) }, { op: 'jump', addr: CMX }]).length;
    const image = encodeMvcmd([{ op: 'magic' }, { op: 'load', addr: CMX, data: code([b(8, 0, true)]) }, { op: 'jump', addr: CMX }, { op: 'nop', count: 4096 }]);
    const result = await bootDevice(hub.usb, device, image, { ...options, chunkSize: 512 });
    expect(result).toMatchObject({ bytesSent: 512, transfers: 1, detached: true });
    expect(jumpEnd).toBeLessThanOrEqual(512);
    expect(port.stick.rom.phase).toBe('jumped');
  });
});
