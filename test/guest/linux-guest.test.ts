/**
 * A real Linux USB stack against the emulated stick: Debian's kernel in a QEMU guest (TCG), its
 * xHCI controller's device a usb-redir channel to our usbredir server. In the guest, init.sh
 * reports what the kernel sees in sysfs and stick-host.c (libusb, static) boots the stick and
 * talks XLink the way the host libraries do (real-clients.md section 3).
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
import { Stick } from '../../emu/machine/stick.js';
import { ma2485 } from '../../emu/models/index.js';
import { UsbredirServer } from '../../emu/serve/usbredir-server.js';
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

/** Kernel and initramfs, built once per run (reused while the sources are unchanged). */
function buildGuest(): Guest {
  const sources = ['init.sh', 'stick-host.c', 'udev-stubs.c'].map((f) => readFileSync(join(here, f)));
  const firmware = readFileSync(join(root, 'firmware-stubs', 'vsc', 'vsc-ma2485.mvcmd'));
  const depends = execFileSync('apt-cache', ['depends', 'linux-image-amd64'], { encoding: 'utf8' });
  const image = /Depends: (linux-image-[\w.-]+)/.exec(depends)?.[1];
  if (!image) throw new Error(`apt-cache names no kernel for linux-image-amd64:\n${depends}`);
  const key = createHash('sha256').update(image).update(Buffer.concat([...sources, firmware])).digest('hex').slice(0, 16);
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

  beforeAll(async () => {
    const guest = buildGuest();
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
    const timeout = setTimeout(() => qemu.kill('SIGKILL'), 100_000);
    await exited;
    clearTimeout(timeout);
    // The serial console carries ANSI escapes and CRs.
    lines = console.replace(/\x1b(\[[0-9;?]*[a-zA-Z]|[()][0-9A-Za-z]|[a-zA-Z])/g, '')
      .split(/\r?\n/)
      .map((l) => /GUEST (.*)$/.exec(l)?.[1]) // the first shares its line with the BIOS's last
      .filter((l): l is string => l !== undefined);
  }, 240_000);
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
    expect(lines.filter((l) => l.startsWith('device ')).at(-1), report()).toMatch(/^device 03e7:2485 /);
    expect(lines.find((l) => l.startsWith('dmesg: ')), report()).toMatch(/dmesg: [2-9] disconnects/);
  });
});
