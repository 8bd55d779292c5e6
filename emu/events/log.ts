import type { EventBody, MachineEvent } from './event.js';

/**
 * Called with every event, and its sequence number and time (also in the event): a listener on
 * the hot path can take them from here instead of loading them from events of many shapes.
 */
export type EventListener = (event: MachineEvent, seq: number, t: number) => void;

/** What the log needs to know about time: the scheduler's clock. */
export interface Clock {
  readonly now: number;
}

/**
 * The append-only event log of one machine. It keeps only the most recent events itself
 * (for reports); whoever needs the whole history subscribes (a recorder, a hasher, a trace
 * writer, the host API). Memory therefore stays bounded however long a stick runs.
 */
export class EventLog {
  private nextSeq = 0;
  private readonly listeners: EventListener[] = [];
  private readonly recentRing: (MachineEvent | undefined)[];
  private ringPos = 0;

  constructor(
    private readonly clock: Clock,
    recentCapacity = 64,
  ) {
    this.recentRing = new Array(recentCapacity).fill(undefined);
  }

  /** The sequence number the next event will get: the number of events so far. */
  get length(): number {
    return this.nextSeq;
  }

  /** Stamps the event with its sequence number and the current virtual time, and publishes it. */
  append(body: EventBody): MachineEvent {
    const event = body as MachineEvent;
    const seq = this.nextSeq++;
    const t = this.clock.now;
    event.seq = seq;
    event.t = t;
    this.recentRing[this.ringPos] = event;
    this.ringPos = this.ringPos + 1 === this.recentRing.length ? 0 : this.ringPos + 1;
    const listeners = this.listeners;
    for (let i = 0; i < listeners.length; i++) listeners[i]!(event, seq, t);
    return event;
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  /** The last `count` events, oldest first. */
  recent(count = this.recentRing.length): MachineEvent[] {
    const out: MachineEvent[] = [];
    const n = this.recentRing.length;
    for (let i = 0; i < n; i++) {
      const event = this.recentRing[(this.ringPos + i) % n];
      if (event) out.push(event);
    }
    return out.slice(Math.max(0, out.length - count));
  }

  /** Continues numbering after a restored snapshot. */
  resumeAt(seq: number): void {
    this.nextSeq = seq;
    this.recentRing.fill(undefined);
    this.ringPos = 0;
  }
}

/** Keeps every event in memory: for tests, the demo and small recordings. */
export class EventRecorder {
  readonly events: MachineEvent[] = [];
  readonly stop: () => void;
  constructor(log: EventLog) {
    this.stop = log.subscribe((event) => this.events.push(event));
  }
}
