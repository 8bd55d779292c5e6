/**
 * myriad-emu: the emulator's command line. Exit codes: 0 success, 1 the run failed (a boot that
 * did not complete, a replay that diverged), 2 a usage error, 3 an input file that cannot be
 * read or is malformed.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { describeEvent, formatTime } from '../events/canonical.js';
import { bootDevice, BootError } from '../host/boot.js';
import { Leon3Board } from '../boards/leon3.js';
import { ElfError, parseElf32 } from '../elf/elf32.js';
import { Hub } from '../host/hub.js';
import { findModel, models } from '../models/index.js';
import { emulatorVersion } from '../package-root.js';
import { MvcmdParser, type MvcmdSink } from '../rom/mvcmd.js';
import { TraceError, TraceWriter } from '../trace/format.js';
import { XLinkClient } from '../host/xlink.js';
import type { EmulatedUSBDevice } from '../host/webusb.js';
import type { MachineEvent } from '../events/event.js';
import { ProgressBar } from './progress.js';
import { EXIT, InputError, readInput, UsageError } from './errors.js';
import { SERVE_HELP, serveCommand } from './serve-command.js';
import { SHAVE_HELP, shaveCommand } from './shave-command.js';
import { INFER_HELP, inferCommand } from './infer-command.js';
import { exportCommand, logCommand, replayCommand, seekCommand, statCommand, trimCommand } from './trace-commands.js';
import { ObjectError, parseObject } from '../toolchain/elf-object.js';
import { LayoutError, parseLayout } from '../toolchain/layout-file.js';
import { link, LinkError } from '../toolchain/linker.js';
import { writeExecutable } from '../toolchain/elf-writer.js';
import { elfToMvcmd } from '../toolchain/mvcmd-writer.js';

const HELP: Record<string, string> = {
  '': `myriad-emu ${'$VERSION'}: an emulator of the Movidius Myriad VPU USB sticks

Usage: myriad-emu <command> [options]

Commands:
  info <image.mvcmd>      list the records of an MA2x boot image
  boot <image.mvcmd>      plug in an emulated stick and boot it with the image
  record <trace> <image>  boot (and optionally talk XLink) while recording a trace
  serve --usbredir PORT   export emulated sticks to real hosts (usbredir, USB/IP)
  shave asm|disasm|run    the SHAVE assembler, disassembler and one-kernel runner
  infer <graph>           run a graph on an emulated stick through mvnc, with a profile
  replay <trace>          re-execute a recorded trace and check every event
  log <trace>             the events of a trace, in words, filtered
  stat <trace>            counts, bytes per endpoint, time per phase
  seek <trace> <N>        the machine's state at event N: registers, memory, devices
  trim <trace>            a smaller trace that replays from its own first snapshot
  export --pcap <trace>   the USB traffic as a pcap file for Wireshark
  leon3 <elf>             run a bare-metal SPARC ELF on a board like QEMU's leon3_generic
  link <objects...>       link ELF32 SPARC objects (either byte order) into an executable
  mvcmd <elf>             turn an executable into an MA2x boot image
  help [command]          this text, or a command's

Exit codes: 0 success, 1 the run failed, 2 usage error, 3 unreadable or malformed input.`,
  info: `Usage: myriad-emu info <image.mvcmd>

Lists every record of an MA2x boot stream with its offset, address and size, then a summary.
A malformed stream is listed up to the error, which is reported with its byte offset (exit 3).`,
  boot: `Usage: myriad-emu boot <image.mvcmd> [--model ma2450|ma2485] [--record FILE] [--chunk BYTES|packet] [--chip-id HEX] [--xlink BYTES] [--timeout SECONDS]

Plugs an emulated stick into an emulated host, lets the host enumerate it, and writes the image
to its bulk OUT endpoint the way the host libraries do, with an upload progress bar.
  --model    ma2485 (NCS2, default) or ma2450 (NCS)
  --record   write the trace of the whole session to FILE (replay it with 'myriad-emu replay')
  --chunk    bytes per bulk transfer: 1048576 by default, or 'packet' for 512
  --chip-id  the stick's 64-bit chip id in hex (the CPR reports it; the firmware's serial)
  --xlink    after the boot, talk XLink as OpenVINO does: ping, echo BYTES through a stream,
             then RESET the stick back to the ROM
  --snapshot-every  with --record: a snapshot every N events (default 100000)
  --timeout  give up after SECONDS of wall-clock time (default 120). Virtual time decides
             first: each bulk transfer may take 2 s and the stick 2 s to come back
The firmware's console (its UART) is printed as it appears, and the identity the stick comes
back with (03e7:f63b for the open firmware in firmware-stubs/vsc/).
Exit 0 when the device took the whole image up to its jump record and left the bus, and its
LEON did not stop in error mode. Exit 1 otherwise, with the reason: a transfer that timed out
(for instance a call record whose code never returns), a stall, an upload cut short by a chip
reset (the watchdog) or an unplug, the firmware trapping into error mode (the trap is named).`,
  leon3: `Usage: myriad-emu leon3 <elf> [--endian big|little] [--max-steps N]

Runs a bare-metal SPARC V8 ELF on a board with the memory map and start state of QEMU's
leon3_generic (RAM at 0x40000000, APBUART 0x80000100, IRQMP 0x80000200, GPTIMER 0x80000300).
UART output goes to stdout; the instructions executed and the rate go to stderr.
  --endian     big (GRLIB LEON, as QEMU) or little (Myriad); by default the ELF's own
  --max-steps  stop after N instructions (default 10000000000)
Exit 0 when the program stops as it does under QEMU (error mode after 'ta 0' with traps
disabled); 1 on a step limit, a program asleep for good, or error mode with another cause;
3 for a file that is not a SPARC ELF.`,
  link: `Usage: myriad-emu link -T <layout.json> -o <out.elf> <object.o...>

Links ELF32 SPARC relocatable objects, big- or little-endian (clang's sparcel objects), into an
executable, placing sections as the layout file says. The layout is JSON:
  { "entry": "_start", "limit": "0x70200000",
    "sections": [ { "name": ".text", "address": "0x70000000", "inputs": [".text*"] },
                  { "name": ".bss", "inputs": [".bss*", "COMMON"] } ],
    "symbols": { "__stack_top": "0x70180000" } }
Each output section also defines __<name>_start and __<name>_end.
Exit 1 for a link error (undefined or duplicate symbol, relocation out of range), 3 for a
file that cannot be read or is not an object.`,
  mvcmd: `Usage: myriad-emu mvcmd <in.elf> -o <out.mvcmd>

Writes an MA2x boot image from an executable: a section name and a load block for every
allocated section with contents, then a jump to the entry point (like the vendor's moviConvert).`,
  record: `Usage: myriad-emu record <trace> <image.mvcmd> [boot options]

The same as 'myriad-emu boot <image.mvcmd> --record <trace> [boot options]': every bus
transaction of the session goes into the trace (docs/trace-format.md). Library users record
any run with Hub.plug({ attach: (stick) => writer.attach(stick) }).`,
  replay: `Usage: myriad-emu replay <trace>

Starts where the trace starts (power-on, or the first snapshot of a trimmed trace), re-executes
the recorded inputs and compares every event the machine derives with the recorded one, with a
progress bar. Exit 0 when all match; 1 at the
first difference, printed as expected vs actual with the events before it and the machine's
state (LEON registers included); 3 for a file that is not a valid trace.`,
  log: `Usage: myriad-emu log <trace> [--kind K]... [--endpoint EP] [--addr LO-HI] [--from-t T] [--to-t T] [--from N] [--to N]

Prints the events, one per line: #seq, virtual time, kind, fields.
  --kind      a kind or a family (usb, host.transfer, rom, core, bus.error); repeat or comma-separate
  --endpoint  transfers on this endpoint (0 is control; 1 matches 0x01 and 0x81, 0x81 only IN)
  --addr      events touching addresses LO-HI (bus accesses, ROM records, core starts)
  --from-t/--to-t  a window of virtual time: 250ns, 40us, 1.5ms, 2s
  --from/--to      a window of event numbers`,
  stat: `Usage: myriad-emu stat <trace>

The header (model, chip id, emulator, images), events by kind, completed USB transfers and
bytes per endpoint, and virtual time spent in each phase (ROM, firmware, unplugged).`,
  seek: `Usage: myriad-emu seek <trace> <N> [--mem ADDR:LENGTH]...

Restores the nearest snapshot before event N and re-executes up to it (checking every event on
the way), then prints the machine: LEON registers, USB and ROM state, every device's registers,
and the memory ranges asked for as hex.`,
  trim: `Usage: myriad-emu trim <trace> --from N --to M -o <out>

Re-executes the trace and writes a new one that begins with a snapshot at the first input at or
after event N and ends before the first input after event M; it replays on its own.`,
  serve: SERVE_HELP,
  shave: SHAVE_HELP,
  infer: INFER_HELP,
  export: `Usage: myriad-emu export --pcap <trace> -o <out.pcap>

Writes the USB traffic as a pcap file with link type 220 (Linux usbmon, 64-byte header), as
usbmon would have captured it on a real host: Wireshark and tshark decode the descriptors,
control requests and bulk transfers.`,
};

export async function main(argv: string[], out = process.stdout, err = process.stderr): Promise<number> {
  const print = (line = '') => out.write(`${line}\n`);
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        print(help(rest[0] ?? ''));
        return EXIT.ok;
      case '--version':
      case '-V':
        print(emulatorVersion());
        return EXIT.ok;
      case 'info':
        return info(rest, print);
      case 'boot':
        return await boot(rest, print, err);
      case 'record': {
        const [trace, ...bootArgs] = rest;
        if (!trace || trace.startsWith('-')) throw new UsageError('record takes a trace file, then an image');
        return await boot([...bootArgs, '--record', trace], print, err);
      }
      case 'replay':
        return replayCommand(rest, print, err);
      case 'log':
        return logCommand(rest, print);
      case 'stat':
        return statCommand(rest, print);
      case 'seek':
        return seekCommand(rest, print);
      case 'trim':
        return trimCommand(rest, print, emulatorVersion());
      case 'export':
        return exportCommand(rest, print);
      case 'leon3':
        return leon3(rest, out, err);
      case 'link':
        return linkCommand(rest, print);
      case 'mvcmd':
        return mvcmdCommand(rest, print);
      case 'serve':
        return await serveCommand(rest, print);
      case 'shave':
        return shaveCommand(rest, print);
      case 'infer':
        return await inferCommand(rest, print);
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      err.write(`myriad-emu: ${error.message}\nRun 'myriad-emu help' for usage.\n`);
      return EXIT.usage;
    }
    if (error instanceof InputError || error instanceof TraceError) {
      err.write(`myriad-emu: ${error.message}\n`);
      return EXIT.badInput;
    }
    throw error;
  }
}

function help(topic: string): string {
  const text = HELP[topic];
  if (text === undefined) throw new UsageError(`no help for '${topic}'`);
  return text.replace('$VERSION', emulatorVersion());
}

function info(args: string[], print: (line?: string) => void): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length > 1) throw new UsageError('info takes one image');
  const image = readInput(positionals[0], 'image');
  const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
  const row = (offset: number, record: string, detail: string) => print(`${String(offset).padStart(10)}  ${record.padEnd(8)}  ${detail}`);
  let loadBytes = 0;
  let records = 0;
  let entry: number | null = null;
  let error: string | null = null;
  const sink: MvcmdSink = {
    magic: (o) => (row(o, 'magic', '"MA2x"'), records++, true),
    name: (o, text) => (row(o, 'name', JSON.stringify(text)), records++, true),
    write8: (o, a, v) => (row(o, 'write8', `[${hex(a)}] = 0x${v.toString(16).padStart(2, '0')}`), records++, true),
    write32: (o, a, v) => (row(o, 'write32', `[${hex(a)}] = ${hex(v)}`), records++, true),
    loadStart: (o, a, n) => (row(o, 'load', `${hex(a)} .. ${hex(a + n)}  ${n} bytes`), (loadBytes += n), records++, true),
    loadData: () => {},
    call: (o, a) => (row(o, 'call', hex(a)), records++, true),
    send: (o, a, n) => (row(o, 'send', `${n} bytes from ${hex(a)} to the host on EP 0x81`), records++, true),
    jump: (o, a) => {
      row(o, 'jump', hex(a));
      records++;
      entry = a;
      return false;
    },
    error: (o, reason) => {
      error = `offset ${o}: ${reason}`;
    },
  };
  print(`${'offset'.padStart(10)}  ${'record'.padEnd(8)}  detail`);
  const parser = new MvcmdParser(sink);
  const consumed = parser.feed(image);
  print();
  print(`${image.length} bytes, ${records} records, ${loadBytes} bytes of load-block data`);
  if (error) throw new InputError(`malformed image: ${error}`);
  if (!parser.stopped && !parser.atRecordBoundary) throw new InputError(`truncated image: it ends missing ${parser.missing}`);
  if (entry === null) {
    print('no jump record: the ROM would wait for more of the stream');
  } else {
    print(`entry point ${hex(entry)}`);
    if (consumed < image.length) print(`${image.length - consumed} bytes after the jump record are never parsed`);
  }
  return EXIT.ok;
}

async function boot(args: string[], print: (line?: string) => void, err: NodeJS.WritableStream): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      model: { type: 'string', default: 'ma2485' },
      record: { type: 'string' },
      chunk: { type: 'string' },
      'chip-id': { type: 'string' },
      xlink: { type: 'string' },
      'snapshot-every': { type: 'string' },
      timeout: { type: 'string', default: '120' },
    },
  });
  const timeoutSeconds = Number(values.timeout);
  if (!(Number.isFinite(timeoutSeconds) && timeoutSeconds > 0)) throw new UsageError('--timeout takes a positive number of seconds');
  const deadline = performance.now() + timeoutSeconds * 1000;
  const echoBytes = values.xlink === undefined ? null : Number(values.xlink);
  if (echoBytes !== null && !(Number.isInteger(echoBytes) && echoBytes > 0 && echoBytes <= 64 << 20)) throw new UsageError('--xlink takes a number of bytes to echo, 1 to 67108864');
  const snapshotEvery = values['snapshot-every'] === undefined ? undefined : Number(values['snapshot-every']);
  if (snapshotEvery !== undefined && !(Number.isSafeInteger(snapshotEvery) && snapshotEvery > 0)) throw new UsageError('--snapshot-every takes a positive whole number');
  const chipIdText = values['chip-id'];
  if (chipIdText !== undefined && !/^(0x)?[0-9a-f]{1,16}$/i.test(chipIdText)) throw new UsageError('--chip-id takes up to 16 hex digits');
  const chipId = chipIdText === undefined ? undefined : BigInt(chipIdText.startsWith('0x') ? chipIdText : `0x${chipIdText}`);
  if (positionals.length > 1) throw new UsageError('boot takes one image');
  const model = findModel(values.model!);
  if (!model) throw new UsageError(`unknown model '${values.model}': ${Object.keys(models).join(' or ')}`);
  const chunk = values.chunk === undefined ? undefined : values.chunk === 'packet' ? 'packet' : Number(values.chunk);
  if (typeof chunk === 'number' && !(Number.isInteger(chunk) && chunk > 0)) throw new UsageError(`--chunk takes a positive number of bytes or 'packet'`);
  const image = readInput(positionals[0], 'image');

  const writer = values.record
    ? new TraceWriter(values.record, { emulator: emulatorVersion(), images: [image], ...(snapshotEvery ? { snapshotEvery } : {}) })
    : null;
  const hub = new Hub();
  const console: string[] = [];
  const port = hub.plug({
    model,
    record: true,
    ...(chipId !== undefined ? { chipId } : {}),
    ...(writer ? { attach: (stick) => writer.attach(stick) } : {}),
    listener: (event) => {
      if (event.kind === 'console.line') console.push(event.text);
    },
  });
  let hostLinesShown = 0;
  const showHost = () => {
    for (const line of hub.messages.slice(hostLinesShown)) print(`[host] ${line}`);
    hostLinesShown = hub.messages.length;
  };
  const finish = (code: number): number => {
    print(`virtual time ${formatTime(hub.now)}, ${port.recorder!.events.length} events`);
    if (writer) print(`trace written to ${values.record}`);
    return code;
  };
  try {
    await hub.sleep(300);
    const device = (await hub.usb.getDevices())[0];
    showHost();
    if (!device) {
      print('the host could not enumerate the stick');
      return EXIT.failed;
    }
    const bar = new ProgressBar('upload');
    let result;
    try {
      result = await bootDevice(hub.usb, device, image, {
        sleep: (ms) => hub.sleep(ms),
        cancelSleep: (sleeping) => hub.cancelSleep(sleeping),
        wallTimeoutMs: deadline - performance.now(),
        onProgress: (sent, total) => bar.update(sent, total),
        reattachTimeoutMs: 2000,
        ...(chunk !== undefined ? { chunkSize: chunk } : {}),
      });
    } catch (error) {
      if (!(error instanceof BootError)) throw error;
      err.write(`\n`);
      showHost();
      for (const line of console) print(`[console] ${line}`);
      print(`boot failed: ${error.message}`);
      if (port.stick.rom.phase === 'calling') print('  the code a call record started has not returned, so the ROM takes no more of the stream');
      printWhatHappened(port.recorder!.events, print);
      return finish(EXIT.failed);
    }
    showHost();
    for (const line of console) print(`[console] ${line}`);
    const back = result.reattached as { vendorId: number; productId: number; productName: string | null; serialNumber: string | null } | null;
    if (back) print(`the stick came back as ${back.vendorId.toString(16).padStart(4, '0')}:${back.productId.toString(16).padStart(4, '0')} "${back.productName ?? ''}" (serial ${back.serialNumber ?? '-'})`);
    const events = port.recorder!.events;
    const records = events.filter((e) => e.kind === 'rom.record').length;
    print(`sent ${result.bytesSent} bytes in ${result.transfers} transfer(s); the ROM performed ${records} records`);
    printWhatHappened(events, print);
    if (!result.detached) {
      print('the device did not leave the bus: the image did not reach a jump record');
      return finish(EXIT.failed);
    }
    let fault = firmwareFault(events);
    if (fault) {
      print(`boot failed: ${fault}`);
      return finish(EXIT.failed);
    }
    let code: number = EXIT.ok;
    if (echoBytes !== null) {
      const session = await withinWallTime(xlinkSession(hub, result.reattached as EmulatedUSBDevice | null, echoBytes, print), deadline - performance.now());
      if (session === 'wall-timeout') print(`xlink: gave up when the ${timeoutSeconds} s wall-clock limit ran out`);
      code = session === 'wall-timeout' ? EXIT.failed : session;
      fault = firmwareFault(port.recorder!.events);
      if (fault) {
        print(`xlink: ${fault}`);
        code = EXIT.failed;
      }
    }
    return finish(code);
  } finally {
    writer?.close();
    // The session is over: pulling the stick out stops its cores and ends any transfer still
    // pending, so nothing emulated can keep this process (or a caller's event loop) busy.
    hub.unplug(port);
  }
}

/** Core starts by the ROM, halts that are not sleeps, resets, ROM and bus errors: what a failed boot's reader needs. */
function printWhatHappened(events: readonly MachineEvent[], print: (line?: string) => void): void {
  const MAX_LINES = 20;
  let shown = 0;
  let more = 0;
  for (const event of events) {
    const explains =
      (event.kind === 'core.start' && event.mode !== 'interrupt') ||
      (event.kind === 'core.halt' && !isSleep(event.reason)) ||
      event.kind === 'rom.error' ||
      event.kind === 'bus.error' ||
      event.kind === 'machine.reset' ||
      event.kind === 'machine.halt';
    if (!explains) continue;
    if (shown < MAX_LINES) {
      print(`  ${describeEvent(event)}`);
      shown++;
    } else more++;
  }
  if (more > 0) print(`  ... and ${more} more ('myriad-emu log' of a --record trace lists them all)`);
}

