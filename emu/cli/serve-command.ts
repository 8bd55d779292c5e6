/**
 * `myriad-emu serve`: emulated sticks for real hosts, one per --usbredir address, until the
 * process is interrupted. Loopback unless the user names another address.
 */
import { parseArgs } from 'node:util';
import { isInput } from '../events/event.js';
import { DEFAULT_CHIP_ID, Stick } from '../machine/stick.js';
import { findModel } from '../models/index.js';
import { UsbipServer } from '../serve/usbip-server.js';
import { UsbredirServer } from '../serve/usbredir-server.js';
import { TraceWriter } from '../trace/format.js';
import { EXIT, UsageError, type Print } from './errors.js';

/** Each trace's cap unless --max-trace-bytes gives one. */
export const DEFAULT_MAX_TRACE_BYTES = 1 << 30;

export const SERVE_HELP = `Usage: myriad-emu serve [--usbredir [HOST:]PORT]... [--usbip [HOST:]PORT]... [--model ma2450|ma2485] [--record FILE [--max-trace-bytes N]] [--chip-id HEX]

Exports emulated sticks to real USB stacks; every address gets its own stick.
  --usbredir  the usbredir protocol (QEMU: -chardev socket,id=ur,host=HOST,port=PORT -device
              usb-redir,chardev=ur)
  --usbip     USB/IP (usbip --tcp-port PORT list -r HOST; attach with vhci-hcd); the import
              ends when the stick re-enumerates, and the client imports the new identity
HOST is 127.0.0.1 unless given. Sticks keep running across client
disconnects; each connection is logged. Stops on Ctrl-C (SIGINT) or SIGTERM, closing every
trace; a trace of a serve that was killed (SIGKILL, a crash) is read up to its last second.

  --model     ma2485 (NCS2, default) or ma2450 (NCS)
  --record    write each stick's trace: FILE for one stick, FILE-N for stick N of several
  --max-trace-bytes
              stop recording a stick once its trace reaches N bytes (suffix K, M or G for
              powers of 1024; default 1G): the trace is closed at the next input, replays up
              to there, and the stick goes on serving
  --chip-id   chip id of the first stick in hex; the others count up from it
A port in use or an address that cannot be bound is a usage error (exit 2).`;

/** The errors of binding a listener that are the user's address, not the emulator's fault. */
const ADDRESS_ERRORS = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EINVAL', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME']);

/** Parses HOST:PORT or PORT. */
export function parseAddress(text: string): { host: string; port: number } {
  const match = /^(?:(\[[0-9a-f:]+\]|[^:]+):)?(\d{1,5})$/i.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) throw new UsageError(`'${text}' is not an address: use PORT or HOST:PORT`);
  return { host: (match[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

/** Parses a byte count: digits, optionally followed by K, M or G (powers of 1024). */
export function parseByteCount(text: string, option: string): number {
  const match = /^(\d{1,15})([KMG]?)$/i.exec(text);
  const bytes = match ? Number(match[1]) * 1024 ** ' KMG'.indexOf((match[2] || ' ').toUpperCase()) : NaN;
  if (!match || bytes < 1 || !Number.isSafeInteger(bytes)) throw new UsageError(`${option} takes a positive number of bytes (with K, M or G), not '${text}'`);
  return bytes;
}

/**
 * Stops recording once the trace holds `maxBytes`: at the first input from then on, before the
 * writer hears of it, so the trace ends between inputs and replays whole; or, if no input comes,
 * at any event once the trace is a sixteenth past the cap. Closing the writer here is safe
 * because this listener was subscribed before the writer's: the log's loop then goes on to the
 * listeners after the writer, which still hear of this event.
 */
function limitTrace(stick: Stick, writer: TraceWriter, maxBytes: number, reached: (seq: number, atInput: boolean) => void): void {
  let stopped = false;
  const unsubscribe = stick.log.subscribe((event, seq) => {
    if (stopped || writer.bytes < maxBytes) return;
    if (!isInput(event) && writer.bytes < maxBytes + maxBytes / 16) return;
    stopped = true;
    writer.close();
    reached(seq, isInput(event));
    // Not from inside the log's loop: removing this listener there would skip the next one.
    queueMicrotask(unsubscribe);
  });
}

export async function serveCommand(args: string[], print: Print, stopSignal?: AbortSignal): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      usbredir: { type: 'string', multiple: true },
      usbip: { type: 'string', multiple: true },
      model: { type: 'string', default: 'ma2485' },
      record: { type: 'string' },
      'max-trace-bytes': { type: 'string' },
      'chip-id': { type: 'string' },
    },
  });
  const model = findModel(values.model!);
  if (!model) throw new UsageError(`unknown model '${values.model}': use ma2450 or ma2485`);
  const addresses = [
    ...(values.usbredir ?? []).map((a) => ({ protocol: 'usbredir' as const, ...parseAddress(a) })),
    ...(values.usbip ?? []).map((a) => ({ protocol: 'usbip' as const, ...parseAddress(a) })),
  ];
  if (addresses.length === 0) throw new UsageError('serve needs at least one --usbredir or --usbip address');
  const chipIdText = values['chip-id'];
  if (chipIdText !== undefined && !/^(0x)?[0-9a-f]{1,16}$/i.test(chipIdText)) throw new UsageError('--chip-id takes up to 16 hex digits');
  const firstChipId = chipIdText ? BigInt(`0x${chipIdText.replace(/^0x/i, '')}`) : DEFAULT_CHIP_ID;
  if (values['max-trace-bytes'] !== undefined && !values.record) throw new UsageError('--max-trace-bytes needs --record');
  const maxTraceBytes = values['max-trace-bytes'] === undefined ? DEFAULT_MAX_TRACE_BYTES : parseByteCount(values['max-trace-bytes'], '--max-trace-bytes');

  // Signals are heard from here on: one that comes while the sticks are being set up still
  // stops serve through the same path, so that every trace is closed.
  let stop!: () => void;
  const stopping = new Promise<void>((resolve) => (stop = resolve));
  const onSignal = () => stop();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  stopSignal?.addEventListener('abort', onSignal, { once: true });
  if (stopSignal?.aborted) stop();
  try {
    return await serveUntilStopped(model, addresses, firstChipId, values.record, maxTraceBytes, print, stopping);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    stopSignal?.removeEventListener('abort', onSignal);
  }
}

