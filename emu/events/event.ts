/**
 * Every bus transaction of a machine is one of these events. Events whose kind starts with
 * `host.` are inputs: the only non-determinism a machine has. Everything else is derived,
 * and replay checks that re-executing the inputs derives the same events again.
 *
 * `t` is virtual time in nanoseconds since the machine was created; `seq` numbers the events
 * of one machine from 0 without gaps.
 */

export type TransferStatus = 'ok' | 'stall' | 'babble' | 'no-device' | 'cancelled';

/** Who started a bus access. */
export type Initiator = string;

export type RomOp = 'magic' | 'name' | 'write8' | 'write32' | 'load' | 'call' | 'send' | 'jump';

export type RomPhase = 'awaiting-magic' | 'parsing' | 'calling' | 'sending' | 'error' | 'jumped';

export type MachineEvent =
  // ---- inputs: what the host (or the person holding the stick) does
  | { seq: number; t: number; kind: 'host.plug' }
  | { seq: number; t: number; kind: 'host.unplug' }
  | { seq: number; t: number; kind: 'host.reset' }
  | {
      seq: number;
      t: number;
      kind: 'host.control';
      id: number;
      /** The 8 setup bytes exactly as on the wire. */
      setup: Uint8Array;
      /** OUT data stage, or null for IN requests and requests without data. */
      data: Uint8Array | null;
    }
  | {
      seq: number;
      t: number;
      kind: 'host.transfer';
      id: number;
      /** bEndpointAddress: bit 7 set for IN. */
      endpoint: number;
      /** Bytes requested for IN; bytes sent for OUT. */
      length: number;
      /** OUT data, or null for IN. */
      data: Uint8Array | null;
    }
  | { seq: number; t: number; kind: 'host.cancel'; id: number }
  // ---- power and USB, derived
  | { seq: number; t: number; kind: 'machine.power'; on: boolean }
  /** The machine stopped itself (a component livelocked); only a new plug starts it again. */
  | { seq: number; t: number; kind: 'machine.halt'; reason: string }
  /** A chip reset (the watchdog): cores stop, devices reset, the boot ROM comes back. */
  | { seq: number; t: number; kind: 'machine.reset'; reason: string }
  // ---- SoC devices, derived
  | { seq: number; t: number; kind: 'irq'; line: number; active: boolean }
  | { seq: number; t: number; kind: 'console.line'; device: string; text: string }
  | { seq: number; t: number; kind: 'device.error'; device: string; reason: string }
  | { seq: number; t: number; kind: 'usb.connect'; vendorId: number; productId: number; speed: string }
  | { seq: number; t: number; kind: 'usb.disconnect'; reason: string }
  | { seq: number; t: number; kind: 'usb.state'; state: string; address: number; configuration: number }
  | {
      seq: number;
      t: number;
      kind: 'usb.control.done';
      id: number;
      status: TransferStatus;
      /** IN data returned, or null. */
      data: Uint8Array | null;
      /** Bytes moved in the data stage. */
      length: number;
    }
  | {
      seq: number;
      t: number;
      kind: 'usb.transfer.done';
      id: number;
      endpoint: number;
      status: TransferStatus;
      data: Uint8Array | null;
      length: number;
    }
  | { seq: number; t: number; kind: 'usb.halt'; endpoint: number; halted: boolean }
  // ---- SoC bus, derived
  | { seq: number; t: number; kind: 'bus.read'; initiator: Initiator; target: string; addr: number; size: number; value: number }
  | { seq: number; t: number; kind: 'bus.write'; initiator: Initiator; target: string; addr: number; size: number; value: number }
  | {
      seq: number;
      t: number;
      kind: 'bus.error';
      initiator: Initiator;
      access: 'read' | 'write';
      addr: number;
      size: number;
      reason: string;
    }
  // ---- boot ROM, derived
  | {
      seq: number;
      t: number;
      kind: 'rom.record';
      /** Byte offset of the record in the stream since the last ROM reset. */
      offset: number;
      op: RomOp;
      addr: number;
      /** write8/write32 value, 0 otherwise. */
      value: number;
      /** load/send length in bytes, name length, 0 otherwise. */
      length: number;
      /** The section name of an A8 record, '' otherwise. */
      text: string;
    }
  | { seq: number; t: number; kind: 'rom.phase'; phase: RomPhase }
  | { seq: number; t: number; kind: 'rom.error'; offset: number; reason: string }
  // ---- cores, derived
  | { seq: number; t: number; kind: 'core.start'; core: string; pc: number; mode: 'call' | 'jump' | 'interrupt' }
  | { seq: number; t: number; kind: 'core.return'; core: string }
  | { seq: number; t: number; kind: 'core.halt'; core: string; pc: number; reason: string }
  // ---- SHAVE cores, derived: started by the LEON, halted by swih or a stop, or faulted.
  // Their loads and stores are not events; they are counted (emu/shave/cores.ts).
  | { seq: number; t: number; kind: 'shave.start'; core: number; pc: number }
  /** `cycles` since the start, saturating at 2^32 - 1; `code` the swih operand (0 for a stop). */
  | { seq: number; t: number; kind: 'shave.halt'; core: number; pc: number; reason: 'swih' | 'stopped'; code: number; cycles: number }
  | { seq: number; t: number; kind: 'shave.error'; core: number; pc: number; cause: string; addr: number };

export type EventKind = MachineEvent['kind'];

type Distribute<E> = E extends MachineEvent ? Omit<E, 'seq' | 't'> : never;
/** An event before the log has stamped it with its sequence number and time. */
export type EventBody = Distribute<MachineEvent>;

export type EventOf<K extends EventKind> = Extract<MachineEvent, { kind: K }>;

export function isInput(event: { kind: string }): boolean {
  return event.kind.startsWith('host.');
}
