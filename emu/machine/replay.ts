import type { ControlCoreFactory } from '../core/control-core.js';
import { sameEvent } from '../events/canonical.js';
import { isInput, type MachineEvent } from '../events/event.js';
import type { MemorySnapshot } from '../memory/shared-memory.js';
import type { ChipModel } from '../models/model.js';
import { Stick, type StickSnapshot } from './stick.js';

export interface Divergence {
  /** Sequence number of the first event that differs. */
  readonly seq: number;
  /** The recorded event, or null when the replay derived an event the recording lacks. */
  readonly expected: MachineEvent | null;
  /** The replayed event, or null when the replay did not derive the recorded one. */
  readonly actual: MachineEvent | null;
  /** The events before it, oldest first (they matched). */
  readonly before: readonly MachineEvent[];
  /** The machine at the moment of divergence, in words. */
  readonly state: string;
  /**
   * Set when every event matched but the machine differs from a snapshot the trace stores
   * (`expected` and `actual` are then null): the first field that differs.
   */
  readonly snapshot?: StateDifference;
}

/** How the re-executed machine differs from a stored snapshot. */
export interface StateDifference {
  /** The snapshot's event and time: the machine is compared just before that input, as it was taken. */
  readonly seq: number;
  readonly t: number;
  /** The first field that differs: `leon.registers.g3`, `devices.tim0.count`, `memory page 0x80300000`, ... */
  readonly field: string;
  /** The field's value in the snapshot, and in the re-executed machine, in words. */
  readonly expected: string;
  readonly actual: string;
}

/** A snapshot stored in a trace, for the replay to hold the machine to when it gets there. */
export interface Checkpoint {
  readonly seq: number;
  readonly t: number;
  /** Reads the snapshot, when the replay reaches it (snapshots are big: one at a time). */
  readonly load: () => StickSnapshot;
}

export interface ReplayResult {
  readonly ok: boolean;
  /** Recorded events checked. */
  readonly events: number;
  readonly divergence: Divergence | null;
  readonly stick: Stick;
}

export interface ReplayOptions {
  readonly leon?: ControlCoreFactory;
  /** How many matched events a divergence report shows. */
  readonly context?: number;
  readonly onProgress?: (checked: number) => void;
  /**
   * Start from this machine (restored from a snapshot) instead of a fresh one; `recorded` then
   * begins at the snapshot's seq.
   */
  readonly start?: Stick;
  /**
   * Stop at the first input after event `until`: the machine then stands where the recording
   * stood just before that input (events at the same instant past `until` included).
   */
  readonly until?: number;
  /** Called before each recorded input is applied (a TraceWriter may attach here). */
  readonly onInput?: (event: MachineEvent, stick: Stick) => void;
  /**
   * Snapshots of the recorded machine, in seq order. A recorder takes one just before an input
   * (Stick.inputHooks), so the replay compares the machine with each one just before it applies
   * the input of the same seq; one at the event after the last (its input did not make it into
   * the trace) is compared once the machine has run to its time, deriving nothing on the way.
   */
  readonly checkpoints?: Iterable<Checkpoint>;
  /**
   * The recording went on past the last event given (a trace cut short by a crash): events the
   * machine derives after it are not a divergence.
   */
  readonly openEnded?: boolean;
}

/**
 * Re-executes a recorded log: a fresh machine gets the recorded inputs at their recorded
 * times, and every event it derives must equal the recorded one. The first difference stops
 * the replay with a report.
 */
