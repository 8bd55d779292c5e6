/**
 * Replay holds the machine to every snapshot a trace stores, not only to its events. A recorder
 * takes a snapshot just before an input; these tests record sessions whose stored snapshots
 * were perturbed at that moment (a hook before the writer's changes one field, a hook after it
 * changes it back, so the machine itself goes on untouched and every event still replays) and
 * expect the replay to stop at that snapshot naming the field, with both values.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bootDevice } from '../../emu/host/boot.js';
import { Hub } from '../../emu/host/hub.js';
import type { EmulatedUSBDevice } from '../../emu/host/webusb.js';
import { XLinkClient } from '../../emu/host/xlink.js';
import type { LeonCore } from '../../emu/leon/leon-core.js';
import type { Stick } from '../../emu/machine/stick.js';
import { Chunk, TraceReader, TraceWriter } from '../../emu/trace/format.js';
import { replayTrace } from '../../emu/trace/replay-trace.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'dist/emu/cli/bin.js');
const dir = mkdtempSync(join(tmpdir(), 'myriad-snapshot-check-'));
const VSC = readFileSync(join(root, 'firmware-stubs/vsc/vsc-ma2485.mvcmd'));

/** Changes one thing about a stick and returns how to change it back. */
type Perturbation = (stick: Stick) => () => void;

/**
 * Boots the open firmware and echoes a few XLink messages, recording with a snapshot every 60
 * events; `perturb` is applied around every input, so every snapshot shows it and nothing else.
 */
async function record(file: string, perturb: Perturbation | null = null): Promise<void> {
  const writer = new TraceWriter(file, { emulator: 'test', images: [VSC], snapshotEvery: 60 });
  const hub = new Hub();
  hub.plug({
    model: 'ma2485',
    attach: (stick) => {
      let undo: (() => void) | null = null;
      if (perturb) stick.inputHooks.push(() => void (undo = perturb(stick)));
      writer.attach(stick);
      if (perturb) stick.inputHooks.push(() => (undo?.(), (undo = null)));
    },
  });
  await hub.sleep(300);
  const [rom] = await hub.usb.getDevices();
  const booted = await bootDevice(hub.usb, rom!, VSC, { sleep: (ms) => hub.sleep(ms), reattachTimeoutMs: 3000 });
  const client = await XLinkClient.connect(booted.reattached as EmulatedUSBDevice, { sleep: (ms) => hub.sleep(ms), cancelSleep: (p) => hub.cancelSleep(p) });
  const stream = await client.openStream('echo', 8192);
  for (let i = 0; i < 3; i++) {
    await client.write(stream, new Uint8Array(300).fill(i + 1));
    await client.read(stream);
  }
  writer.close();
}

function replayFile(file: string) {
  const reader = TraceReader.open(file);
  try {
    const snapshots = reader.index.chunks.filter((c) => c.kind === Chunk.SNAPSHOT).map((c) => c.firstSeq);
    return { result: replayTrace(reader), snapshots, events: reader.index.events };
  } finally {
    reader.close();
  }
}

