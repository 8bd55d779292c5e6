import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalJson, fromCanonical, hashEvents } from '../../emu/events/canonical.js';
import { isInput, type MachineEvent } from '../../emu/events/event.js';
import { EventRecorder } from '../../emu/events/log.js';
import { bootDevice } from '../../emu/host/boot.js';
import { Hub } from '../../emu/host/hub.js';
import { replay, type Checkpoint } from '../../emu/machine/replay.js';
import { Stick, type StickSnapshot } from '../../emu/machine/stick.js';
import { ma2485 } from '../../emu/models/index.js';
import { encodeMvcmd } from '../../emu/rom/mvcmd.js';

const IMAGE = readFileSync(new URL('../../firmware-stubs/idle-loop/idle-loop.mvcmd', import.meta.url));

/** A whole session: enumerate, a bad stream, reset, a ROM send read back, a boot in packets. */
async function session(): Promise<MachineEvent[]> {
  const hub = new Hub();
  const port = hub.plug({ model: 'ma2485', record: true });
  await hub.sleep(300);
  const [device] = await hub.usb.getDevices();
  await device!.open();
  await device!.selectConfiguration(1);
  await device!.claimInterface(0);
  await device!.transferOut(1, Uint8Array.of(0xde, 0xad));
  await device!.reset();
  await device!.transferOut(1, encodeMvcmd([{ op: 'magic' }, { op: 'write32', addr: 0x70000000, value: 0x01020304 }, { op: 'send', addr: 0x70000000, length: 4 }]));
  await device!.transferIn(1, 512);
  await bootDevice(hub.usb, device!, IMAGE, { sleep: (ms) => hub.sleep(ms), chunkSize: 4096, reattachTimeoutMs: 20 });
  return port.recorder!.events;
}

