/**
 * The trace commands: replay, log, stat, seek, trim, export. Each reads a trace file through
 * TraceReader, so a stranger's file can only ever produce a TraceError (exit 3).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { describeEvent, formatTime } from '../events/canonical.js';
import type { MachineEvent } from '../events/event.js';
import { describeState } from '../machine/replay.js';
import type { Stick } from '../machine/stick.js';
import { TraceError, TraceReader, TraceWriter } from '../trace/format.js';
import { PcapWriter } from '../trace/pcap.js';
import { replayTrace, type TraceReplayResult } from '../trace/replay-trace.js';
import { EXIT, UsageError, type Print } from './errors.js';
import { count, ProgressBar } from './progress.js';

function openTrace(positionals: string[], command: string): TraceReader {
  if (positionals.length !== 1) throw new UsageError(`${command} takes one trace file`);
  return TraceReader.open(positionals[0]!);
}

/** Replays, turning a machine that cannot run what the trace holds into the trace's fault. */
function guardedReplay(reader: TraceReader, run: () => TraceReplayResult): TraceReplayResult {
  try {
    return run();
  } catch (error) {
    if (error instanceof TraceError || !(error instanceof Error)) throw error;
    throw new TraceError(reader.path, 0, `the recorded machine cannot be re-executed: ${error.message}`);
  }
}

function wholeNumber(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${what} takes a whole number, not '${text}'`);
  return n;
}

/** "1.5ms", "200us", "3s", "250ns" or a bare number of nanoseconds. */
export function parseTime(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s)?$/.exec(text);
  if (!match) throw new UsageError(`${what} takes a time like 250ns, 40us, 1.5ms or 2s, not '${text}'`);
  const scale = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 }[(match[2] ?? 'ns') as 'ns'];
  return Math.round(Number(match[1]) * scale);
}

/**
 * What a trace read without its index lacks (TraceReader.recovered), in words, or null for a
 * trace that was closed: where it ends, and that what came after is lost.
 */
export function describeRecovery(reader: TraceReader): string | null {
  const recovery = reader.recovered;
  if (!recovery) return null;
  const range = reader.eventRange;
  const ends = range ? `it ends at event #${range.last} (t=${formatTime(reader.index.endT)})` : 'it holds no events';
  const cut = recovery.dropped > 0 ? `the ${recovery.dropped} bytes after byte ${recovery.end} (what was being written when it stopped) are not read` : 'nothing follows it';
  return (
    `${reader.path}: ${recovery.reason} (the recording process was killed or crashed). Read by scanning its chunks: ${ends}, ` +
    `the end of its last whole chunk; ${cut}; whatever was recorded after that is lost.`
  );
}

export function replayCommand(args: string[], print: Print, err: NodeJS.WritableStream): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const reader = openTrace(positionals, 'replay');
  try {
    const { header, events: total } = reader.index;
    const recovery = describeRecovery(reader);
    if (recovery) print(`note: ${recovery}`);
    const bar = new ProgressBar('replay', err as NodeJS.WriteStream);
    const result = guardedReplay(reader, () => replayTrace(reader, { onProgress: (checked) => bar.update(checked, total, count) }));
    if (result.ok) {
      bar.update(total, total, count);
      const upTo = recovery ? ', up to where the trace ends' : '';
      print(`replay of ${reader.path}: all ${result.events} events re-derived identically${upTo} (${header.model}, recorded by ${header.emulator})`);
      return EXIT.ok;
    }
    printDivergence(reader.path, result, print);
    return EXIT.failed;
  } finally {
    reader.close();
  }
}

export function printDivergence(path: string, result: TraceReplayResult, print: Print): void {
  const d = result.divergence!;
  if (d.snapshot) {
    const s = d.snapshot;
    print(`replay of ${path} DIVERGED at event #${d.seq}: every event matched, but the machine differs from the snapshot the trace stores there (t=${formatTime(s.t)})`);
    print(`  first difference: ${s.field}`);
    print(`  expected: ${s.expected}`);
    print(`  actual:   ${s.actual}`);
  } else {
    print(`replay of ${path} DIVERGED at event #${d.seq}`);
    print(`  expected: ${d.expected ? describeEvent(d.expected) : '(nothing: the replay derived an event the trace lacks)'}`);
    print(`  actual:   ${d.actual ? describeEvent(d.actual) : '(nothing: the replay did not derive it)'}`);
  }
  print('  events before it:');
  for (const event of d.before) print(`    ${describeEvent(event)}`);
  print('  machine:');
  for (const line of d.state.split('\n')) print(`    ${line}`);
}