function cli(...args: string[]) {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build it with npx tsc -p tsconfig.build.json`);
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('replay checks the machine against every stored snapshot', () => {
  it('an honest recording with a snapshot every 60 events replays clean, from the start and from each snapshot', async () => {
    const file = join(dir, 'honest.myrtrace');
    await record(file);
    const { result, snapshots, events } = replayFile(file);
    expect(snapshots.length).toBeGreaterThan(5);
    expect(result.divergence).toBeNull();
    expect(result.events).toBe(events);
    const reader = TraceReader.open(file);
    for (const seq of snapshots.filter((_, i) => i % 4 === 1)) expect(replayTrace(reader, { near: seq }).divergence).toBeNull();
    reader.close();
  });

  it('a LEON register changed in the stored snapshots: the replay stops at the first one after its start, naming leon.registers.g3', async () => {
    const file = join(dir, 'g3.myrtrace');
    await record(file, (stick) => {
      const regs = (stick.core as LeonCore).cpu.regs;
      const was = regs[3]!;
      regs[3] = was ^ 0x100;
      return () => void (regs[3] = was);
    });
    const { result, snapshots } = replayFile(file);
    expect(result.ok).toBe(false);
    const d = result.divergence!;
    expect(d.snapshot).toMatchObject({ field: 'leon.registers.g3', seq: snapshots[0] });
    expect(d.seq).toBe(snapshots[0]);
    expect([d.expected, d.actual]).toEqual([null, null]);
    // Every event up to the snapshot matched.
    expect(result.events).toBe(snapshots[0]);
    const value = (text: string) => Number(text.split(' ')[0]);
    expect(value(d.snapshot!.expected)).toBe(value(d.snapshot!.actual) ^ 0x100);
  });

  it('a windowed register and a device field are named the way the firmware knows them', async () => {
    const window = join(dir, 'o5.myrtrace');
    await record(window, (stick) => {
      const cpu = (stick.core as LeonCore).cpu;
      // %o5 of the current window: CWP is the low 5 bits of the PSR.
      const at = 8 + (cpu.psr & 31) * 16 + 5;
      const was = cpu.regs[at]!;
      cpu.regs[at] = was + 1;
      return () => void (cpu.regs[at] = was);
    });
    expect(replayFile(window).result.divergence!.snapshot!.field).toBe('leon.registers.o5');

    const timer = join(dir, 'tim0.myrtrace');
    await record(timer, (stick) => {
      const tim0 = stick.devices.get('tim0')!;
      const was = tim0.snapshot() as Record<string, unknown>;
      tim0.restore({ ...was, keyArmed: !was.keyArmed });
      return () => tim0.restore(was);
    });
    const d = replayFile(timer).result.divergence!;
    expect(d.snapshot).toMatchObject({ field: 'devices.tim0.keyArmed', expected: 'true', actual: 'false' });

    const l2c = join(dir, 'l2c.myrtrace');
    await record(l2c, (stick) => {
      const block = stick.devices.get('l2c')!;
      const was = block.snapshot() as number[];
      block.restore(was.map((w, i) => (i === 3 ? w ^ 1 : w)));
      return () => block.restore(was);
    });
    expect(replayFile(l2c).result.divergence!.snapshot!.field).toBe('devices.l2c register +0xc');
  });

  it('a memory byte changed in the stored snapshots: the report names the page and the byte', async () => {
    const file = join(dir, 'memory.myrtrace');
    const address = 0x80300123;
    await record(file, (stick) => {
      const ddr = stick.memory.regions.find((r) => r.name === 'ddr')!;
      const offset = ddr.offset + (address - ddr.base);
      stick.memory.commit(offset, 1);
      const was = stick.memory.bytes[offset]!;
      stick.memory.bytes[offset] = was ^ 0x5a;
      return () => void (stick.memory.bytes[offset] = was);
    });
    const { result, snapshots } = replayFile(file);
    expect(result.divergence!.snapshot).toEqual({ seq: snapshots[0], t: expect.any(Number), field: 'memory page 0x80300000', expected: '0x5a at 0x80300123', actual: '0x00' });
  });

  it('myriad-emu replay prints the field and exits 1; trim stops there too', async () => {
    const file = join(dir, 'cli-g3.myrtrace');
    await record(file, (stick) => {
      const regs = (stick.core as LeonCore).cpu.regs;
      const was = regs[3]!;
      regs[3] = 0x1234;
      return () => void (regs[3] = was);
    });
    const r = cli('replay', file);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/DIVERGED at event #\d+: every event matched, but the machine differs from the snapshot the trace stores there/);
    expect(r.out).toMatch(/first difference: leon\.registers\.g3\n {2}expected: 4660 \(0x1234\)\n {2}actual: {3}/);
    expect(cli('trim', file, '-o', join(dir, 'cli-trimmed.myrtrace'))).toMatchObject({ code: 1, out: expect.stringContaining('first difference: leon.registers.g3') });
  });

  it('a trace trimmed from a snapshot halfway, snapshotted every 7 events from the restored machine, replays clean', async () => {
    const source = join(dir, 'to-trim.myrtrace');
    await record(source);
    const reader = TraceReader.open(source);
    const snapshots = reader.index.chunks.filter((c) => c.kind === Chunk.SNAPSHOT);
    const from = snapshots[Math.floor(snapshots.length / 2)]!.firstSeq;
    const file = join(dir, 'trimmed-dense.myrtrace');
    const writer = new TraceWriter(file, { emulator: 'test', snapshotEvery: 7 });
    let attached = false;
    const result = replayTrace(reader, {
      near: from,
      onInput: (_event, stick) => {
        if (!attached) writer.attach(stick);
        attached = true;
      },
    });
    writer.close();
    reader.close();
    expect(result.divergence).toBeNull();
    const trimmed = replayFile(file);
    expect(trimmed.snapshots.length).toBeGreaterThan(8);
    expect(trimmed.snapshots[0]).toBe(from);
    expect(trimmed.result.divergence).toBeNull();
    expect(trimmed.result.events).toBe(trimmed.events);
  });
});
