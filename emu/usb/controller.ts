import { createActor, type Actor, type SnapshotFrom } from 'xstate';
import type { TransferStatus } from '../events/event.js';
import type { EventLog } from '../events/log.js';
import type { UsbPersonality } from '../models/model.js';
import type { Scheduler, Task } from '../time/scheduler.js';
import { buildDescriptors, type DescriptorSet } from './descriptors.js';
import { usbDeviceMachine, type UsbDeviceEvent, type UsbDeviceState } from './device-machine.js';
import { standardRequest, type RequestOutcome } from './requests.js';
import { decodeSetup, type SetupPacket } from './setup.js';
import { bulkDurationNs, CONTROL_STAGE_NS } from './timing.js';

/**
 * The device-side function behind the controller: the boot ROM now, the firmware later.
 * The controller never calls it while a transfer is being completed, so it may call back.
 */
export interface UsbFunction {
  /**
   * Bytes arrived on an OUT endpoint. Returns how many it took; the controller NAKs the rest
   * until `resumeOut`.
   */
  receive(endpoint: number, data: Uint8Array): number;
  /** The host reset the bus. */
  busReset(): void;
  /** The IN transfer that took the last bytes of a message has completed on the bus. */
  sent?(endpoint: number): void;
  /** A class or vendor request; undefined means STALL. */
  control?(setup: SetupPacket, data: Uint8Array | null): RequestOutcome | undefined;
  /** The host selected configuration `value` (0: unconfigured). */
  configured?(value: number): void;
}

interface OutTransfer {
  id: number;
  endpoint: number;
  data: Uint8Array;
  offset: number;
  /** Delivery is scheduled (false while NAKed). */
  scheduled: boolean;
}

interface InRequest {
  id: number;
  endpoint: number;
  length: number;
  chunks: Uint8Array[];
  received: number;
  packets: number;
  /** Complete (short packet, full, or babble): only the completion task is outstanding. */
  done: boolean;
  status: TransferStatus;
  /** Messages whose last bytes this transfer carries: the function hears of them at completion. */
  endsMessages: number;
}

interface InMessage {
  data: Uint8Array;
  offset: number;
  /** End with a zero-length packet when the length is a multiple of wMaxPacketSize. */
  zlp: boolean;
}

interface ControlRequest {
  id: number;
  setup: Uint8Array;
  data: Uint8Array | null;
}

export interface UsbControllerSnapshot {
  readonly device: unknown;
  readonly rawDescriptors: { device: Uint8Array; configurations: Uint8Array[]; strings: [number, Uint8Array][] } | null;
  readonly out: readonly OutTransfer[];
  readonly inRequests: readonly InRequest[];
  readonly inMessages: readonly (InMessage & { endpoint: number })[];
  readonly control: readonly ControlRequest[];
}

const TARGET = 'usb';
const ACTIVE_STATES: readonly UsbDeviceState[] = ['default', 'address', 'configured'];

/**
 * The USB device controller of one stick: the state machine of chapter 9, endpoint 0, the bulk
 * endpoints with their packets, NAKs, halts and bus timing. Host transfers come in through
 * `submit*`; every completion is a `usb.*.done` event in the log, which is how the host side
 * learns of it.
 */
export class UsbController {
  private device: Actor<typeof usbDeviceMachine>;
  private fn: UsbFunction | null = null;
  private descriptors: DescriptorSet | null = null;
  /** Descriptors given as bytes by the function (kept for snapshots). */
  private rawDescriptors: DescriptorSet | null = null;
  private out: OutTransfer[] = [];
  private inRequests: InRequest[] = [];
  private inMessages = new Map<number, InMessage[]>();
  private control: ControlRequest[] = [];

  constructor(
    private readonly scheduler: Scheduler,
    private readonly log: EventLog,
  ) {
    this.device = createActor(usbDeviceMachine).start();
  }

  // ---- what the device side sees

