/**
 * Replaying a trace file: restore one of its snapshots, then re-execute the recorded inputs from
 * there and check every derived event (machine/replay.ts does the checking).
 */
import type { ControlCoreFactory } from '../core/control-core.js';
import type { MachineEvent } from '../events/event.js';
import { replay, type Checkpoint, type ReplayResult } from '../machine/replay.js';
import { Stick } from '../machine/stick.js';
import { findModel } from '../models/index.js';
import { Chunk, TraceError, type TraceReader } from './format.js';

export interface TraceReplayOptions {
  /** Start from the last snapshot at or before this event (default: where the trace starts). */
  readonly near?: number;
  /** Stop at the first input after this event (see ReplayOptions.until). */
  readonly until?: number;
  readonly leon?: ControlCoreFactory;
  readonly onProgress?: (checked: number) => void;
  readonly onInput?: (event: MachineEvent, stick: Stick) => void;
}

export interface TraceReplayResult extends ReplayResult {
  /** The event the replay started at (a snapshot's seq). */
  readonly startSeq: number;
}

/** The machine of the snapshot nearest before event `near` (or the first one), and its seq. */
export function restoreFromTrace(reader: TraceReader, near?: number, leon?: ControlCoreFactory): { stick: Stick; seq: number; offset: number | null } {
  const header = reader.header;
  const model = findModel(header.model);
  if (!model) throw new TraceError(reader.path, 0, `the trace is of unknown model '${header.model}'`);
  // The snapshot at or before `near`; a trace that begins at power-on (event 0) also starts
  // from a fresh machine; a trimmed trace starts no earlier than its first snapshot.
  const fromStart = reader.index.chunks.find((c) => c.kind === Chunk.EVENTS)?.firstSeq === 0;
  const firstSnapshot = reader.index.chunks.find((c) => c.kind === Chunk.SNAPSHOT);
  const found = reader.snapshotAtOrBefore(near ?? 0) ?? (fromStart || !firstSnapshot ? null : reader.snapshotAtOrBefore(firstSnapshot.firstSeq));
  if (!found) {
    if (!fromStart && reader.index.events > 0) throw new TraceError(reader.path, 0, 'the trace neither begins at power-on nor holds a snapshot to start from');
    return { stick: new Stick({ model, chipId: BigInt(`0x${header.chipId}`), ...(leon ? { leon } : {}) }), seq: 0, offset: null };
  }
  const { offset } = found;
  if (found.snapshot.model !== header.model) throw new TraceError(reader.path, offset, `a snapshot of a ${found.snapshot.model} in a trace of a ${header.model}`);
  try {
    return { stick: Stick.restore(found.snapshot, leon ? { leon } : {}), seq: found.seq, offset };
  } catch (error) {
    // A snapshot that passed the reader's checks but does not make a machine: still the file's fault.
    throw new TraceError(reader.path, offset, `the snapshot does not restore: ${(error as Error).message}`);
  }
}

/**
 * The snapshots the replay from event `from` holds the machine to: every one from there on but
 * the one it starts from, in event order, each read only when the replay gets to it.
 */
function checkpoints(reader: TraceReader, from: number, restored: number | null): Checkpoint[] {
  return reader.index.chunks
    .filter((c) => c.kind === Chunk.SNAPSHOT && c.firstSeq >= from && c.offset !== restored)
    .sort((a, b) => a.firstSeq - b.firstSeq)
    .map((c) => ({ seq: c.firstSeq, t: c.firstT, load: () => reader.readSnapshot(c).snapshot }));
}

export function replayTrace(reader: TraceReader, options: TraceReplayOptions = {}): TraceReplayResult {
  const { stick, seq, offset } = restoreFromTrace(reader, options.near, options.leon);
  const result = replay(stick.model, reader.events(seq), {
    start: stick,
    checkpoints: checkpoints(reader, seq, offset),
    // A trace recovered after a crash ends where the writer was stopped, not where the run did.
    openEnded: reader.recovered !== null,
    ...(options.until !== undefined ? { until: options.until } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.onInput ? { onInput: options.onInput } : {}),
  });
  return { ...result, startSeq: seq };
}
