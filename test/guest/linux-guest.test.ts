/**
 * A real Linux USB stack against the emulated stick: Debian's kernel in a QEMU guest (TCG), its
 * xHCI controller's device a usb-redir channel to our usbredir server. In the guest, init.sh
 * reports what the kernel sees in sysfs and stick-host.c (libusb, static) boots the stick and
 * talks XLink the way the host libraries do (real-clients.md section 3); then boots it again and
 * runs the sample graph through mvnc as OpenVINO 2021.4's host library does, against an
 * expected output the layers' references compute here.
 *
 * The kernel (apt-get download + dpkg -x, never installed), stick-host and the initramfs are
 * built once per run into a cache directory keyed by the kernel version and these sources.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { f16ToNumber } from '../../emu/graph/f16.js';
import type { Tensor } from '../../emu/graph/layers/layer.js';
import { readGraph, sameTensor } from '../../emu/graph/reader.js';
import { tensorBytes, tensorFromBytes } from '../../emu/graph/tensor-place.js';
import { placeOf, type GraphTensor } from '../../emu/graph/writer.js';
import { Stick } from '../../emu/machine/stick.js';
import { ma2485 } from '../../emu/models/index.js';
import { UsbredirServer } from '../../emu/serve/usbredir-server.js';
import { xorshift32 } from '../support/random.js';
import { haveFiles, haveTools } from '../support/require-tool.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
const ready = haveTools('qemu-system-x86_64', 'gcc', 'busybox', 'dpkg', 'apt-get') && haveFiles({ '/usr/lib/x86_64-linux-gnu/libusb-1.0.a': 'libusb-1.0-0-dev' });

/** A newc cpio archive (the initramfs format) of the given files and directories. */
function cpio(entries: { name: string; mode: number; data?: Uint8Array }[]): Buffer {
  const parts: Buffer[] = [];
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  let ino = 1;
  for (const { name, mode, data } of [...entries, { name: 'TRAILER!!!', mode: 0 }]) {
    const body = data ?? new Uint8Array(0);
    const fields = [ino++, mode, 0, 0, 1, 0, body.length, 0, 0, 0, 0, name.length + 1, 0];
    const head = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}${name}\0`, 'latin1');
    parts.push(head, pad(head.length), Buffer.from(body), pad(body.length));
  }
  return Buffer.concat(parts);
}

interface Guest {
  kernel: string;
  initrd: string;
}


/** A tensor as the bytes of a FIFO element of `size` bytes, at the tensor's offset in it. */
function element(t: GraphTensor, size: number, value: Tensor): Uint8Array {
  const bytes = tensorBytes(placeOf(t), value);
  if (t.offset + bytes.length > size) throw new Error(`a ${bytes.length}-byte tensor at ${t.offset} does not fit an element of ${size} bytes`);
  const out = new Uint8Array(size);
  out.set(bytes, t.offset);
  return out;
}

/**
 * The mvnc step's files: the sample graph, a seeded random input element (any finite f16:
 * signed zeros and subnormals too) and the output the stages' references give for it, laid out
 * as the graph's input and output infos say.
 */
function inferenceFiles() {
  const blob = readFileSync(join(root, 'firmware-stubs', 'graphs', 'tiny-relu.graph'));
  const graph = readGraph(blob);
  const next = xorshift32(0x6e637332);
  const data = new Uint16Array(graph.input.shape.c * graph.input.shape.h * graph.input.shape.w).map(() => {
    for (;;) {
      const bits = next() & 0xffff;
      if (Number.isFinite(f16ToNumber(bits))) return bits;
    }
  });
  const values: { at: GraphTensor; value: Tensor }[] = [{ at: graph.input, value: { shape: graph.input.shape, data } }];
  const valueOf = (t: GraphTensor) => {
    for (let k = values.length - 1; k >= 0; k--) if (sameTensor(values[k]!.at, t)) return values[k]!.value; // the latest: a later stage may reuse a place
    throw new Error(`no stage writes the tensor at ${t.location} ${t.offset}`);
  };
  for (const stage of graph.stages) values.push({ at: stage.output, value: stage.layer.reference(stage.inputs.map(valueOf), stage.constants, stage.params) });
  const input = element(graph.input, graph.header.inputs_size, values[0]!.value);
  const expected = element(graph.output, graph.header.outputs_size, valueOf(graph.output));
  return { graph, blob, input, expected };
}
type InferenceFiles = ReturnType<typeof inferenceFiles>;

/** Kernel and initramfs, built once per run (reused while the sources are unchanged). */
function buildGuest(inference: InferenceFiles): Guest {
  const sources = ['init.sh', 'stick-host.c', 'udev-stubs.c'].map((f) => readFileSync(join(here, f)));
  const firmware = readFileSync(join(root, 'firmware-stubs', 'vsc', 'vsc-ma2485.mvcmd'));
  const depends = execFileSync('apt-cache', ['depends', 'linux-image-amd64'], { encoding: 'utf8' });
  const image = /Depends: (linux-image-[\w.-]+)/.exec(depends)?.[1];
  if (!image) throw new Error(`apt-cache names no kernel for linux-image-amd64:\n${depends}`);
  const key = createHash('sha256').update(image).update(Buffer.concat([...sources, firmware, inference.blob, inference.input, inference.expected])).digest('hex').slice(0, 16);
  const cache = join(tmpdir(), `myriad-guest-${key}`);
  const guest = { kernel: join(cache, 'vmlinuz'), initrd: join(cache, 'initramfs.cpio.gz') };
  if (existsSync(guest.initrd)) return guest;
  // Builds for older sources or kernels are not needed again.
  for (const old of readdirSync(tmpdir()).filter((f) => f.startsWith('myriad-guest-'))) rmSync(join(tmpdir(), old), { recursive: true, force: true });
  mkdirSync(cache, { recursive: true });
  const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: cache, stdio: ['ignore', 'pipe', 'pipe'] });
  if (!readdirSync(cache).some((f) => f.endsWith('.deb'))) run('apt-get', ['download', image]);
  const deb = readdirSync(cache).find((f) => f.endsWith('.deb'))!;
  run('dpkg', ['-x', deb, 'root']);
  const version = readdirSync(join(cache, 'root', 'lib', 'modules'))[0]!;
  writeFileSync(guest.kernel, readFileSync(join(cache, 'root', 'boot', `vmlinuz-${version}`)));
  run('gcc', ['-O2', '-static', '-o', 'stick-host', join(here, 'stick-host.c'), join(here, 'udev-stubs.c'), '-lusb-1.0', '-lpthread']);
  const modules = join(cache, 'root', 'lib', 'modules', version, 'kernel', 'drivers', 'usb');
  const module = (path: string) => ({ name: `lib/modules/${path.split('/').pop()}`, mode: 0o100644, data: readFileSync(join(modules, path)) });
  const archive = cpio([
    ...['bin', 'lib', 'lib/modules', 'proc', 'sys', 'dev'].map((name) => ({ name, mode: 0o40755 })),
    { name: 'init', mode: 0o100755, data: sources[0]! },
    { name: 'bin/busybox', mode: 0o100755, data: readFileSync(execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).trim()) },
    { name: 'bin/stick-host', mode: 0o100755, data: readFileSync(join(cache, 'stick-host')) },
    { name: 'image.mvcmd', mode: 0o100644, data: firmware },
    { name: 'tiny-relu.graph', mode: 0o100644, data: inference.blob },
    { name: 'input.bin', mode: 0o100644, data: inference.input },
    { name: 'expected.bin', mode: 0o100644, data: inference.expected },
    module('common/usb-common.ko'),
    module('core/usbcore.ko'),
    module('host/xhci-hcd.ko'),
    module('host/xhci-pci.ko'),
  ]);
  writeFileSync(guest.initrd, gzipSync(archive));
  // Keep only what boots: the extracted package is some 400 MB.
  rmSync(join(cache, 'root'), { recursive: true, force: true });
  rmSync(join(cache, deb), { force: true });
  return guest;
}

describe.runIf(ready)('a Linux guest boots the emulated stick through usb-redir', () => {
  let server: UsbredirServer;
  const serverLog: string[] = [];
  let console = '';
  let lines: string[] = [];
  let inference: InferenceFiles;

  beforeAll(async () => {
    inference = inferenceFiles();
    const guest = buildGuest(inference);
    server = await UsbredirServer.listen(new Stick({ model: ma2485 }), { port: 0, log: (line) => serverLog.push(line) });
    const qemu = spawn(
      'qemu-system-x86_64',
      [
        ...['-accel', 'tcg', '-m', '512', '-nographic', '-no-reboot', '-nic', 'none'],
        ...['-kernel', guest.kernel, '-initrd', guest.initrd, '-append', 'console=ttyS0 panic=-1 quiet'],
        ...['-device', 'qemu-xhci,id=xhci', '-chardev', `socket,id=ur,host=127.0.0.1,port=${server.address.port}`, '-device', 'usb-redir,chardev=ur,id=redir0,bus=xhci.0'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    qemu.stdout.on('data', (d) => (console += d));
    qemu.stderr.on('data', (d) => (console += d)); // QEMU says why it rejects a device only here
    const exited = new Promise((resolve) => qemu.on('exit', resolve));
    const timeout = setTimeout(() => qemu.kill('SIGKILL'), 200_000); // two boots and an inference
    await exited;
    clearTimeout(timeout);
    // The serial console carries ANSI escapes and CRs.
    lines = console.replace(/\x1b(\[[0-9;?]*[a-zA-Z]|[()][0-9A-Za-z]|[a-zA-Z])/g, '')
      .split(/\r?\n/)
      .map((l) => /GUEST (.*)$/.exec(l)?.[1]) // the first shares its line with the BIOS's last
      .filter((l): l is string => l !== undefined);
  }, 360_000);
  afterAll(() => server?.close());

  const report = () => `guest said:\n${lines.join('\n')}\n\nconsole tail:\n${console.slice(-3000)}\n\nserver:\n${serverLog.join('\n')}`;

  it('runs to the end without a failure', () => {
    expect(lines.at(-1), report()).toBe('done');
    expect(lines.filter((l) => l.includes('FAIL')), report()).toEqual([]);
  });

  it('the kernel enumerates 03e7:2485 with the ROM descriptors', () => {
    const devices = lines.filter((l) => l.startsWith('device '));
    expect(devices[0], report()).toBe('device 03e7:2485 bcdUSB=2.00 bcdDevice=0001 class=00 mps0=64 configs=1 speed=480');
    expect(lines, report()).toContain('strings manufacturer="Movidius Ltd." product="Movidius MyriadX" serial="03e72485"');
    expect(lines.find((l) => l.startsWith('configuration ')), report()).toBe('configuration value=1 attributes=80 power=500mA interfaces=1');
    expect(lines.find((l) => l.startsWith('interface ')), report()).toBe('interface 00 class=ff/11/ff endpoints: ep_01/Bulk/0200 ep_81/Bulk/0200');
  });

  it('the guest program boots the stick; the kernel sees it leave and come back as the VSC Loopback Device', () => {
    expect(lines.some((l) => /^host ok sent \d+ bytes$/.test(l)), report()).toBe(true);
    expect(lines, report()).toContain('host ok 03e7:f63b is back');
    expect(lines.filter((l) => l.startsWith('device '))[1], report()).toMatch(/^device 03e7:f63b /);
    expect(lines.find((l) => l.startsWith('strings ') && l.includes('VSC')), report()).toMatch(/product="VSC Loopback Device"/);
  });

  it('XLink ping, echo and reset work from the guest, and the stick comes back as 03e7:2485', () => {
    for (const step of ['host ok ping', 'host ok echo of 20000 bytes', 'host ok reset answered']) expect(lines, report()).toContain(step);
    expect(lines.filter((l) => l.startsWith('device '))[2], report()).toMatch(/^device 03e7:2485 /);
    expect(lines.find((l) => l.startsWith('dmesg: ')), report()).toMatch(/dmesg: [2-9] disconnects/);
  });

  it('booted again, the stick runs the sample graph for a C program speaking mvnc; the output matches the references bit for bit', () => {
    const { graph, input, expected } = inference;
    // The fixture itself: on a finite input, ReLU then leaky ReLU is max(x, +0) (the slope only meets non-negatives).
    const x = tensorFromBytes(placeOf(graph.input), input.subarray(graph.input.offset));
    const y = tensorFromBytes(placeOf(graph.output), expected.subarray(graph.output.offset));
    expect(Array.from(y.data)).toEqual(Array.from(x.data, (bits) => (f16ToNumber(bits) > 0 ? bits : 0)));
    expect(y.data.some((bits) => bits !== 0) && y.data.some((bits, i) => bits !== x.data[i])).toBe(true);

    const mvnc = lines.filter((l) => l.startsWith('mvnc ')).map((l) => l.slice('mvnc '.length));
    const descriptor = (t: GraphTensor, size: number) => `n=1 c=${t.shape.c} h=${t.shape.h} w=${t.shape.w} totalSize=${size}`;
    expect(mvnc.filter((l) => !l.startsWith('ok timing ')), report()).toEqual([
      'ok connected (ping)',
      expect.stringMatching(/^ok capabilities: max_graphs \d+ max_fifos \d+ max_memory \d+ max_executors \d+ fw_version 1\.2480\.0\.0$/),
      'ok device open',
      'ok graph header verified',
      `ok graph allocated: input ${descriptor(graph.input, graph.header.inputs_size)}, output ${descriptor(graph.output, graph.header.outputs_size)}, ${graph.stages.length} stages`,
      'ok allocation verified',
      'ok FIFOs allocated',
      `ok inference matches (${expected.length} bytes)`,
      'ok FIFOs deallocated',
      'ok graph deallocated',
      'ok reset answered',
    ]);
    // Per stage, then the runtime's own time and the whole inference, in ms.
    const timing = mvnc.find((l) => l.startsWith('ok timing '));
    expect(timing, report()).toMatch(/^ok timing( \S+)+ ms$/);
    const ms = timing!.slice('ok timing '.length, -' ms'.length).split(' ').map(Number);
    expect(ms).toHaveLength(graph.stages.length + 2);
    const stages = ms.slice(0, graph.stages.length);
    for (const t of stages) expect(t).toBeGreaterThan(0);
    expect(ms.at(-1)!).toBeGreaterThanOrEqual(stages.reduce((a, b) => a + b, 0) * (1 - 1e-5));

    // Second boot, then mvnc's closing reset: the kernel saw the stick leave and come back twice more.
    const devices = lines.filter((l) => l.startsWith('device '));
    expect(devices.slice(3), report()).toEqual([expect.stringMatching(/^device 03e7:f63b /), expect.stringMatching(/^device 03e7:2485 /)]);
    expect(lines.find((l) => l.startsWith('dmesg after mvnc: ')), report()).toMatch(/disconnects$/);
    const disconnects = (prefix: string) => Number(/(\d+) disconnects/.exec(lines.find((l) => l.startsWith(prefix)) ?? '')?.[1]);
    expect(disconnects('dmesg after mvnc: '), report()).toBe(disconnects('dmesg: ') + 2);
  });
});
