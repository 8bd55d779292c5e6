import type { ControlCoreFactory } from '../core/control-core.js';
import { sameEvent } from '../events/canonical.js';
import { isInput, type MachineEvent } from '../events/event.js';
import type { ChipModel } from '../models/model.js';
import { Stick } from './stick.js';

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
  // Stopped early, the machine may have derived events at the last instant the trace has later.
  if (produced.length > 0 && !stopped) return diverge(null, produced[0]!);
  options.onProgress?.(checked);
  return { ok: true, events: checked, divergence: null, stick };
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
