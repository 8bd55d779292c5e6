/**
 * Boots a stick the way every public host library does (myriad-facts.md section 2):
 * configuration 1, claim interface 0, the whole image on the first bulk OUT endpoint, nothing
 * read back, then wait for the device list to change. Written against WebUSB only, so it runs
 * on the emulator and on navigator.usb / node-usb alike.
 */

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

export class BootError extends Error {}

export const MOVIDIUS_VID = 0x03e7;
const BOOTED_PIDS = [0xf63b, 0xf63c];
const MIB = 1024 * 1024;

export async function bootDevice(usb: UsbLike, device: BootableDevice, image: Uint8Array, options: BootOptions): Promise<BootResult> {
  const { sleep } = options;
  const transferTimeout = options.transferTimeoutMs ?? 2000;
  const reattachTimeout = options.reattachTimeoutMs ?? 15_000;
  let detached = false;
  let reattached: unknown | null = null;
  const onDisconnect = (event: Event & { device?: unknown }) => {
    if (event.device === device) detached = true;
  };
  const onConnect = (event: Event & { device?: unknown }) => {
    const d = event.device as { vendorId?: number; productId?: number } | undefined;
    if (d && d.vendorId === MOVIDIUS_VID && BOOTED_PIDS.includes(d.productId ?? -1)) reattached = d;
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
    if (!endpoint) throw new BootError('interface 0 has no bulk OUT endpoint');
    const chunk = options.chunkSize === 'packet' ? endpoint.packetSize : (options.chunkSize ?? (device.usbVersionMajor < 2 ? 64 : MIB));
    if (!(chunk > 0)) throw new BootError(`bad chunk size ${String(options.chunkSize)}`);

    let sent = 0;
    let transfers = 0;
    while (sent < image.length) {
      const piece = image.subarray(sent, Math.min(image.length, sent + chunk));
      let result: { status: string; bytesWritten: number } | 'timeout';
      try {
        result = await Promise.race([device.transferOut(endpoint.endpointNumber, piece), sleep(transferTimeout).then(() => 'timeout' as const)]);
      } catch (error) {
        // The device leaving during the write is how a good boot may end (LIBUSB_ERROR_NO_DEVICE).
        if (error instanceof Error && error.name === 'NotFoundError') {
          detached = true;
          break;
        }
        throw error;
      }
      if (result === 'timeout') throw new BootError(`bulk transfer timed out after ${transferTimeout} ms at byte ${sent} of ${image.length}`);
      if (result.status !== 'ok') throw new BootError(`device answered ${result.status} at byte ${sent} of ${image.length}`);
      sent += result.bytesWritten;
      transfers++;
      options.onProgress?.(sent, image.length);
    }

    for (let waited = 0; waited < reattachTimeout && !reattached; waited += 10) {
      await sleep(10);
      // A device that left and came back within one step still counts as a change.
      if (!detached && !(await usb.getDevices()).includes(device as never)) detached = true;
    }
    return { bytesSent: sent, transfers, detached, reattached };
  } finally {
    usb.removeEventListener('disconnect', onDisconnect);
    usb.removeEventListener('connect', onConnect);
  }
}
