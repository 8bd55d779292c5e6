import type { EventOf, MachineEvent } from '../../emu/events/event.js';
import { EventRecorder } from '../../emu/events/log.js';
import { Stick, type StickOptions } from '../../emu/machine/stick.js';
import { encodeSetup, type SetupPacket } from '../../emu/usb/setup.js';

type Done = EventOf<'usb.control.done'> | EventOf<'usb.transfer.done'>;

/**
 * Drives one Stick without the hub: each call submits an input and runs virtual time until
 * the transfer ends (or `limitMs` passed, which returns null: a transfer still pending).
 */
export class DirectHost {
  readonly stick: Stick;
  readonly recorder: EventRecorder;

  constructor(options: StickOptions) {
    this.stick = new Stick(options);
    this.recorder = new EventRecorder(this.stick.log);
  }

  get events(): MachineEvent[] {
    return this.recorder.events;
  }

  /** Plug, reset, address 1, configuration 1. */
  enumerate(): this {
    this.stick.plug();
    this.stick.busReset();
    this.mustControl({ requestType: 0x00, request: 5, value: 1, index: 0, length: 0 });
    this.mustControl({ requestType: 0x00, request: 9, value: 1, index: 0, length: 0 });
    return this;
  }

  control(setup: SetupPacket, data: Uint8Array | null = null, limitMs = 100): EventOf<'usb.control.done'> | null {
    const id = this.stick.control(encodeSetup(setup), data);
    return this.waitDone(id, limitMs) as EventOf<'usb.control.done'> | null;
  }

  mustControl(setup: SetupPacket, data: Uint8Array | null = null): EventOf<'usb.control.done'> {
    const done = this.control(setup, data);
    if (!done || done.status !== 'ok') throw new Error(`control ${JSON.stringify(setup)} ended with ${done?.status ?? 'nothing'}`);
    return done;
  }

  out(endpoint: number, data: Uint8Array, limitMs = 1000): EventOf<'usb.transfer.done'> | null {
    return this.waitDone(this.stick.transfer(endpoint, 0, data), limitMs) as EventOf<'usb.transfer.done'> | null;
  }

  in(endpoint: number, length: number, limitMs = 1000): EventOf<'usb.transfer.done'> | null {
    return this.waitDone(this.stick.transfer(endpoint, length, null), limitMs) as EventOf<'usb.transfer.done'> | null;
  }

  /** Submits without waiting; returns the transfer id. */
  submit(endpoint: number, length: number, data: Uint8Array | null): number {
    return this.stick.transfer(endpoint, length, data);
  }

  run(ms: number): void {
    this.stick.runUntil(this.stick.now + ms * 1e6);
  }

  done(id: number): Done | undefined {
    return this.events.find((e): e is Done => (e.kind === 'usb.transfer.done' || e.kind === 'usb.control.done') && e.id === id);
  }

  waitDone(id: number, limitMs: number): Done | null {
    const deadline = this.stick.now + limitMs * 1e6;
    for (;;) {
      const done = this.done(id);
      if (done) return done;
      const next = this.stick.nextTime();
      if (next > deadline) {
        this.stick.runUntil(deadline);
        return this.done(id) ?? null;
      }
      this.stick.runUntil(next);
    }
  }

  of<K extends MachineEvent['kind']>(kind: K): EventOf<K>[] {
    return this.events.filter((e): e is EventOf<K> => e.kind === kind);
  }
}