/** The firmware's sleeps between interrupts (power-down, an idle loop) are how it waits, not faults. */
function isSleep(reason: string): boolean {
  return reason.startsWith('powered down') || reason.startsWith('in an idle loop');
}

/** The first way the machine stopped for good: a core in error mode (the trap named) or halted, a livelocked machine. */
function firmwareFault(events: readonly MachineEvent[]): string | null {
  for (const event of events) {
    if (event.kind === 'core.halt' && !isSleep(event.reason)) {
      return `${event.core} ${event.reason.startsWith('error mode') ? 'entered' : 'halted:'} ${event.reason} (at ${formatTime(event.t)})`;
    }
    if (event.kind === 'machine.halt') return `the machine halted: ${event.reason} (at ${formatTime(event.t)})`;
  }
  return null;
}

/** `work`, or 'wall-timeout' once `ms` of wall-clock time have passed; the timer never outlives it. */
async function withinWallTime<T>(work: Promise<T>, ms: number): Promise<T | 'wall-timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<'wall-timeout'>((resolve) => {
    timer = setTimeout(() => resolve('wall-timeout'), Math.max(0, ms));
  });
  // If it is abandoned, the unplug that ends the session makes it fail: that is expected, not unhandled.
  work.catch(() => {});
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function leon3(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): number {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { endian: { type: 'string' }, 'max-steps': { type: 'string', default: '10000000000' } },
  });
  if (positionals.length !== 1) throw new UsageError('leon3 takes one ELF file');
  if (values.endian !== undefined && values.endian !== 'big' && values.endian !== 'little') throw new UsageError(`--endian is big or little, not '${values.endian}'`);
  const maxSteps = Number(values['max-steps']);
  if (!Number.isSafeInteger(maxSteps) || maxSteps <= 0) throw new UsageError('--max-steps takes a positive whole number');
  const file = readInput(positionals[0], 'ELF');
  let littleEndian: boolean;
  try {
    littleEndian = values.endian ? values.endian === 'little' : parseElf32(file).littleEndian;
  } catch (error) {
    if (error instanceof ElfError) throw new InputError(`${positionals[0]}: ${error.message}`);
    throw error;
  }
  // UART bytes go out in pieces, so a chatty program never piles up in memory.
  let pending: number[] = [];
  const flush = () => {
    if (pending.length > 0) out.write(Buffer.from(pending));
    pending = [];
  };
  const board = new Leon3Board({
    littleEndian,
    onUart: (byte) => {
      pending.push(byte);
      if (pending.length >= 4096) flush();
    },
  });
  try {
    board.load(file);
  } catch (error) {
    if (error instanceof ElfError) throw new InputError(`${positionals[0]}: ${error.message}`);
    throw error;
  }
  const started = performance.now();
  const stop = board.run(maxSteps);
  const seconds = (performance.now() - started) / 1000;
  flush();
  const instructions = board.cpu.instructions;
  err.write(`${instructions} instructions in ${seconds.toFixed(3)} s: ${(instructions / seconds / 1e6).toFixed(1)} M instructions/s\n`);
  switch (stop.kind) {
    case 'exit':
      return EXIT.ok;
    case 'step-limit':
      err.write(`myriad-emu: step limit of ${maxSteps} instructions reached at pc 0x${(board.cpu.pc >>> 0).toString(16)}\n`);
      return EXIT.failed;
    case 'error-mode':
      err.write(`myriad-emu: the core entered ${stop.description}\n`);
      return EXIT.failed;
    case 'asleep':
      err.write(`myriad-emu: ${stop.description}\n`);
      return EXIT.failed;
  }
}