/** How often a recording serve puts what it has recorded on disk (TraceWriter.flush). */
const TRACE_FLUSH_MS = 1000;
/** How long stopping waits for the servers to let go of their clients before closing the traces anyway. */
const CLOSE_WAIT_MS = 2000;

async function serveUntilStopped(
  model: NonNullable<ReturnType<typeof findModel>>,
  addresses: readonly { protocol: 'usbredir' | 'usbip'; host: string; port: number }[],
  firstChipId: bigint,
  record: string | undefined,
  maxTraceBytes: number,
  print: Print,
  stopping: Promise<void>,
): Promise<number> {
  const servers: (UsbredirServer | UsbipServer)[] = [];
  const writers: TraceWriter[] = [];
  try {
    for (const [n, address] of addresses.entries()) {
      const stick = new Stick({ model, chipId: firstChipId + BigInt(n) * 0x1_0000_0101n });
      if (record) {
        const writer = new TraceWriter(addresses.length === 1 ? record : `${record}-${n + 1}`, { emulator: 'myriad-emu serve' });
        limitTrace(stick, writer, maxTraceBytes, (seq, atInput) =>
          print(
            `[stick ${n + 1}] trace ${writer.path} reached --max-trace-bytes (${maxTraceBytes} bytes): recording stopped before event ${seq} and the trace is closed ` +
              `(${atInput ? 'it replays up to there' : 'it ends between two inputs, so its last events may not replay'}); the stick goes on serving`,
          ),
        );
        writer.attach(stick);
        writers.push(writer);
      }
      const options = { host: address.host, port: address.port, log: (line: string) => print(`[stick ${n + 1}] ${line}`) };
      const server = address.protocol === 'usbredir' ? await UsbredirServer.listen(stick, options) : await UsbipServer.listen(stick, options);
      servers.push(server);
      print(`[stick ${n + 1}] ${model.name} chip id ${stick.chipId.toString(16).padStart(16, '0')}: ${address.protocol} on ${address.host}:${server.address.port}`);
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.close()));
    for (const w of writers) w.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined && ADDRESS_ERRORS.has(code)) throw new UsageError(`cannot listen: ${(error as Error).message}`);
    throw error;
  }
  // A session may last for hours: what it has recorded reaches the disk every second, so a
  // kill (or a crash) loses at most that much; the trace reads and replays up to there.
  const flusher = setInterval(() => {
    for (const w of writers) w.flush();
  }, TRACE_FLUSH_MS);
  flusher.unref();
  await stopping;
  clearInterval(flusher);
  let waited: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(servers.map((s) => s.close())), new Promise((resolve) => (waited = setTimeout(resolve, CLOSE_WAIT_MS)))]);
  clearTimeout(waited);
  for (const w of writers) w.close();
  print(`stopped${writers.length ? `; traces written: ${writers.map((w) => w.path).join(', ')}` : ''}`);
  return EXIT.ok;
}
