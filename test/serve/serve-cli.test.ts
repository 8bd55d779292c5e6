import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TraceReader } from '../../emu/trace/format.js';
import { replayTrace } from '../../emu/trace/replay-trace.js';
import { UsbredirClient } from '../support/usbredir-client.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'dist/emu/cli/bin.js');
const dir = mkdtempSync(join(tmpdir(), 'myriad-serve-'));

describe('myriad-emu serve', () => {
  it('serves sticks on usbredir and USB/IP ports, stays up across clients, logs them, and writes every trace on SIGINT', async () => {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: 'npm test' builds it`);
    const trace = join(dir, 'served.myrtrace');
    const child = spawn(process.execPath, [bin, 'serve', '--usbredir', '0', '--usbredir', '127.0.0.1:0', '--usbip', '0', '--record', trace], { cwd: root });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const ports: number[] = [];
    const deadline = Date.now() + 10_000;
    while ((ports.length < 2 || !/usbip on/.test(out)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      ports.splice(0, ports.length, ...[...out.matchAll(/usbredir on 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])));
    }
    expect(ports.length).toBe(2);
    expect(out).toMatch(/\[stick 1\] ma2485 chip id 0d2c3b4a59687f80/);
    expect(out).toMatch(/\[stick 2\] ma2485 chip id 0d2c3b4b59688081/);
    for (const port of [ports[0]!, ports[0]!, ports[1]!]) {
      const client = await UsbredirClient.open(port);
      await client.waitFor(() => client.device !== null);
      expect(client.device!.productId).toBe(0x2485);
      client.close();
      await client.waitFor(() => out.split('closed').length > 1);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(out.match(/\[stick 1\] usbredir 127\.0\.0\.1:\d+: connected/g)?.length).toBe(2);
    expect(out.match(/\[stick 2\] usbredir 127\.0\.0\.1:\d+: connected/g)?.length).toBe(1);
    // Stick 3 on USB/IP: OP_REQ_DEVLIST lists it.
    const usbipPort = Number(/\[stick 3\] ma2485 chip id \w+: usbip on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    const listed = await new Promise<Buffer>((resolve) => {
      const socket = connect(usbipPort, '127.0.0.1', () => socket.write(Buffer.from([1, 0x11, 0x80, 5, 0, 0, 0, 0])));
      let got = Buffer.alloc(0);
      socket.on('data', (d) => {
        got = Buffer.concat([got, d]);
        if (got.length >= 12 + 312 + 4) socket.destroy(), resolve(got);
      });
    });
    expect([listed.readUInt32BE(8), listed.readUInt16BE(12 + 300), listed.readUInt16BE(12 + 302)]).toEqual([1, 0x03e7, 0x2485]);
    child.kill('SIGINT');
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(out).toMatch(/stopped; traces written/);
    for (const file of [`${trace}-1`, `${trace}-2`, `${trace}-3`]) {
      const reader = TraceReader.open(file);
      const kinds = new Set([...reader.events()].map((e) => e.kind));
      expect(kinds).toContain('usb.connect');
      expect(kinds).toContain('host.control');
      reader.close();
    }
  }, 30_000);

  it.each([
    [['serve'], /at least one --usbredir or --usbip/],
    [['serve', '--usbredir', 'localhost'], /'localhost' is not an address/],
    [['serve', '--usbredir', '99999'], /is not an address/],
    [['serve', '--usbredir', '0', '--model', 'ma9999'], /unknown model/],
  ])('%j is a usage error', (args, message) => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root, timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

/** A `serve` process and what it prints; `ports` waits for the listening addresses it names. */
function serve(args: string[]) {
  const child = spawn(process.execPath, [bin, 'serve', ...args], { cwd: root });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    exited,
    output: () => out,
    async ports(count: number): Promise<number[]> {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const ports = [...out.matchAll(/(?:usbredir|usbip) on 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
        if (ports.length >= count) return ports;
        if (Date.now() > deadline) throw new Error(`serve did not listen: ${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** Resolves with the exit code, or null if the process is still running after `ms` (then killed). */
async function exitWithin(running: ReturnType<typeof serve>, ms: number): Promise<number | null> {
  const timer = new Promise<null>((r) => setTimeout(() => r(null), ms));
  const code = await Promise.race([running.exited, timer]);
  if (code === null) running.child.kill('SIGKILL');
  return code;
}

describe('myriad-emu serve: addresses it cannot have, and caps', () => {
  it.each([
    ['a port in use', async (busy: number) => ['--usbredir', String(busy)]],
    ['a port in use after an address that worked', async (busy: number) => ['--usbredir', '0', '--usbip', String(busy)]],
    ['an address this host does not have', async () => ['--usbip', '192.0.2.1:0']],
  ])('%s: the error is printed and serve exits 2', async (_name, args) => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    try {
      const running = serve(await args((holder.address() as AddressInfo).port));
      expect(await exitWithin(running, 10_000)).toBe(2);
      expect(running.output()).toMatch(/cannot listen: .*(EADDRINUSE|EADDRNOTAVAIL)/);
    } finally {
      holder.close();
    }
  }, 20_000);

  it('--max-trace-bytes: recording stops at the cap with a message, the trace is whole and replays, the stick goes on serving', async () => {
    const trace = join(dir, 'capped.myrtrace');
    const running = serve(['--usbredir', '0', '--record', trace, '--max-trace-bytes', '64K']);
    const [port] = await running.ports(1);
    const client = await UsbredirClient.open(port!);
    await client.waitFor(() => client.device !== null);
    // Vendor control OUTs of 4 KiB (the ROM STALLs them): each payload goes into the trace.
    const head = Buffer.from([0x00, 0x55, 0x40, 0, 0, 0, 0, 0, 0x00, 0x10]);
    for (let i = 0; i < 40; i++) {
      const reply = await client.request(100, Buffer.concat([head, randomBytes(4096)])).reply;
      expect(reply.body[3]).toBe(4); // stall
    }
    await client.waitFor(() => /reached --max-trace-bytes/.test(running.output()));
    expect(running.output()).toMatch(/\[stick 1\] trace .*capped\.myrtrace reached --max-trace-bytes \(65536 bytes\): recording stopped before event \d+ and the trace is closed \(it replays up to there\)/);
    const descriptor = await client.device!.controlTransferIn({ requestType: 0x80, request: 6, value: 0x0100, index: 0 }, 18);
    expect(descriptor.status).toBe('ok');
    client.close();
    running.child.kill('SIGINT');
    expect(await exitWithin(running, 10_000)).toBe(0);
    expect(statSync(trace).size).toBeLessThan(64 * 1024 + 8 * 1024);
    const reader = TraceReader.open(trace);
    try {
      const result = replayTrace(reader);
      expect(result.divergence).toBeNull();
      expect(result.events).toBeGreaterThan(20);
      expect(result.events).toBe(reader.index.events);
    } finally {
      reader.close();
    }
  }, 30_000);

  it.each([
    [['--usbredir', '0', '--record', 'x', '--max-trace-bytes', '0'], /--max-trace-bytes takes a positive number/],
    [['--usbredir', '0', '--record', 'x', '--max-trace-bytes', '12X'], /--max-trace-bytes takes a positive number/],
    [['--usbredir', '0', '--max-trace-bytes', '1M'], /--max-trace-bytes needs --record/],
  ])('%j is a usage error', (args, message) => {
    const r = spawnSync(process.execPath, [bin, 'serve', ...args], { encoding: 'utf8', cwd: dir, timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('SIGTERM stops serve at once while a client floods it without reading, and the trace is closed', async () => {
    const trace = join(dir, 'flooded.myrtrace');
    const running = serve(['--usbredir', '0', '--record', trace]);
    const [port] = await running.ports(1);
    const client = await UsbredirClient.open(port!);
    await client.waitFor(() => client.device !== null);
    client.setReading(false);
    const request = Buffer.from([0x80, 6, 0x80, 0, 0x00, 0x01, 0, 0, 18, 0]);
    client.write(Buffer.concat(Array.from({ length: 300_000 }, (_, i) => client.encode(100, BigInt(i + 1), request))));
    await new Promise((r) => setTimeout(r, 1500));
    running.child.kill('SIGTERM');
    expect(await exitWithin(running, 3000)).toBe(0);
    client.close();
    const reader = TraceReader.open(trace);
    expect(reader.index.events).toBeGreaterThan(1000);
    reader.close();
  }, 30_000);
});