function linkCommand(args: string[], print: (line?: string) => void): number {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { layout: { type: 'string', short: 'T' }, output: { type: 'string', short: 'o' } } });
  if (!values.layout) throw new UsageError('link needs a layout file: -T layout.json');
  if (!values.output) throw new UsageError('link needs an output file: -o out.elf');
  if (positionals.length === 0) throw new UsageError('link needs object files');
  let layout;
  try {
    layout = parseLayout(Buffer.from(readInput(values.layout, 'layout')).toString('utf8'), values.layout);
  } catch (error) {
    if (error instanceof LayoutError) throw new InputError(error.message);
    throw error;
  }
  const objects = positionals.map((file) => {
    try {
      return parseObject(readInput(file, 'object'), file);
    } catch (error) {
      if (error instanceof ObjectError) throw new InputError(error.message);
      throw error;
    }
  });
  let image;
  try {
    image = link(objects, layout);
  } catch (error) {
    if (error instanceof LinkError) {
      print(`link failed: ${error.message}`);
      return EXIT.failed;
    }
    throw error;
  }
  writeFileSync(values.output, writeExecutable(image));
  for (const s of image.sections) print(`${s.name.padEnd(10)} 0x${s.address.toString(16).padStart(8, '0')}  ${s.size} bytes${s.nobits ? ' (no contents)' : ''}`);
  print(`entry 0x${image.entry.toString(16)} (${layout.entry}); wrote ${values.output}`);
  return EXIT.ok;
}