/** Which events `log` shows. */
interface LogFilter {
  readonly kinds: readonly string[];
  readonly endpoint?: number;
  readonly addr?: readonly [number, number];
  readonly fromT?: number;
  readonly toT?: number;
  readonly from?: number;
  readonly to?: number;
}

function parseNumber(text: string): number {
  const n = text.toLowerCase().startsWith('0x') ? Number.parseInt(text.slice(2), 16) : Number(text);
  if (!Number.isSafeInteger(n) || n < 0 || !/^(0x[0-9a-f]+|\d+)$/i.test(text)) throw new UsageError(`'${text}' is not a number`);
  return n;
}

/** Transfers are matched to their endpoint through their id. */
function matches(event: MachineEvent, filter: LogFilter, endpointOf: Map<number, number>): boolean {
  if (filter.from !== undefined && event.seq < filter.from) return false;
  if (filter.to !== undefined && event.seq > filter.to) return false;
  if (filter.fromT !== undefined && event.t < filter.fromT) return false;
  if (filter.toT !== undefined && event.t > filter.toT) return false;
  if (filter.kinds.length > 0 && !filter.kinds.some((k) => event.kind === k || event.kind.startsWith(`${k}.`))) return false;
  if (filter.endpoint !== undefined) {
    let endpoint: number | undefined;
    if (event.kind === 'host.transfer' || event.kind === 'usb.transfer.done' || event.kind === 'usb.halt') endpoint = event.endpoint;
    else if (event.kind === 'host.control' || event.kind === 'usb.control.done') endpoint = 0;
    else if (event.kind === 'host.cancel') endpoint = endpointOf.get(event.id);
    if (endpoint === undefined || (endpoint !== filter.endpoint && (endpoint & 0x7f) !== filter.endpoint)) return false;
  }
  if (filter.addr) {
    const [lo, hi] = filter.addr;
    if (!('addr' in event) || event.kind === 'rom.record' && event.op === 'name') return false;
    const addr = (event as { addr: number }).addr;
    const length = 'size' in event ? event.size : 'length' in event ? Math.max(1, (event as { length: number }).length) : 1;
    if (addr + length <= lo || addr > hi) return false; // overlaps the range
  }
  return true;
}

export function logCommand(args: string[], print: Print): number {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      kind: { type: 'string', multiple: true },
      endpoint: { type: 'string' },
      addr: { type: 'string' },
      'from-t': { type: 'string' },
      'to-t': { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
    },
  });
  let addr: [number, number] | undefined;
  if (values.addr !== undefined) {
    const [lo, hi] = values.addr.split('-');
    if (lo === undefined || hi === undefined) throw new UsageError('--addr takes a range LO-HI, e.g. 0x70000000-0x7000ffff');
    addr = [parseNumber(lo), parseNumber(hi)];
  }
  const filter: LogFilter = {
    kinds: (values.kind ?? []).flatMap((k) => k.split(',')).filter((k) => k.length > 0),
    ...(values.endpoint !== undefined ? { endpoint: parseNumber(values.endpoint) } : {}),
    ...(addr ? { addr } : {}),
    ...(values['from-t'] !== undefined ? { fromT: parseTime(values['from-t'], '--from-t')! } : {}),
    ...(values['to-t'] !== undefined ? { toT: parseTime(values['to-t'], '--to-t')! } : {}),
    ...(values.from !== undefined ? { from: wholeNumber(values.from, '--from')! } : {}),
    ...(values.to !== undefined ? { to: wholeNumber(values.to, '--to')! } : {}),
  };
  const reader = openTrace(positionals, 'log');
  try {
    const endpointOf = new Map<number, number>();
    let shown = 0;
    for (const event of reader.events(filter.from ?? 0)) {
      if (filter.to !== undefined && event.seq > filter.to) break;
      if (event.kind === 'host.transfer') endpointOf.set(event.id, event.endpoint);
      if (event.kind === 'usb.transfer.done') endpointOf.delete(event.id);
      if (!matches(event, filter, endpointOf)) continue;
      print(describeEvent(event));
      shown++;
    }
    print(`${shown} of ${reader.index.events} events`);
    const recovery = describeRecovery(reader);
    if (recovery) print(`note: ${recovery}`);
    return EXIT.ok;
  } finally {
    reader.close();
  }
}

