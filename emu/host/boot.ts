/**
 * Boots a stick the way every public host library does (myriad-facts.md section 2):
 * configuration 1, claim interface 0, the whole image on the first bulk OUT endpoint, nothing
 * read back, then wait for the device list to change. Written against WebUSB only, so it runs
 * on the emulator and on navigator.usb / node-usb alike.
 *
 * Every wait is bounded twice: in the caller's time (`sleep`: virtual time on the emulator,
 * which decides what happens) and in wall time (a backstop, so a machine that emulates slowly
 * or a device that never answers cannot hold the host forever). On any failure nothing is left
 * behind: a transfer that timed out is aborted and no timer outlives the call.
 */
import { MvcmdParser, type MvcmdSink } from '../rom/mvcmd.js';

interface EndpointLike {
  readonly endpointNumber: number;
  readonly direction: 'in' | 'out';
  readonly type: string;
  readonly packetSize: number;
}

export interface BootableDevice {
  readonly vendorId: number;
  readonly productId: number;
  readonly usbVersionMajor: number;
  readonly opened: boolean;
  readonly configuration: { readonly interfaces: readonly { readonly interfaceNumber: number; readonly alternate: { readonly endpoints: readonly EndpointLike[] } }[] } | null;
  open(): Promise<void>;
  /** Aborts every transfer in flight: WebUSB's only way to cancel one that timed out. */
  close?(): Promise<void>;
  selectConfiguration(value: number): Promise<void>;
  claimInterface(number: number): Promise<void>;
  transferOut(endpointNumber: number, data: Uint8Array): Promise<{ status: string; bytesWritten: number }>;
}

export interface UsbLike {
  getDevices(): Promise<readonly { readonly vendorId: number; readonly productId: number }[]>;
  addEventListener(type: 'connect' | 'disconnect', listener: (event: Event & { device?: unknown }) => void): void;
  removeEventListener(type: 'connect' | 'disconnect', listener: (event: Event & { device?: unknown }) => void): void;
}

export interface BootOptions {
  /** Bytes per bulk transfer: a number, or 'packet' for wMaxPacketSize (NCSDK, kernel). Default 1 MiB. */
  readonly chunkSize?: number | 'packet';
  /** Per-transfer timeout, 2000 ms in every host library. */
  readonly transferTimeoutMs?: number;
  /** How long to wait for the device to leave and come back, 15 s in OpenVINO. */
  readonly reattachTimeoutMs?: number;
  /** Sleeps `ms` (virtual time on the emulator: Hub.sleep; wall time elsewhere). */
  readonly sleep: (ms: number) => Promise<void>;
  /** Forgets a sleep that lost its race (Hub.cancelSleep; clearTimeout elsewhere), so no timer outlives the boot. */
  readonly cancelSleep?: (sleeping: Promise<void>) => void;
  /**
   * Wall-clock limit on the whole boot, upload and wait, 120 s by default. On the emulator the
   * timeouts above (virtual time) decide; this only stops a run that emulates too slowly.
   */
  readonly wallTimeoutMs?: number;
  readonly onProgress?: (sent: number, total: number) => void;
}

export interface BootResult {
  readonly bytesSent: number;
  readonly transfers: number;
  /** The device left the bus after the image. */
  readonly detached: boolean;
  /** The device that appeared with the booted VID/PID (03e7:f63b or f63c), if any. */
  readonly reattached: unknown | null;
}

/**
 * Why a boot failed: 'setup' (no bulk OUT endpoint, a bad chunk size), 'status' (the device
 * answered a transfer with stall or babble), 'timeout' (a transfer got no answer in time),
 * 'wall-timeout' (the wall-clock limit), 'detached' (the device left the bus before it had
 * taken the image's jump record: a chip reset or an unplug cut the upload short).
 */
export type BootFailure = 'setup' | 'status' | 'timeout' | 'wall-timeout' | 'detached';

export class BootError extends Error {
  override readonly name = 'BootError';
  constructor(
    message: string,
    readonly failure: BootFailure,
    /** Bytes of the image the device had acknowledged when it failed (null before the upload). */
    readonly byte: number | null = null,
  ) {
    super(message);
  }
}

export const MOVIDIUS_VID = 0x03e7;
const BOOTED_PIDS = [0xf63b, 0xf63c];
const MIB = 1024 * 1024;
const DEFAULT_WALL_TIMEOUT_MS = 120_000;