function mvcmdCommand(args: string[], print: (line?: string) => void): number {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { output: { type: 'string', short: 'o' } } });
  if (positionals.length !== 1) throw new UsageError('mvcmd takes one executable');
  if (!values.output) throw new UsageError('mvcmd needs an output file: -o out.mvcmd');
  let stream: Uint8Array;
  try {
    stream = elfToMvcmd(readInput(positionals[0], 'executable'));
  } catch (error) {
    if (error instanceof ElfError || error instanceof ObjectError) throw new InputError(`${positionals[0]}: ${error.message}`);
    throw error;
  }
  writeFileSync(values.output, stream);
  print(`wrote ${values.output}: ${stream.length} bytes`);
  return EXIT.ok;
}

/** The XLink conversation OpenVINO has with a freshly booted stick, shortened: ping, echo, reset. */
async function xlinkSession(hub: Hub, device: EmulatedUSBDevice | null, bytes: number, print: (line?: string) => void): Promise<number> {
  if (!device) {
    print('xlink: the stick did not come back as 03e7:f63b');
    return EXIT.failed;
  }
  const client = await XLinkClient.connect(device, { sleep: (ms) => hub.sleep(ms), cancelSleep: (p) => hub.cancelSleep(p) });
  await client.ping();
  const stream = await client.openStream('echo', Math.max(bytes, 4096));
  const message = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) message[i] = (i * 131 + 7) & 0xff;
  await client.write(stream, message);
  const back = await client.read(stream);
  const same = back.length === message.length && Buffer.from(back).equals(Buffer.from(message));
  print(`xlink: ping answered; echoed ${bytes} bytes through stream ${stream}: ${same ? 'identical' : 'DIFFERENT'}`);
  await client.close(hub.usb);
  print(`xlink: RESET sent; the host now sees ${(await hub.usb.getDevices()).map((d) => `${d.vendorId.toString(16).padStart(4, '0')}:${d.productId.toString(16).padStart(4, '0')}`).join(', ')}`);
  return same ? EXIT.ok : EXIT.failed;
}