export function statCommand(args: string[], print: Print): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const reader = openTrace(positionals, 'stat');
  try {
    const { header, events: total, endT } = reader.index;
    const kinds = new Map<string, number>();
    const endpoints = new Map<number, { transfers: number; bytes: number; stalls: number }>();
    const phases = new Map<string, number>();
    let phase = 'unplugged';
    let since = 0;
    let first: number | null = null;
    const enter = (next: string, t: number) => {
      phases.set(phase, (phases.get(phase) ?? 0) + (t - since));
      phase = next;
      since = t;
    };
    for (const event of reader.events()) {
      if (first === null) {
        first = event.t;
        since = event.t;
        // A trimmed trace begins in the middle of a run; its first phase is whatever that was.
        if (event.seq > 0) phase = 'before the first change';
      }
      kinds.set(event.kind, (kinds.get(event.kind) ?? 0) + 1);
      if (event.kind === 'usb.transfer.done' || event.kind === 'usb.control.done') {
        const endpoint = event.kind === 'usb.transfer.done' ? event.endpoint : 0;
        const e = endpoints.get(endpoint) ?? { transfers: 0, bytes: 0, stalls: 0 };
        e.transfers++;
        e.bytes += event.length;
        if (event.status === 'stall') e.stalls++;
        endpoints.set(endpoint, e);
      }
      // Phases: who is on the bus. The ROM's phases, then the firmware once it has jumped.
      if (event.kind === 'rom.phase') enter(event.phase === 'jumped' ? 'firmware' : `rom ${event.phase}`, event.t);
      else if (event.kind === 'machine.power') enter(event.on ? 'rom' : 'unplugged', event.t);
      else if (event.kind === 'machine.reset') enter('rom', event.t);
    }
    enter(phase, Math.max(endT, since));
    print(`${reader.path}: ${header.model}, chip id ${header.chipId}, recorded by ${header.emulator} (format ${header.version}, level ${header.level})`);
    for (const image of header.images) print(`  image sha256 ${image.sha256} (${image.bytes} bytes)`);
    print(`${total} events over ${formatTime(endT - (first ?? 0))} of virtual time; ${reader.size} bytes on disk`);
    const recovery = describeRecovery(reader);
    if (recovery) print(`note: ${recovery}`);
    print('events by kind:');
    for (const [kind, n] of [...kinds].sort((a, b) => b[1] - a[1])) print(`  ${String(n).padStart(9)}  ${kind}`);
    print('USB traffic by endpoint (completed transfers):');
    for (const [endpoint, e] of [...endpoints].sort((a, b) => a[0] - b[0])) {
      const name = endpoint === 0 ? 'control' : `0x${endpoint.toString(16).padStart(2, '0')} ${endpoint & 0x80 ? 'IN ' : 'OUT'}`;
      print(`  ${name.padEnd(9)} ${String(e.transfers).padStart(7)} transfers ${String(e.bytes).padStart(11)} bytes${e.stalls ? `, ${e.stalls} stalled` : ''}`);
    }
    print('virtual time by phase:');
    for (const [name, ns] of phases) if (ns > 0) print(`  ${name.padEnd(22)} ${formatTime(ns)}`);
    return EXIT.ok;
  } finally {
    reader.close();
  }
}

export function seekCommand(args: string[], print: Print): number {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { mem: { type: 'string', multiple: true } } });
  if (positionals.length !== 2) throw new UsageError('seek takes a trace file and an event number');
  const target = wholeNumber(positionals[1], 'seek')!;
  const ranges = (values.mem ?? []).map((text) => {
    const [addr, length] = text.split(':');
    if (addr === undefined || length === undefined) throw new UsageError('--mem takes ADDR:LENGTH, e.g. 0x70000000:256');
    const n = parseNumber(length);
    if (n > 1 << 20) throw new UsageError('--mem shows at most 1 MiB');
    return [parseNumber(addr), n] as const;
  });
  const reader = openTrace([positionals[0]!], 'seek');
  try {
    // The index was checked against its chunks when the trace was opened, so an event outside
    // its range is the command line's mistake, not the file's.
    const range = reader.eventRange;
    if (!range) throw new UsageError(`${reader.path} holds no events; there is no event ${target}`);
    if (target < range.first || target > range.last) throw new UsageError(`${reader.path} holds events ${range.first} to ${range.last}; there is no event ${target}`);
    const result = guardedReplay(reader, () => replayTrace(reader, { near: target, until: target }));
    if (!result.ok) {
      printDivergence(reader.path, result, print);
      return EXIT.failed;
    }
    const stick = result.stick;
    let event: MachineEvent | null = null;
    for (const e of reader.events(target)) {
      event = e;
      break;
    }
    print(`at event ${describeEvent(event!)}`);
    print(`(restored the snapshot at event #${result.startSeq}, re-executed ${result.events} events; the machine has derived every event up to #${stick.log.length - 1})`);
    printMachine(stick, print);
    for (const [addr, length] of ranges) {
      const bytes = stick.bus.peek(addr, length);
      if (!bytes) {
        print(`memory 0x${addr.toString(16)}+${length}: not RAM (${stick.bus.describe(addr) ?? 'unmapped'})`);
        continue;
      }
      print(`memory 0x${addr.toString(16)}+${length}:`);
      for (let at = 0; at < bytes.length; at += 16) {
        const row = bytes.subarray(at, at + 16);
        const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
        print(`  ${(addr + at).toString(16).padStart(8, '0')}  ${Buffer.from(row).toString('hex').replace(/(..)/g, '$1 ').padEnd(48)} ${ascii}`);
      }
    }
    return EXIT.ok;
  } finally {
    reader.close();
  }
}