export function replay(model: ChipModel, recorded: Iterable<MachineEvent>, options: ReplayOptions = {}): ReplayResult {
  const stick = options.start ?? new Stick({ model, ...(options.leon ? { leon: options.leon } : {}) });
  const produced: MachineEvent[] = [];
  const expected: MachineEvent[] = [];
  const contextSize = options.context ?? 8;
  const before: MachineEvent[] = [];
  let checked = 0;
  let lastT = stick.now;
  stick.log.subscribe((event) => produced.push(event));

  const diverge = (exp: MachineEvent | null, act: MachineEvent | null): ReplayResult => ({
    ok: false,
    events: checked,
    divergence: { seq: exp?.seq ?? act?.seq ?? checked, expected: exp, actual: act, before: [...before], state: describeState(stick) },
    stick,
  });
  const differ = (difference: StateDifference): ReplayResult => ({
    ok: false,
    events: checked,
    divergence: { seq: difference.seq, expected: null, actual: null, before: [...before], state: describeState(stick), snapshot: difference },
    stick,
  });

  const checkpoints = options.checkpoints?.[Symbol.iterator]();
  let checkpoint = checkpoints?.next().value ?? null;
  /**
   * Holds the machine to the snapshots up to event `seq`, where it stands between inputs: the
   * one at `seq` is compared; one before it was not taken before an input, so no moment of the
   * replay is the moment it shows.
   */
  const checkState = (seq: number): StateDifference | null => {
    while (checkpoint !== null && checkpoint.seq <= seq) {
      const { seq: at, t } = checkpoint;
      const difference =
        at < seq
          ? { seq: at, t, field: 'seq', expected: `a snapshot just before the input at event #${at}`, actual: `event #${at} is not an input (the next input is #${seq})` }
          : compareWithSnapshot(stick, checkpoint.load(), at, t);
      if (difference) return difference;
      checkpoint = checkpoints!.next().value ?? null;
    }
    return null;
  };

  /** Compares what both sides have; returns a divergence or null. */
  const compare = (): ReplayResult | null => {
    while (produced.length > 0 && expected.length > 0) {
      const act = produced.shift()!;
      const exp = expected.shift()!;
      if (!sameEvent(act, exp)) return diverge(exp, act);
      before.push(exp);
      if (before.length > contextSize) before.shift();
      checked++;
      if (options.onProgress && checked % 4096 === 0) options.onProgress(checked);
    }
    return null;
  };

  let stopped = false;
  for (const event of recorded) {
    if (event.t < lastT) return diverge(event, null);
    if (options.until !== undefined && event.seq > options.until && isInput(event)) {
      stopped = true;
      break;
    }
    lastT = event.t;
    if (isInput(event)) {
      stick.runUntil(event.t);
      const mismatch = compare();
      if (mismatch) return mismatch;
      // Everything recorded before this input must have been derived by now, and nothing more.
      if (expected.length > 0) return diverge(expected[0]!, null);
      if (produced.length > 0) return diverge(event, produced[0]!);
      const difference = checkState(event.seq);
      if (difference) return differ(difference);
      options.onInput?.(event, stick);
      stick.apply(event);
    }
    expected.push(event);
    const mismatch = compare();
    if (mismatch) return mismatch;
  }
  stick.runUntil(lastT);
  const mismatch = compare();
  if (mismatch) return mismatch;
  if (expected.length > 0) return diverge(expected[0]!, null);
  // Stopped early, the machine may have derived events at the last instant the trace has later;
  // a trace cut short ends wherever the recorder was stopped.
  if (produced.length > 0 && !stopped && !options.openEnded) return diverge(null, produced[0]!);
  if (!stopped && checkpoint !== null) {
    // A snapshot after the last event: taken before an input the trace does not hold. Nothing
    // happened between the last event and it, so the machine runs to its time deriving nothing.
    const next = stick.log.length - produced.length;
    if (checkpoint.seq === next) {
      if (checkpoint.t > stick.now && produced.length === 0) stick.runUntil(checkpoint.t);
      if (produced.length > 0) return diverge(null, produced[0]!);
    }
    const difference = checkState(next);
    if (difference) return differ(difference);
    if (checkpoint !== null) {
      const { seq: at, t } = checkpoint as Checkpoint;
      return differ({ seq: at, t, field: 'seq', expected: `a snapshot just before the input at event #${at}`, actual: `the trace ends at event #${next - 1}` });
    }
  }
  options.onProgress?.(checked);
  return { ok: true, events: checked, divergence: null, stick };
}

// ---- the machine against a snapshot

/**
 * The order fields are compared in, so that the field reported first says most: who the machine
 * is and where its log stands, then the cores and devices, the USB side, then the scheduler's
 * queue and memory (which differ as a consequence of almost anything).
 */
const FIELD_ORDER = ['format', 'version', 'model', 'chipId', 'seq', 'powered', 'halted', 'nextInputId', 'core', 'devices', 'usb', 'rom', 'scheduler', 'memory'];

/**
 * The first field in which the machine differs from `expected` (a snapshot read back from a
 * trace), or null. Values are compared as the trace stored them: JSON, with byte arrays kept as
 * bytes, so a missing key and an undefined one are the same, as are NaN and null.
 */
