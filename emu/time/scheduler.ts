/**
 * Virtual time and the deterministic scheduler of one machine.
 *
 * A task is data (who, what, one number), not a closure, so that the whole queue can be
 * snapshotted and restored. Tasks run in time order; tasks due at the same time run in the
 * order they were scheduled.
 */

export interface Task {
  readonly t: number;
  readonly order: number;
  /** The component that handles the task. */
  readonly target: string;
  readonly action: string;
  readonly arg: number;
}

export interface SchedulerSnapshot {
  readonly now: number;
  readonly order: number;
  readonly tasks: readonly Task[];
}

export type TaskHandler = (task: Task) => void;

/** More tasks than this at one instant means a component is livelocked. */
export const MAX_TASKS_PER_INSTANT = 1_000_000;

export class Scheduler {
  /** Virtual time in nanoseconds. */
  now = 0;
  private order = 0;
  private heap: Task[] = [];

  at(t: number, target: string, action: string, arg = 0): void {
    if (!(t >= this.now)) throw new RangeError(`task ${target}.${action} scheduled in the past (${t} < ${this.now})`);
    this.push({ t, order: this.order++, target, action, arg });
  }

  after(delayNs: number, target: string, action: string, arg = 0): void {
    this.at(this.now + delayNs, target, action, arg);
  }

  /** Time of the earliest task, or Infinity when there is none. */
  nextTime(): number {
    return this.heap.length > 0 ? this.heap[0]!.t : Infinity;
  }

  get pending(): number {
    return this.heap.length;
  }

  /**
   * Runs every task due at or before `t` (including tasks that those tasks schedule for
   * times up to `t`), then sets the clock to `t`. Returns false, leaving the clock at the
   * livelocked instant, when one instant runs more than MAX_TASKS_PER_INSTANT tasks.
   */
  runUntil(t: number, handle: TaskHandler): boolean {
    let sameInstant = 0;
    let instant = -1;
    while (this.heap.length > 0 && this.heap[0]!.t <= t) {
      const task = this.pop();
      if (task.t !== instant) {
        instant = task.t;
        sameInstant = 0;
      }
      if (++sameInstant > MAX_TASKS_PER_INSTANT) {
        this.push(task);
        return false;
      }
      this.now = task.t;
      handle(task);
    }
    if (t > this.now) this.now = t;
    return true;
  }

  /** Drops every task of one component (it was powered off or reset). */
  cancelTarget(target: string): void {
    const kept = this.heap.filter((task) => task.target !== target);
    this.heap = [];
    for (const task of kept.sort(compareTasks)) this.push(task);
  }

  snapshot(): SchedulerSnapshot {
    return { now: this.now, order: this.order, tasks: [...this.heap].sort(compareTasks) };
  }

  restore(snapshot: SchedulerSnapshot): void {
    this.now = snapshot.now;
    this.order = snapshot.order;
    this.heap = [];
    for (const task of snapshot.tasks) this.push(task);
  }

  private push(task: Task): void {
    const heap = this.heap;
    heap.push(task);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (compareTasks(heap[parent]!, task) <= 0) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = task;
  }

  private pop(): Task {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && compareTasks(heap[right]!, heap[left]!) < 0 ? right : left;
        if (compareTasks(last, heap[child]!) <= 0) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}

function compareTasks(a: Task, b: Task): number {
  return a.t - b.t || a.order - b.order;
}

export const NS_PER_US = 1_000;
export const NS_PER_MS = 1_000_000;
export const NS_PER_S = 1_000_000_000;
