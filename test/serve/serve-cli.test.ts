import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TraceReader } from '../../emu/trace/format.js';
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