  get state(): UsbDeviceState {
    return this.device.getSnapshot().value as UsbDeviceState;
  }

  get address(): number {
    return this.device.getSnapshot().context.address;
  }

  get configuration(): number {
    return this.device.getSnapshot().context.configuration;
  }

  get personality(): UsbPersonality | null {
    return this.device.getSnapshot().context.personality;
  }

  isHalted(endpoint: number): boolean {
    return this.device.getSnapshot().context.halted.includes(endpoint);
  }

  /**
   * The function pulls up D+: the hub sees a new device with this identity. `descriptors` are
   * the exact bytes to answer GET_DESCRIPTOR with (the firmware's); by default they are built
   * from the personality (the ROM's, which lives in the model).
   */
  connect(personality: UsbPersonality, fn: UsbFunction, descriptors?: DescriptorSet): void {
    if (this.state !== 'detached') this.disconnect('reconnect');
    this.fn = fn;
    this.descriptors = descriptors ?? buildDescriptors(personality);
    this.rawDescriptors = descriptors ?? null;
    this.log.append({ kind: 'usb.connect', vendorId: personality.vendorId, productId: personality.productId, speed: personality.speed });
    this.send({ type: 'ATTACH', personality });
    this.send({ type: 'POWER' });
  }

  /** The device leaves the bus: every pending transfer ends with no-device. */
  disconnect(reason: string): void {
    if (this.state === 'detached') return;
    this.abortAll('no-device');
    this.log.append({ kind: 'usb.disconnect', reason });
    this.send({ type: 'DETACH' });
    this.fn = null;
    this.descriptors = null;
    this.rawDescriptors = null;
  }

  /** Queues a message on an IN endpoint, sent when the host asks for it. */
  sendIn(endpoint: number, data: Uint8Array, zlp = false): void {
    let queue = this.inMessages.get(endpoint);
    if (!queue) this.inMessages.set(endpoint, (queue = []));
    queue.push({ data, offset: 0, zlp });
    this.pumpIn(endpoint);
  }

  /** Bytes queued on an IN endpoint and not yet read by the host. */
  queuedIn(endpoint: number): number {
    let total = 0;
    for (const m of this.inMessages.get(endpoint) ?? []) total += m.data.length - m.offset;
    return total;
  }

  /** The function can take more OUT data: deliver what was NAKed. */
  resumeOut(endpoint: number): void {
    const head = this.headOut(endpoint);
    if (head && !head.scheduled) {
      head.scheduled = true;
      this.scheduler.after(0, TARGET, 'out', head.id);
    }
  }

  /** Sets the endpoint's halt feature (a functional stall): its transfers end with stall. */
  halt(endpoint: number): void {
    if (!this.isHalted(endpoint)) {
      this.send({ type: 'HALT', endpoint });
      this.log.append({ kind: 'usb.halt', endpoint, halted: true });
    }
    this.stallPending(endpoint);
  }

  // ---- what the host does (inputs, already logged by the machine)

  submitControl(id: number, setup: Uint8Array, data: Uint8Array | null): void {
    if (!ACTIVE_STATES.includes(this.state)) {
      this.log.append({ kind: 'usb.control.done', id, status: 'no-device', data: null, length: 0 });
      return;
    }
    this.control.push({ id, setup, data });
    if (this.control.length === 1) this.scheduleControl();
  }

  submitTransfer(id: number, endpoint: number, length: number, data: Uint8Array | null): void {
    if (!ACTIVE_STATES.includes(this.state)) return this.finish(id, endpoint, 'no-device', null, 0);
    const maxPacket = this.maxPacketSize(endpoint);
    if (maxPacket === 0) return this.finish(id, endpoint, 'stall', null, 0);
    if (endpoint & 0x80) {
      this.inRequests.push({ id, endpoint, length, chunks: [], received: 0, packets: 0, done: false, status: 'ok', endsMessages: 0 });
      if (this.isHalted(endpoint)) return this.stallPending(endpoint);
      this.pumpIn(endpoint);
      return;
    }
    const transfer: OutTransfer = { id, endpoint, data: data ?? new Uint8Array(0), offset: 0, scheduled: false };
    this.out.push(transfer);
    if (this.isHalted(endpoint)) return this.stallPending(endpoint);
    if (this.headOut(endpoint) === transfer) this.scheduleOut(transfer);
  }