export function compareWithSnapshot(stick: Stick, expected: StickSnapshot, seq: number, t: number): StateDifference | null {
  const actual = stick.snapshot() as unknown as Record<string, unknown>;
  const stored = expected as unknown as Record<string, unknown>;
  if (stored === null || typeof stored !== 'object') return { seq, t, field: 'snapshot', expected: describeValue(stored), actual: 'a machine' };
  const keys = [...new Set([...FIELD_ORDER, ...Object.keys(actual), ...Object.keys(stored)])];
  for (const key of keys) {
    if (key === 'memory') {
      const memory = compareMemory(stick, stored.memory, (actual as unknown as StickSnapshot).memory);
      if (memory) return { seq, t, ...memory };
      continue;
    }
    const found = firstDifference(stored[key], actual[key], key);
    if (found) return { seq, t, field: nameField(found.path, stick, expected), expected: describeValue(found.expected), actual: describeValue(found.actual) };
  }
  return null;
}

interface ValueDifference {
  readonly path: string;
  readonly expected: unknown;
  readonly actual: unknown;
}

/** What a value is once stored as JSON: undefined and functions are absent, NaN and infinities null. */
function stored(value: unknown): unknown {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
}

const ABSENT = Symbol('absent');

function firstDifference(expectedValue: unknown, actualValue: unknown, path: string): ValueDifference | null {
  const e = stored(expectedValue);
  const a = stored(actualValue);
  if (e instanceof Uint8Array || a instanceof Uint8Array) {
    if (!(e instanceof Uint8Array) || !(a instanceof Uint8Array)) return { path, expected: e, actual: a };
    const n = Math.min(e.length, a.length);
    for (let i = 0; i < n; i++) if (e[i] !== a[i]) return { path: `${path}[${i}]`, expected: e[i], actual: a[i] };
    return e.length === a.length ? null : { path: `${path}.length`, expected: e.length, actual: a.length };
  }
  const eObject = e !== null && typeof e === 'object';
  const aObject = a !== null && typeof a === 'object';
  if (!eObject || !aObject) return e === a ? null : { path, expected: e === undefined ? ABSENT : e, actual: a === undefined ? ABSENT : a };
  if (Array.isArray(e) !== Array.isArray(a)) return { path, expected: e, actual: a };
  if (Array.isArray(e) && Array.isArray(a)) {
    const n = Math.min(e.length, a.length);
    // In an array, an undefined element is stored as null.
    for (let i = 0; i < n; i++) {
      const found = firstDifference(e[i] === undefined ? null : e[i], a[i] === undefined ? null : a[i], `${path}[${i}]`);
      if (found) return found;
    }
    return e.length === a.length ? null : { path: `${path}.length`, expected: e.length, actual: a.length };
  }
  const eRecord = e as Record<string, unknown>;
  const aRecord = a as Record<string, unknown>;
  for (const key of new Set([...Object.keys(aRecord), ...Object.keys(eRecord)])) {
    const found = firstDifference(eRecord[key], aRecord[key], /^\d+$/.test(key) ? `${path}[${key}]` : `${path}.${key}`);
    if (found) return found;
  }
  return null;
}

/** Memory: the snapshot's non-zero pages against the machine's, lowest address first. */
function compareMemory(stick: Stick, expected: unknown, actual: MemorySnapshot): { field: string; expected: string; actual: string } | null {
  const pages = (expected as { pages?: unknown } | null)?.pages;
  const valid = Array.isArray(pages) && pages.every((p: { offset?: unknown; bytes?: unknown } | null) => Number.isSafeInteger(p?.offset) && p!.bytes instanceof Uint8Array);
  if (!valid) return { field: 'memory', expected: describeValue(expected), actual: 'a list of memory pages' };
  const want = new Map<number, Uint8Array>();
  for (const page of pages as { offset: number; bytes: Uint8Array }[]) want.set(page.offset, page.bytes);
  const have = new Map<number, Uint8Array>();
  for (const page of actual.pages) have.set(page.offset, page.bytes);
  const offsets = [...new Set([...want.keys(), ...have.keys()])].sort((x, y) => x - y);
  for (const offset of offsets) {
    const e = want.get(offset);
    const a = have.get(offset);
    if (e && a && Buffer.compare(e, a) === 0) continue;
    const length = Math.max(e?.length ?? 0, a?.length ?? 0);
    for (let i = 0; i < length; i++) {
      // A page missing from a snapshot holds zeros.
      const x = e ? e[i] : 0;
      const y = a ? a[i] : 0;
      if (x === y) continue;
      const address = busAddress(stick, offset + i);
      const where = address === null ? `offset 0x${(offset + i).toString(16)} of the memory` : `0x${address.toString(16).padStart(8, '0')}`;
      const byte = (v: number | undefined) => (v === undefined ? 'no byte (the page is shorter)' : `0x${v.toString(16).padStart(2, '0')}`);
      const page = busAddress(stick, offset);
      return { field: `memory page ${page === null ? `at offset 0x${offset.toString(16)}` : `0x${page.toString(16).padStart(8, '0')}`}`, expected: `${byte(x)} at ${where}`, actual: byte(y) };
    }
  }
  return null;
}