describe('determinism and replay', () => {
  it('the same inputs give a byte-identical log', async () => {
    const a = await session();
    const b = await session();
    expect(a.length).toBeGreaterThan(100);
    expect(hashEvents(b)).toBe(hashEvents(a));
  });

  it('replaying a recorded log re-derives every event', async () => {
    const events = await session();
    const result = replay(ma2485, events);
    expect(result.divergence).toBeNull();
    expect(result.ok).toBe(true);
    expect(result.events).toBe(events.length);
  });

  it('replay of a tampered derived event stops at that event with expected and actual', async () => {
    const events = await session();
    const at = events.findIndex((e) => e.kind === 'usb.control.done' && e.data !== null && e.data.length === 18);
    const tampered = events.map((e, i) => (i === at && e.kind === 'usb.control.done' ? { ...e, data: Uint8Array.from(e.data!, (b, j) => (j === 10 ? b ^ 1 : b)) } : e));
    const result = replay(ma2485, tampered);
    expect(result.ok).toBe(false);
    expect(result.divergence!.seq).toBe(at);
    expect((result.divergence!.expected as { data: Uint8Array }).data[10]).toBe(0x85 ^ 1);
    expect((result.divergence!.actual as { data: Uint8Array }).data[10]).toBe(0x85);
    expect(result.divergence!.before.at(-1)!.seq).toBe(at - 1);
    expect(result.divergence!.state).toMatch(/usb=default/);
  });

  it('replay of a tampered input reports the first event it changes', async () => {
    const events = await session();
    const at = events.findIndex((e) => e.kind === 'host.transfer' && e.data !== null && e.data.length === 2);
    const tampered = events.map((e, i) => (i === at && e.kind === 'host.transfer' ? { ...e, data: Uint8Array.of(0x4d, 0x41) } : e));
    const result = replay(ma2485, tampered);
    expect(result.ok).toBe(false);
    // The input itself is re-applied as recorded; the ROM's answer differs right after it.
    expect(result.divergence!.seq).toBeGreaterThan(at);
    expect(result.divergence!.seq).toBeLessThan(at + 4);
  });

  it('replay notices a missing event and one the machine never derives', async () => {
    const events = await session();
    const drop = events.findIndex((e) => e.kind === 'rom.phase');
    const missing = replay(
      ma2485,
      events.filter((_, i) => i !== drop).map((e, i) => ({ ...e, seq: i })),
    );
    expect(missing.divergence!.seq).toBe(drop);
    // A trace ends at its last event: a prefix replays cleanly...
    expect(replay(ma2485, events.slice(0, -1)).ok).toBe(true);
    // ...but an event the machine never derives is reported, with nothing as the actual.
    const last = events.at(-1)!;
    const extra = replay(ma2485, [...events, { seq: last.seq + 1, t: last.t, kind: 'usb.halt', endpoint: 0x81, halted: true }]);
    expect(extra.ok).toBe(false);
    expect(extra.divergence!.seq).toBe(last.seq + 1);
    expect(extra.divergence!.actual).toBeNull();
  });

  it('a snapshot taken halfway restores into a machine that continues identically', async () => {
    const events = await session();
    const stick = new Stick({ model: ma2485 });
    const recorder = new EventRecorder(stick.log);
    const half = events.findIndex((e) => e.kind === 'host.transfer' && e.length === 4096);
    const feed = (s: Stick, list: MachineEvent[]) => {
      for (const e of list) {
        if (!isInput(e)) continue;
        s.runUntil(e.t);
        s.apply(e);
      }
    };
    feed(stick, events.slice(0, half));
    const snapshot = stick.snapshot();
    // Through the canonical text form and back, as a snapshot file would be.
    const thawed = fromCanonical(JSON.parse(canonicalJson(snapshot))) as StickSnapshot;
    const restored = Stick.restore(thawed);
    const restoredRecorder = new EventRecorder(restored.log);
    const rest = events.slice(half);
    feed(stick, rest);
    feed(restored, rest);
    const end = events.at(-1)!.t;
    stick.runUntil(end);
    restored.runUntil(end);
    const tail = recorder.events.slice(snapshot.seq);
    expect(restoredRecorder.events.length).toBeGreaterThan(10);
    expect(hashEvents(restoredRecorder.events)).toBe(hashEvents(tail));
    expect(hashEvents(recorder.events)).toBe(hashEvents(events));
    expect(restored.bus.read(0x80000000, 4, 'test')).toBe(stick.bus.read(0x80000000, 4, 'test'));
  });

  it('replay holds the machine to snapshots taken before inputs, loading each only when it gets there', async () => {
    const events = await session();
    const inputs = events.filter(isInput);
    const targets = [inputs[5]!.seq, inputs[Math.floor(inputs.length / 2)]!.seq];
    // The recording's machine again, with its snapshots taken where a TraceWriter takes them.
    const stick = new Stick({ model: ma2485 });
    const taken = new Map<number, StickSnapshot>();
    stick.inputHooks.push(() => void (targets.includes(stick.log.length) && taken.set(stick.log.length, stick.snapshot())));
    for (const e of inputs) {
      stick.runUntil(e.t);
      stick.apply(e);
    }
    let loads = 0;
    const checkpoint = (seq: number, edit: (s: StickSnapshot) => StickSnapshot = (s) => s): Checkpoint => ({
      seq,
      t: events[seq]!.t,
      load: () => (loads++, edit(taken.get(seq)!)),
    });
    const clean = replay(ma2485, events, { checkpoints: targets.map((seq) => checkpoint(seq)) });
    expect(clean.divergence).toBeNull();
    expect(loads).toBe(2);

    const tampered = replay(ma2485, events, { checkpoints: [checkpoint(targets[0]!), checkpoint(targets[1]!, (s) => ({ ...s, nextInputId: s.nextInputId + 7 }))] });
    expect(tampered.divergence!.snapshot).toMatchObject({ seq: targets[1], field: 'nextInputId' });
    expect(tampered.events).toBe(targets[1]);

    // Stopped before it (seek's `until`), the replay never reads it.
    loads = 0;
    expect(replay(ma2485, events, { until: targets[0]! + 1, checkpoints: [checkpoint(targets[1]!)] }).ok).toBe(true);
    expect(loads).toBe(0);

    // A snapshot at a derived event matches no moment of the replay.
    const derived = events.find((e) => e.seq > targets[0]! && !isInput(e))!.seq;
    const misplaced = replay(ma2485, events, { checkpoints: [{ seq: derived, t: events[derived]!.t, load: () => taken.get(targets[0]!)! }] });
    expect(misplaced.divergence!.snapshot).toMatchObject({ seq: derived, field: 'seq', actual: expect.stringContaining(`event #${derived} is not an input`) });
  });

  it('a snapshot one past the last event is checked once the machine has run to its time', async () => {
    const events = await session();
    const inputs = events.filter(isInput);
    const last = inputs.at(-1)!;
    const stick = new Stick({ model: ma2485 });
    let taken: StickSnapshot | null = null;
    stick.inputHooks.push(() => void (stick.log.length === last.seq && (taken = stick.snapshot())));
    for (const e of inputs) {
      stick.runUntil(e.t);
      stick.apply(e);
    }
    // The trace as if the writer had stopped right after taking it: the input is not in it.
    const before = events.slice(0, last.seq);
    const at = (snapshot: StickSnapshot): Checkpoint => ({ seq: last.seq, t: last.t, load: () => snapshot });
    expect(replay(ma2485, before, { checkpoints: [at(taken!)] }).divergence).toBeNull();
    const wrong = replay(ma2485, before, { checkpoints: [at({ ...taken!, powered: !taken!.powered })] });
    expect(wrong.divergence!.snapshot).toMatchObject({ seq: last.seq, field: 'powered', expected: String(!taken!.powered) });
  });

  it('openEnded: a log cut at an instant where the machine derives more is a prefix, not a divergence', async () => {
    const events = await session();
    // Cut between two derived events of the same instant.
    const cut = events.findIndex((e, i) => i > 10 && !isInput(e) && e.t === events[i - 1]!.t && !isInput(events[i - 1]!));
    const prefix = events.slice(0, cut);
    const strict = replay(ma2485, prefix);
    expect(strict.ok).toBe(false);
    expect(strict.divergence).toMatchObject({ seq: cut, expected: null });
    const open = replay(ma2485, prefix, { openEnded: true });
    expect(open.divergence).toBeNull();
    expect(open.events).toBe(cut);
  });
});