  /** The host gave up on a transfer: it ends with `cancelled` and what had moved so far. */
  cancel(id: number): void {
    const outAt = this.out.findIndex((t) => t.id === id);
    if (outAt >= 0) {
      const [t] = this.out.splice(outAt, 1);
      this.finish(id, t!.endpoint, 'cancelled', null, t!.offset);
      const next = this.headOut(t!.endpoint);
      if (next && !next.scheduled) this.scheduleOut(next);
      return;
    }
    const inAt = this.inRequests.findIndex((r) => r.id === id);
    if (inAt >= 0) {
      const [r] = this.inRequests.splice(inAt, 1);
      this.finish(id, r!.endpoint, 'cancelled', concat(r!.chunks, r!.received), r!.received);
      this.pumpIn(r!.endpoint);
      return;
    }
    const controlAt = this.control.findIndex((c) => c.id === id);
    if (controlAt >= 0) {
      this.control.splice(controlAt, 1);
      this.log.append({ kind: 'usb.control.done', id, status: 'cancelled', data: null, length: 0 });
      if (controlAt === 0 && this.control.length > 0) this.scheduleControl();
    }
  }

  /** The host drove a bus reset: pending transfers are cancelled, the device is in Default. */
  busReset(): void {
    if (this.state === 'detached' || this.state === 'attached') return;
    this.abortAll('cancelled');
    this.send({ type: 'BUS_RESET' });
    this.fn?.busReset();
  }

  // ---- scheduler

  handle(task: Task): void {
    if (task.action === 'control') this.completeControl(task.arg);
    else if (task.action === 'out') this.deliverOut(task.arg);
    else if (task.action === 'in') this.completeIn(task.arg);
  }

  private scheduleControl(): void {
    const head = this.control[0]!;
    const stages = decodeSetup(head.setup).length > 0 ? 3 : 2;
    this.scheduler.after(stages * CONTROL_STAGE_NS, TARGET, 'control', head.id);
  }

  private completeControl(id: number): void {
    const head = this.control[0];
    if (!head || head.id !== id) return;
    this.control.shift();
    const setup = decodeSetup(head.setup);
    let outcome: RequestOutcome = standardRequest({ state: this.state, context: this.device.getSnapshot().context, descriptors: this.descriptors! }, setup);
    if (outcome.status === 'stall' && (setup.requestType & 0x60) !== 0) outcome = this.fn?.control?.(setup, head.data) ?? outcome;
    if (outcome.status === 'ok') {
      const data = outcome.data ? outcome.data.slice(0, setup.length) : null;
      const length = data ? data.length : Math.min(head.data?.length ?? 0, setup.length);
      this.log.append({ kind: 'usb.control.done', id, status: 'ok', data, length });
      if (outcome.effect) this.send(outcome.effect);
      if (outcome.effect?.type === 'SET_CONFIGURATION') this.fn?.configured?.(outcome.effect.value);
      if (outcome.effect?.type === 'CLEAR_HALT') this.log.append({ kind: 'usb.halt', endpoint: outcome.effect.endpoint, halted: false });
      if (outcome.effect?.type === 'HALT') {
        this.log.append({ kind: 'usb.halt', endpoint: outcome.effect.endpoint, halted: true });
        this.stallPending(outcome.effect.endpoint);
      }
      if (outcome.effect?.type === 'CLEAR_HALT') {
        const next = this.headOut(outcome.effect.endpoint);
        if (next && !next.scheduled) this.scheduleOut(next);
        this.pumpIn(outcome.effect.endpoint);
      }
    } else {
      this.log.append({ kind: 'usb.control.done', id, status: 'stall', data: null, length: 0 });
    }
    if (this.control.length > 0) this.scheduleControl();
  }