/** The bus address of a byte of the memory, or null outside every RAM. */
function busAddress(stick: Stick, offset: number): number | null {
  for (const region of stick.memory.regions) if (offset >= region.offset && offset < region.offset + region.size) return region.base + (offset - region.offset);
  return null;
}

const SPARC_REGISTERS = new Set(['pc', 'npc', 'y', 'psr', 'wim', 'tba', 'tt', 'fsr', 'irl']);

/**
 * A snapshot path as a reader of the report knows the field: the LEON's registers by their
 * SPARC names (windowed ones relative to the snapshot's CWP), register files by offset.
 */
function nameField(path: string, stick: Stick, expected: StickSnapshot): string {
  const cpu = (expected.core as { cpu?: { regs?: unknown; psr?: unknown } } | null)?.cpu;
  const leon = /^core\.cpu\.(\w+)(?:\[(\d+)\])?(.*)$/.exec(path);
  if (leon && cpu && Array.isArray(cpu.regs)) {
    const [, field, index, rest] = leon as unknown as [string, string, string | undefined, string];
    if (field === 'regs' && index !== undefined && rest === '') return `leon.registers.${windowedName(Number(index), cpu.regs.length, Number(cpu.psr) & 31)}`;
    if ((field === 'f' || field === 'asr') && index !== undefined && rest === '') return `leon.registers.${field}${index}`;
    if (SPARC_REGISTERS.has(field) && index === undefined) return `leon.registers.${field}${rest}`;
    return `leon.${path.slice('core.cpu.'.length)}`;
  }
  if (path.startsWith('core.') && cpu) return `leon.${path.slice('core.'.length)}`;
  const words = /^devices\.([\w-]+)\[(\d+)\]$/.exec(path);
  if (words) {
    const device = stick.devices.get(words[1]!) as { size?: unknown; snapshot(): unknown } | undefined;
    const state = device?.snapshot();
    if (device && Array.isArray(state) && typeof device.size === 'number' && state.length * 4 === device.size) return `devices.${words[1]} register +0x${(Number(words[2]) * 4).toString(16)}`;
  }
  return path;
}

/** regs[i] of a SPARC core with its windows: globals, then 16 registers (outs, locals) per window. */
function windowedName(i: number, count: number, cwp: number): string {
  if (i < 8) return `g${i}`;
  if (i === count - 1) return 'g0 (where writes to %g0 go)';
  const windows = (count - 9) / 16;
  const window = (i - 8) >> 4;
  const k = (i - 8) & 15;
  if (window === cwp) return k < 8 ? `o${k}` : `l${k - 8}`;
  // The current window's ins are the outs of the window after it.
  if (window === (cwp + 1) % windows && k < 8) return `i${k}`;
  return `window${window}.${k < 8 ? `o${k}` : `l${k - 8}`}`;
}

function describeValue(value: unknown): string {
  if (value === ABSENT || value === undefined) return '(absent)';
  if (typeof value === 'number' && Number.isSafeInteger(value) && (value < 0 || value > 9) && value >= -0x80000000 && value <= 0xffffffff) return `${value} (0x${(value >>> 0).toString(16)})`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  const text = JSON.stringify(value, (_key, v: unknown) => (v instanceof Uint8Array ? `(${v.length} bytes)` : v));
  return text.length > 160 ? `${text.slice(0, 160)}...` : text;
}

export function describeState(stick: Stick): string {
  const usb = stick.usb;
  return [
    `t=${(stick.now / 1e9).toFixed(6)}s`,
    `power=${stick.powered ? 'on' : 'off'}`,
    `usb=${usb.state} address=${usb.address} configuration=${usb.configuration}`,
    `rom=${stick.rom.phase}`,
    `events=${stick.log.length}`,
    ...(stick.halted ? [`halted: ${stick.halted}`] : []),
  ].join(' ') + (stick.core?.describe ? `\n${stick.core.describe()}` : '');
}