function printMachine(stick: Stick, print: Print): void {
  print('machine:');
  for (const line of describeState(stick).split('\n')) print(`  ${line}`);
  print('devices:');
  for (const [name, device] of stick.devices) {
    if ('describe' in device && typeof device.describe === 'function') {
      print(`  ${name}: ${(device.describe as () => string)()}`);
      continue;
    }
    const state = device.snapshot();
    if (Array.isArray(state) && state.every((w) => typeof w === 'number')) {
      // A register file: the words that are not zero, by offset.
      const set = state.flatMap((w, i) => (w === 0 ? [] : [`+0x${(i * 4).toString(16)}=0x${(w >>> 0).toString(16)}`]));
      print(`  ${name}: ${set.length === 0 ? 'all registers zero' : set.join(' ')}`);
      continue;
    }
    const text = JSON.stringify(state);
    print(`  ${name}: ${text.length > 600 ? `${text.slice(0, 600)}...` : text}`);
  }
}

export function trimCommand(args: string[], print: Print, emulator: string): number {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { from: { type: 'string' }, to: { type: 'string' }, output: { type: 'string', short: 'o' } },
  });
  if (!values.output) throw new UsageError('trim needs an output file: -o out.myrtrace');
  const reader = openTrace(positionals, 'trim');
  try {
    const from = wholeNumber(values.from, '--from') ?? 0;
    const to = wholeNumber(values.to, '--to') ?? reader.eventRange?.last ?? 0;
    if (from > to) throw new UsageError(`--from ${from} comes after --to ${to}`);
    // Re-execute from the snapshot before --from; the new trace starts with a snapshot taken at
    // the first input at or after it, and ends before the first input after --to.
    let writer: TraceWriter | null = null;
    const attach = (stick: Stick) => {
      writer = new TraceWriter(values.output!, { emulator, images: reader.header.images, snapshotEvery: reader.header.snapshotEvery });
      writer.attach(stick);
    };
    const result = guardedReplay(reader, () =>
      replayTrace(reader, {
        near: from,
        until: to,
        onInput: (event, stick) => {
          if (!writer && event.seq >= from) attach(stick);
        },
      }),
    );
    if (!writer) attach(result.stick); // no input between --from and --to: the state at the end
    (writer as TraceWriter | null)!.close();
    if (!result.ok) {
      printDivergence(reader.path, result, print);
      return EXIT.failed;
    }
    const out = TraceReader.open(values.output);
    print(`wrote ${values.output}: ${out.index.events} events, ${out.size} bytes (from ${reader.index.events} events, ${reader.size} bytes)`);
    out.close();
    return EXIT.ok;
  } finally {
    reader.close();
  }
}

export function exportCommand(args: string[], print: Print): number {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { pcap: { type: 'boolean' }, output: { type: 'string', short: 'o' } } });
  if (!values.pcap) throw new UsageError('export knows one format: --pcap');
  if (!values.output) throw new UsageError('export needs an output file: -o out.pcap');
  const reader = openTrace(positionals, 'export');
  let fd: number | null = null;
  try {
    const chunks: Uint8Array[] = [];
    let pending = 0;
    fd = openSync(values.output, 'w');
    const out = fd;
    const flush = () => {
      for (const c of chunks) writeSync(out, c);
      chunks.length = 0;
      pending = 0;
    };
    const pcap = new PcapWriter((bytes) => {
      chunks.push(bytes);
      pending += bytes.length;
      if (pending > 1 << 20) flush();
    });
    for (const event of reader.events()) pcap.event(event);
    flush();
    print(`wrote ${values.output}: ${pcap.packets} USB packets (open it in Wireshark, or: tshark -r ${values.output})`);
    return EXIT.ok;
  } finally {
    if (fd !== null) closeSync(fd);
    reader.close();
  }
}