  private scheduleOut(transfer: OutTransfer): void {
    transfer.scheduled = true;
    const remaining = transfer.data.length - transfer.offset;
    this.scheduler.after(bulkDurationNs(remaining, this.maxPacketSize(transfer.endpoint)), TARGET, 'out', transfer.id);
  }

  private deliverOut(id: number): void {
    const at = this.out.findIndex((t) => t.id === id);
    const transfer = this.out[at];
    if (!transfer || this.headOut(transfer.endpoint) !== transfer || !transfer.scheduled) return;
    transfer.scheduled = false;
    const taken = this.fn ? this.fn.receive(transfer.endpoint, transfer.data.subarray(transfer.offset)) : 0;
    // The function may have halted the endpoint or left the bus while it looked at the data.
    if (!this.out.includes(transfer)) return;
    transfer.offset += Math.max(0, Math.min(taken, transfer.data.length - transfer.offset));
    if (this.isHalted(transfer.endpoint)) return this.stallPending(transfer.endpoint);
    if (transfer.offset < transfer.data.length) return; // NAK until resumeOut
    this.out.splice(this.out.indexOf(transfer), 1);
    this.finish(transfer.id, transfer.endpoint, 'ok', null, transfer.data.length);
    const next = this.headOut(transfer.endpoint);
    if (next && !next.scheduled) this.scheduleOut(next);
  }

  /** Moves the packets that exist now into the oldest IN request of the endpoint. */
  private pumpIn(endpoint: number): void {
    const request = this.inRequests.find((r) => r.endpoint === endpoint);
    if (!request || request.done || this.isHalted(endpoint)) return;
    const queue = this.inMessages.get(endpoint);
    const maxPacket = this.maxPacketSize(endpoint);
    while (queue && queue.length > 0 && !request.done) {
      const message = queue[0]!;
      const left = message.data.length - message.offset;
      if (left === 0) {
        queue.shift();
        if (message.zlp && message.data.length % maxPacket === 0) {
          request.packets++;
          request.done = true; // a zero-length packet ends the transfer
        }
        request.endsMessages++;
        continue;
      }
      const packet = Math.min(maxPacket, left);
      const room = request.length - request.received;
      request.packets++;
      if (packet > room) {
        // The device sent more than the host asked for: the host controller reports babble.
        request.chunks.push(message.data.subarray(message.offset, message.offset + room));
        request.received += room;
        message.offset += packet;
        request.status = 'babble';
        request.done = true;
      } else {
        request.chunks.push(message.data.subarray(message.offset, message.offset + packet));
        request.received += packet;
        message.offset += packet;
        if (packet < maxPacket || request.received === request.length) request.done = true;
      }
      if (message.offset === message.data.length && !(message.zlp && message.data.length % maxPacket === 0)) {
        queue.shift();
        request.endsMessages++;
      }
    }
    if (request.done) this.scheduler.after(request.packets * bulkDurationNs(1, maxPacket), TARGET, 'in', request.id);
  }

  private completeIn(id: number): void {
    const at = this.inRequests.findIndex((r) => r.id === id);
    const request = this.inRequests[at];
    if (!request || !request.done) return;
    this.inRequests.splice(at, 1);
    this.finish(id, request.endpoint, request.status, concat(request.chunks, request.received), request.received);
    for (let i = 0; i < request.endsMessages; i++) this.fn?.sent?.(request.endpoint);
    this.pumpIn(request.endpoint);
  }

