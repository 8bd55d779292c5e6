/**
 * An emulated stick ready for inference, as a host program sees one after ncDeviceOpen: plugged
 * into an emulated host, booted with the open firmware for its chip and mvnc flavour, XLink
 * connected, mvnc opened. The CLI's infer, the demo and the benchmarks start here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findModel, models } from '../models/index.js';
import type { Stick } from '../machine/stick.js';
import { packageRoot } from '../package-root.js';
import { bootDevice } from './boot.js';
import { Hub, type Port } from './hub.js';
import { MvncDevice, type MvncFlavour } from './mvnc.js';
import type { EmulatedUSBDevice } from './webusb.js';
import { XLinkClient } from './xlink.js';

/** The open firmware image for a chip and an mvnc flavour (firmware-stubs/vsc/). */
export function firmwareImagePath(model: 'ma2450' | 'ma2485', flavour: MvncFlavour): string {
  return join(packageRoot(), 'firmware-stubs', 'vsc', `vsc-${model}${flavour === 'ncsdk2' ? '-ncsdk2' : ''}.mvcmd`);
}

export interface StickSessionOptions {
  readonly model?: 'ma2450' | 'ma2485';
  readonly flavour?: MvncFlavour;
  /** Called with the stick before it boots (a TraceWriter's attach, for example). */
  readonly attach?: (stick: Stick) => void;
  /** The image to boot instead of the open firmware (it must serve the same flavour). */
  readonly image?: Uint8Array;
  /** How long one XLink request may wait, in virtual ms. */
  readonly timeoutMs?: number;
}

export interface StickSession {
  readonly hub: Hub;
  readonly port: Port;
  readonly xlink: XLinkClient;
  readonly mvnc: MvncDevice;
  readonly image: Uint8Array;
  /** The firmware's console lines so far. */
  readonly console: readonly string[];
  /** RESET: the stick goes back to the ROM. */
  close(): Promise<void>;
}

export class SessionError extends Error {}

export async function openStickSession(options: StickSessionOptions = {}): Promise<StickSession> {
  const modelName = options.model ?? 'ma2485';
  const model = findModel(modelName);
  if (!model) throw new SessionError(`unknown model '${modelName}': ${Object.keys(models).join(' or ')}`);
  const flavour = options.flavour ?? 'openvino';
  const image = options.image ?? readFileSync(firmwareImagePath(modelName, flavour));
  const hub = new Hub();
  const console: string[] = [];
  const port = hub.plug({
    model,
    record: true,
    ...(options.attach ? { attach: options.attach } : {}),
    listener: (event) => {
      if (event.kind === 'console.line') console.push(event.text);
    },
  });
  await hub.sleep(300);
  const [rom] = await hub.usb.getDevices();
  if (!rom) throw new SessionError(`the host could not enumerate the stick: ${hub.messages.join('; ')}`);
  const booted = await bootDevice(hub.usb, rom, image, { sleep: (ms) => hub.sleep(ms), cancelSleep: (p) => hub.cancelSleep(p), reattachTimeoutMs: 3000 });
  if (!booted.reattached) throw new SessionError(`the stick did not come back after the boot: ${hub.messages.join('; ')}`);
  const xlink = await XLinkClient.connect(booted.reattached as EmulatedUSBDevice, {
    sleep: (ms) => hub.sleep(ms),
    cancelSleep: (p) => hub.cancelSleep(p),
    nameLength: flavour === 'ncsdk2' ? 16 : 64,
    timeoutMs: options.timeoutMs ?? 60_000,
  });
  const mvnc = await MvncDevice.open(xlink, { flavour });
  return { hub, port, xlink, mvnc, image, console, close: () => xlink.close(hub.usb) };
}