export async function bootDevice(usb: UsbLike, device: BootableDevice, image: Uint8Array, options: BootOptions): Promise<BootResult> {
  const transferTimeout = options.transferTimeoutMs ?? 2000;
  const reattachTimeout = options.reattachTimeoutMs ?? 15_000;
  const wallTimeout = options.wallTimeoutMs ?? DEFAULT_WALL_TIMEOUT_MS;
  // The device may leave the bus only once it has taken the jump record; the bytes after it are
  // never parsed, so a departure while they are written is how a good boot ends.
  const jumpEnd = jumpRecordEnd(image);
  let detached = false;
  let reattached: unknown | null = null;
  const onDisconnect = (event: Event & { device?: unknown }) => {
    if (event.device === device) detached = true;
  };
  const onConnect = (event: Event & { device?: unknown }) => {
    const d = event.device as { vendorId?: number; productId?: number } | undefined;
    if (d && d.vendorId === MOVIDIUS_VID && BOOTED_PIDS.includes(d.productId ?? -1)) reattached = d;
  };
  let wallTimer: ReturnType<typeof setTimeout> | undefined;
  const wallExpired = new Promise<'wall-timeout'>((resolve) => {
    wallTimer = setTimeout(() => resolve('wall-timeout'), wallTimeout);
  });
  /** Waits for `work`, at most `ms` of the caller's time and until the wall-clock limit. */
  const bounded = async <T>(work: Promise<T>, ms: number): Promise<T | 'timeout' | 'wall-timeout'> => {
    const sleeping = options.sleep(ms);
    try {
      return await Promise.race([work, sleeping.then(() => 'timeout' as const), wallExpired]);
    } finally {
      options.cancelSleep?.(sleeping);
    }
  };
  const abandon = async (): Promise<void> => {
    try {
      await device.close?.();
    } catch {
      // Gone already: nothing of it is left to abort.
    }
  };
  usb.addEventListener('disconnect', onDisconnect);
  usb.addEventListener('connect', onConnect);
  try {
    if (!device.opened) await device.open();
    await device.selectConfiguration(1);
    await device.claimInterface(0);
    const endpoint = device.configuration?.interfaces
      .find((i) => i.interfaceNumber === 0)
      ?.alternate.endpoints.find((e) => e.direction === 'out' && e.type === 'bulk');
    if (!endpoint) throw new BootError('interface 0 has no bulk OUT endpoint', 'setup');
    const chunk = options.chunkSize === 'packet' ? endpoint.packetSize : (options.chunkSize ?? (device.usbVersionMajor < 2 ? 64 : MIB));
    if (!(chunk > 0)) throw new BootError(`bad chunk size ${String(options.chunkSize)}`, 'setup');

    let sent = 0;
    let transfers = 0;
    while (sent < image.length) {
      const piece = image.subarray(sent, Math.min(image.length, sent + chunk));
      let result: { status: string; bytesWritten: number } | 'timeout' | 'wall-timeout';
      try {
        result = await bounded(device.transferOut(endpoint.endpointNumber, piece), transferTimeout);
      } catch (error) {
        if (!(error instanceof Error && error.name === 'NotFoundError')) throw error;
        if (jumpEnd !== null && sent >= jumpEnd) {
          detached = true;
          break;
        }
        const before = jumpEnd === null ? 'the image has no jump record' : `before the jump record that ends at byte ${jumpEnd}`;
        throw new BootError(
          `the device left the bus during the transfer of bytes ${sent}-${sent + piece.length - 1} of ${image.length}, ${before}: the upload was cut short (a chip reset or an unplug)`,
          'detached',
          sent,
        );
      }
      if (result === 'timeout' || result === 'wall-timeout') {
        await abandon();
        const limit = result === 'timeout' ? `after ${transferTimeout} ms` : `when the boot's wall-clock limit of ${Math.round(wallTimeout)} ms ran out`;
        throw new BootError(`bulk transfer timed out ${limit} at byte ${sent} of ${image.length}`, result, sent);
      }
      if (result.status !== 'ok') throw new BootError(`device answered ${result.status} at byte ${sent} of ${image.length}`, 'status', sent);
      sent += result.bytesWritten;
      transfers++;
      options.onProgress?.(sent, image.length);
    }

    for (let waited = 0; waited < reattachTimeout && !reattached; waited += 10) {
      const step = options.sleep(10);
      if ((await Promise.race([step, wallExpired])) === 'wall-timeout') {
        options.cancelSleep?.(step);
        break;
      }
      // A device that left and came back within one step still counts as a change.
      if (!detached && !(await usb.getDevices()).includes(device as never)) detached = true;
    }
    if (detached && jumpEnd === null) {
      throw new BootError(`the device left the bus after taking all ${sent} bytes, but the image has no jump record, so it did not boot (a chip reset or an unplug)`, 'detached', sent);
    }
    return { bytesSent: sent, transfers, detached, reattached };
  } finally {
    clearTimeout(wallTimer);
    usb.removeEventListener('disconnect', onDisconnect);
    usb.removeEventListener('connect', onConnect);
  }
}

/** The offset just past the image's jump record, or null if it has none (or is malformed before it). */
function jumpRecordEnd(image: Uint8Array): number | null {
  let jumped = false;
  const sink: MvcmdSink = {
    magic: () => true,
    name: () => true,
    write8: () => true,
    write32: () => true,
    loadStart: () => true,
    loadData: () => {},
    call: () => true,
    send: () => true,
    jump: () => {
      jumped = true;
      return false;
    },
    error: () => {},
  };
  const consumed = new MvcmdParser(sink).feed(image);
  return jumped ? consumed : null;
}