  private stallPending(endpoint: number): void {
    for (const t of this.out.filter((t) => t.endpoint === endpoint)) {
      this.out.splice(this.out.indexOf(t), 1);
      this.finish(t.id, endpoint, 'stall', null, t.offset);
    }
    for (const r of this.inRequests.filter((r) => r.endpoint === endpoint)) {
      this.inRequests.splice(this.inRequests.indexOf(r), 1);
      this.finish(r.id, endpoint, 'stall', concat(r.chunks, r.received), r.received);
    }
  }

  private abortAll(status: TransferStatus): void {
    for (const c of this.control.splice(0)) this.log.append({ kind: 'usb.control.done', id: c.id, status, data: null, length: 0 });
    for (const t of this.out.splice(0)) this.finish(t.id, t.endpoint, status, null, t.offset);
    for (const r of this.inRequests.splice(0)) this.finish(r.id, r.endpoint, status, concat(r.chunks, r.received), r.received);
    this.inMessages.clear();
    this.scheduler.cancelTarget(TARGET);
  }

  private finish(id: number, endpoint: number, status: TransferStatus, data: Uint8Array | null, length: number): void {
    this.log.append({ kind: 'usb.transfer.done', id, endpoint, status, data, length });
  }

  private headOut(endpoint: number): OutTransfer | undefined {
    return this.out.find((t) => t.endpoint === endpoint);
  }

  /** wMaxPacketSize of an endpoint of the current configuration, or 0 when there is none. */
  private maxPacketSize(endpoint: number): number {
    const { personality, configuration } = this.device.getSnapshot().context;
    const config = personality?.configurations.find((c) => c.value === configuration);
    for (const intf of config?.interfaces ?? []) {
      for (const ep of intf.endpoints) if (ep.address === endpoint) return ep.maxPacketSize;
    }
    return 0;
  }

  private send(event: UsbDeviceEvent): void {
    const before = this.device.getSnapshot();
    this.device.send(event);
    const after = this.device.getSnapshot();
    if (before.value !== after.value || before.context.address !== after.context.address || before.context.configuration !== after.context.configuration) {
      this.log.append({ kind: 'usb.state', state: after.value, address: after.context.address, configuration: after.context.configuration });
    }
  }

  // ---- snapshots

  snapshot(): UsbControllerSnapshot {
    const inMessages: (InMessage & { endpoint: number })[] = [];
    for (const [endpoint, queue] of this.inMessages) for (const m of queue) inMessages.push({ ...m, endpoint });
    const raw = this.rawDescriptors;
    return {
      device: this.device.getPersistedSnapshot(),
      rawDescriptors: raw ? { device: raw.device, configurations: [...raw.configurations], strings: [...raw.strings] } : null,
      out: this.out.map((t) => ({ ...t })),
      inRequests: this.inRequests.map((r) => ({ ...r, chunks: [...r.chunks] })),
      inMessages,
      control: this.control.map((c) => ({ ...c })),
    };
  }

  /** Restores controller state; the function behind it is re-attached by its owner. */
  restore(snapshot: UsbControllerSnapshot, fn: UsbFunction | null): void {
    this.device.stop();
    this.device = createActor(usbDeviceMachine, { snapshot: snapshot.device as SnapshotFrom<typeof usbDeviceMachine> }).start();
    const personality = this.personality;
    this.fn = personality ? fn : null;
    const raw = snapshot.rawDescriptors;
    this.rawDescriptors = raw ? { device: raw.device, configurations: raw.configurations, strings: new Map(raw.strings) } : null;
    this.descriptors = personality ? (this.rawDescriptors ?? buildDescriptors(personality)) : null;
    this.out = snapshot.out.map((t) => ({ ...t }));
    this.inRequests = snapshot.inRequests.map((r) => ({ ...r, chunks: [...r.chunks] }));
    this.inMessages = new Map();
    for (const { endpoint, ...m } of snapshot.inMessages) {
      let queue = this.inMessages.get(endpoint);
      if (!queue) this.inMessages.set(endpoint, (queue = []));
      queue.push({ ...m });
    }
    this.control = snapshot.control.map((c) => ({ ...c }));
  }
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
