import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../emu/events/canonical.js';
import { TraceReader } from '../../emu/trace/format.js';
import { haveTools } from '../support/require-tool.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'dist/emu/cli/bin.js');
const dir = mkdtempSync(join(tmpdir(), 'myriad-trace-cli-'));
const xlink = join(root, 'traces/xlink-ma2485.myrtrace');
const boot2450 = join(root, 'traces/boot-ma2450.myrtrace');
const malformed = join(root, 'traces/malformed-image.myrtrace');
/** The open firmware's size: the xlink golden trace uploads it. */
const IMAGE_BYTES = readFileSync(join(root, 'firmware-stubs/vsc/vsc-ma2485.mvcmd')).length;

function run(...args: string[]) {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: 'npm test' builds it (npm run build)`);
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const lines = (text: string) => text.trimEnd().split('\n');

describe('myriad-emu trace commands', () => {
  it('record writes a trace that replays, with a progress bar', () => {
    const file = join(dir, 'rec.myrtrace');
    const r = run('record', file, join(root, 'firmware-stubs/vsc/vsc-ma2450.mvcmd'), '--model', 'ma2450', '--xlink', '1000');
    expect(r.code).toBe(0);
    expect(r.out).toContain('echoed 1000 bytes');
    const replay = run('replay', file);
    expect(replay).toMatchObject({ code: 0, out: expect.stringContaining('re-derived identically (ma2450') });
    expect(replay.err).toMatch(/replay \d+\/\d+ 100%/);
    expect(run('record')).toMatchObject({ code: 2 });
  });

  it('log prints every event, and filters by kind, endpoint, address range, time and number', () => {
    const total = TraceReader.open(xlink).index.events;
    const all = run('log', xlink);
    expect(all.code).toBe(0);
    expect(lines(all.out).length).toBe(total + 1);
    expect(all.out).toContain(`${total} of ${total} events`);

    const connects = lines(run('log', xlink, '--kind', 'usb.connect').out).slice(0, -1);
    expect(connects.map((l) => /productId=(0x[0-9a-f]+)/.exec(l)![1])).toEqual(['0x2485', '0xf63b', '0x2485']);

    const family = lines(run('log', xlink, '--kind', 'core,rom.error').out).slice(0, -1);
    expect(family.length).toBeGreaterThan(0);
    expect(family.every((l) => / (core\.\S+|rom\.error) /.test(l))).toBe(true);

    const ep81 = lines(run('log', xlink, '--endpoint', '0x81').out).slice(0, -1);
    expect(ep81.length).toBeGreaterThan(0);
    expect(ep81.every((l) => l.includes('endpoint=0x81'))).toBe(true);
    const ep1 = lines(run('log', xlink, '--endpoint', '1').out).slice(0, -1);
    expect(ep1.length).toBeGreaterThan(ep81.length); // both directions

    const uart = lines(run('log', xlink, '--addr', '0x20e00000-0x20e000ff', '--kind', 'bus').out).slice(0, -1);
    for (const l of uart) expect(Number.parseInt(/addr=0x([0-9a-f]+)/.exec(l)![1]!, 16)).toBeGreaterThanOrEqual(0x20e00000);

    const window = lines(run('log', xlink, '--from-t', '300ms', '--to-t', '0.3006s').out).slice(0, -1);
    expect(window.length).toBeGreaterThan(0);
    for (const l of window) {
      const t = Number(/^#\d+ ([\d.]+)s/.exec(l)![1]);
      expect(t).toBeGreaterThanOrEqual(0.3);
      expect(t).toBeLessThanOrEqual(0.3006);
    }
    expect(lines(run('log', xlink, '--from', '10', '--to', '19').out).slice(0, -1).map((l) => l.split(' ')[0])).toEqual(
      Array.from({ length: 10 }, (_, i) => `#${10 + i}`),
    );
    expect(run('log', xlink, '--from-t', 'soon')).toMatchObject({ code: 2, err: expect.stringContaining('takes a time like') });
  });

  it('stat counts events, bytes per endpoint and time per phase', () => {
    const r = run('stat', xlink);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/ma2485, chip id 0d2c3b4a59687f80/);
    expect(r.out).toMatch(new RegExp(`image sha256 [0-9a-f]{64} \\(${IMAGE_BYTES} bytes\\)`));
    expect(r.out).toMatch(/^ +\d+ +host\.transfer$/m);
    // The upload went out on 0x01 (the image, then XLink packets with the 4 KiB echo).
    const out = /0x01 OUT +(\d+) transfers +(\d+) bytes/.exec(r.out)!;
    expect(Number(out[2])).toBeGreaterThanOrEqual(IMAGE_BYTES + 4096);
    expect(r.out).toMatch(/0x81 IN +\d+ transfers +\d+ bytes/);
    expect(r.out).toMatch(/^ +rom +\d\.\d+s$/m);
    expect(r.out).toMatch(/^ +firmware +\d\.\d+s$/m);
    const stalled = run('stat', malformed);
    expect(stalled.out).toMatch(/0x01 OUT +\d+ transfers +\d+ bytes, 1 stalled/);
  });

  it('seek shows the machine at event N: LEON registers, memory, devices', () => {
    const reader = TraceReader.open(xlink);
    const events = [...reader.events()];
    reader.close();
    const jump = events.find((e) => e.kind === 'core.start' && e.mode === 'jump')!;
    const configured = events.find((e) => e.seq > jump.seq && e.kind === 'usb.state' && e.state === 'configured')!;
    const n = configured.seq + 1;
    const r = run('seek', xlink, String(n), '--mem', '0x70000000:32', '--mem', '0x10:4');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`at event #${n} `);
    expect(r.out).toMatch(/leon-os: \S+.*instructions/);
    expect(r.out).toMatch(/pc=[0-9a-f]{8} npc=[0-9a-f]{8} psr=[0-9a-f]{8}/);
    expect(r.out).toMatch(/%o0-7( [0-9a-f]{8}){8}/);
    expect(r.out).toMatch(/usb=configured address=\d/);
    expect(r.out).toMatch(/^ +udc: \{/m);
    // The firmware's first bytes, as the ROM loaded them from the image.
    const image = readFileSync(join(root, 'firmware-stubs/vsc/vsc-ma2485.mvcmd'));
    const loadAt = 19; // the .text load record starts at 12; its data after a 7-byte header
    expect(r.out).toContain(`70000000  ${[...image.subarray(loadAt, loadAt + 16)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`);
    expect(r.out).toContain('memory 0x10+4: not RAM');
    // Past the last event is the command line's fault (exit 2), not the file's (exit 3).
    const total = events.length;
    expect(run('seek', xlink, String(total))).toMatchObject({ code: 2, err: expect.stringContaining(`holds events 0 to ${total - 1}; there is no event ${total}`) });
    expect(run('seek', xlink, '99999999')).toMatchObject({ code: 2, err: expect.stringContaining('there is no event 99999999') });
  });

  it('trim writes a smaller trace that replays from its own first snapshot', () => {
    const out = join(dir, 'trimmed.myrtrace');
    const r = run('trim', xlink, '--from', '250', '--to', '400', '-o', out);
    expect(r.code).toBe(0);
    const reader = TraceReader.open(out);
    const events = [...reader.events()];
    const full = TraceReader.open(xlink);
    expect(events[0]!.seq).toBeGreaterThanOrEqual(250);
    expect(events[0]!.seq).toBeLessThan(full.index.events);
    expect(events.at(-1)!.seq).toBeGreaterThanOrEqual(400);
    expect(reader.index.events).toBeLessThan(full.index.events);
    const original = new Map([...full.events()].map((e) => [e.seq, canonicalJson(e)]));
    for (const e of events) expect(canonicalJson(e)).toBe(original.get(e.seq));
    reader.close();
    full.close();
    expect(run('replay', out)).toMatchObject({ code: 0, out: expect.stringContaining('re-derived identically') });
    expect(run('trim', xlink, '--from', '9', '--to', '3', '-o', out)).toMatchObject({ code: 2 });
  });

  it('export --pcap writes usbmon packets; bad input exits 3 with the byte offset', () => {
    const out = join(dir, 'boot.pcap');
    const r = run('export', '--pcap', boot2450, '-o', out);
    expect(r.code).toBe(0);
    const pcap = readFileSync(out);
    expect(pcap.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(pcap.readUInt32LE(20)).toBe(220);
    // The first packet: a GET_DESCRIPTOR(DEVICE) submission to address 0 on the control endpoint.
    const packet = pcap.subarray(24 + 16);
    expect(String.fromCharCode(packet[8]!)).toBe('S');
    expect(packet[9]).toBe(2); // control
    expect(packet[10]).toBe(0x80);
    expect([...packet.subarray(40, 44)]).toEqual([0x80, 0x06, 0x00, 0x01]);
    expect(run('export', boot2450, '-o', out)).toMatchObject({ code: 2, err: expect.stringContaining('--pcap') });
    const cut = join(dir, 'cut.myrtrace');
    writeFileSync(cut, readFileSync(boot2450).subarray(0, 20));
    expect(run('export', '--pcap', cut, '-o', out)).toMatchObject({ code: 3, err: expect.stringMatching(/cut\.myrtrace: byte \d+: the file ends before its header chunk is complete/) });
  });
});

