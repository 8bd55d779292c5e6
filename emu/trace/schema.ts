import type { EventKind } from '../events/event.js';

/**
 * The fields of every event kind: what a trace reader accepts (anything else is an error). The
 * order is part of the trace format: kinds are numbered in this order (EVENT_KINDS), and an
 * events record holds its fields in this order. Add new kinds and fields at the end.
 */
export const FIELDS: Record<EventKind, Record<string, 'number' | 'string' | 'boolean' | 'bytes' | 'bytes?'>> = {
  'host.plug': {},
  'host.unplug': {},
  'host.reset': {},
  'host.control': { id: 'number', setup: 'bytes', data: 'bytes?' },
  'host.transfer': { id: 'number', endpoint: 'number', length: 'number', data: 'bytes?' },
  'host.cancel': { id: 'number' },
  'machine.power': { on: 'boolean' },
  'machine.halt': { reason: 'string' },
  'machine.reset': { reason: 'string' },
  irq: { line: 'number', active: 'boolean' },
  'console.line': { device: 'string', text: 'string' },
  'device.error': { device: 'string', reason: 'string' },
  'usb.connect': { vendorId: 'number', productId: 'number', speed: 'string' },
  'usb.disconnect': { reason: 'string' },
  'usb.state': { state: 'string', address: 'number', configuration: 'number' },
  'usb.control.done': { id: 'number', status: 'string', data: 'bytes?', length: 'number' },
  'usb.transfer.done': { id: 'number', endpoint: 'number', status: 'string', data: 'bytes?', length: 'number' },
  'usb.halt': { endpoint: 'number', halted: 'boolean' },
  'bus.read': { initiator: 'string', target: 'string', addr: 'number', size: 'number', value: 'number' },
  'bus.write': { initiator: 'string', target: 'string', addr: 'number', size: 'number', value: 'number' },
  'bus.error': { initiator: 'string', access: 'string', addr: 'number', size: 'number', reason: 'string' },
  'rom.record': { offset: 'number', op: 'string', addr: 'number', value: 'number', length: 'number', text: 'string' },
  'rom.phase': { phase: 'string' },
  'rom.error': { offset: 'number', reason: 'string' },
  'core.start': { core: 'string', pc: 'number', mode: 'string' },
  'core.return': { core: 'string' },
  'core.halt': { core: 'string', pc: 'number', reason: 'string' },
  'shave.start': { core: 'number', pc: 'number' },
  'shave.halt': { core: 'number', pc: 'number', reason: 'string', code: 'number', cycles: 'number' },
  'shave.error': { core: 'number', pc: 'number', cause: 'string', addr: 'number' },
};

/**
 * Kind codes in trace files: a kind's position in this list. The list only ever grows at the
 * end, since recorded traces hold these numbers.
 */
export const EVENT_KINDS: readonly EventKind[] = Object.keys(FIELDS) as EventKind[];

/** Per kind, its fields with their types and numeric bounds, worked out once. */
const CHECKS: Readonly<Record<string, readonly { readonly key: string; readonly type: string; readonly max: number; readonly bound: string }[]>> = Object.fromEntries(
  Object.entries(FIELDS).map(([kind, fields]) => [
    kind,
    Object.entries(fields).map(([key, type]) => {
      // Every number in an event is a register-sized unsigned integer; ids go up to 2^53,
      // endpoints to 255.
      const [max, bound] =
        key === 'id' ? [Number.MAX_SAFE_INTEGER, 'a non-negative integer'] : key === 'endpoint' ? [0xff, 'an integer from 0 to 255'] : [0xffffffff, 'an unsigned 32-bit integer'];
      return { key, type, max, bound };
    }),
  ]),
);

/** Why a parsed value is not an event of this format, or null when it is. */
export function checkEvent(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'an event must be a JSON object';
  const e = value as Record<string, unknown>;
  if (!Number.isSafeInteger(e.seq) || (e.seq as number) < 0) return 'seq must be a non-negative integer';
  // Virtual nanoseconds: up to 2^53 (104 days), so every time has an exact value.
  if (!Number.isSafeInteger(e.t) || (e.t as number) < 0) return 't must be a whole number of nanoseconds from 0 to 2^53';
  if (typeof e.kind !== 'string' || !Object.prototype.hasOwnProperty.call(FIELDS, e.kind)) return `unknown event kind ${JSON.stringify(e.kind)}`;
  const fields = FIELDS[e.kind as EventKind];
  const checks = CHECKS[e.kind]!;
  for (const key in e) {
    if (!Object.prototype.hasOwnProperty.call(e, key)) continue;
    if (key !== 'seq' && key !== 't' && key !== 'kind' && !(key in fields)) return `${e.kind} has an unknown field ${key}`;
  }
  for (const { key, type, max, bound } of checks) {
    const v = e[key];
    const ok =
      type === 'bytes' ? v instanceof Uint8Array : type === 'bytes?' ? v === null || v instanceof Uint8Array : type === 'number' ? typeof v === 'number' && Number.isFinite(v) : typeof v === type;
    if (!ok) return `${e.kind}.${key} must be ${type === 'bytes?' ? 'bytes or null' : type}`;
    if (type === 'number' && !(Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max)) return `${e.kind}.${key} must be ${bound}`;
  }
  if (e.kind === 'host.control' && (e.setup as Uint8Array).length !== 8) return 'host.control.setup must be 8 bytes';
  if (e.kind === 'host.transfer') {
    if ((e.endpoint as number) & 0x80 ? e.data !== null : !(e.data instanceof Uint8Array) || e.data.length !== e.length) {
      return 'host.transfer.data must be null for IN endpoints and length bytes for OUT endpoints';
    }
  }
  return null;
}