describe('Wireshark reads the exported pcap (tshark)', () => {
  const ok = haveTools('tshark');
  it.skipIf(!ok)('decodes GET_DESCRIPTOR replies (03e7 and both product ids) and the bulk transfers', () => {
    const out = join(dir, 'xlink.pcap');
    expect(run('export', '--pcap', xlink, '-o', out).code).toBe(0);
    const tshark = (...args: string[]) => {
      const r = spawnSync('tshark', ['-r', out, ...args], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return lines(r.stdout).filter((l) => l.length > 0);
    };
    const devices = tshark('-Y', 'usb.idVendor', '-T', 'fields', '-e', 'usb.idVendor', '-e', 'usb.idProduct');
    expect(new Set(devices)).toEqual(new Set(['0x03e7\t0x2485', '0x03e7\t0xf63b']));
    // Every bulk transfer as Wireshark sees it, against the trace's own transfers.
    const bulk = tshark('-Y', 'usb.transfer_type == 3', '-T', 'fields', '-e', 'usb.urb_type', '-e', 'usb.endpoint_address', '-e', 'usb.urb_len', '-e', 'usb.data_len');
    const reader = TraceReader.open(xlink);
    const expected: string[] = [];
    for (const e of reader.events()) {
      if (e.kind === 'host.transfer') expected.push(`'S'\t0x${e.endpoint.toString(16).padStart(2, '0')}\t${e.length}\t${e.endpoint & 0x80 ? 0 : e.length}`);
      if (e.kind === 'usb.transfer.done') expected.push(`'C'\t0x${e.endpoint.toString(16).padStart(2, '0')}\t${e.length}\t${e.endpoint & 0x80 ? (e.data?.length ?? 0) : 0}`);
    }
    reader.close();
    expect(bulk).toEqual(expected);
    expect(bulk.some((l) => l.startsWith(`'S'\t0x01\t${IMAGE_BYTES}\t${IMAGE_BYTES}`))).toBe(true); // the image upload
  });
});
