import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { b, elf, exit, nop, print, ta } from '../support/sparc-encode.js';
import { tamperEvent } from '../support/trace-builder.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'dist/emu/cli/bin.js');
const image = join(root, 'firmware-stubs/idle-loop/idle-loop.mvcmd');
const dir = mkdtempSync(join(tmpdir(), 'myriad-cli-'));

function run(...args: string[]) {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: 'npm test' builds it (npm run build)`);
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('myriad-emu CLI', () => {
  it('help and version exit 0; unknown commands and options exit 2 with a hint', () => {
    expect(run('--help')).toMatchObject({ code: 0, out: expect.stringContaining('Usage: myriad-emu <command>') });
    expect(run('help', 'boot').out).toContain('--record');
    expect(run('--version').out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(run('dance')).toMatchObject({ code: 2, err: expect.stringContaining("unknown command 'dance'") });
    expect(run('boot', image, '--bogus')).toMatchObject({ code: 2 });
    expect(run('boot', image, '--model', 'ma9999')).toMatchObject({ code: 2, err: expect.stringContaining('ma2450 or ma2485') });
    expect(run('boot', image, '--chunk', '-3')).toMatchObject({ code: 2 });
    expect(run('info')).toMatchObject({ code: 2, err: expect.stringContaining('image file missing') });
  });

  it('info lists the records of an image with offsets, addresses and sizes', () => {
    const r = run('info', image);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\s+56\s+load\s+0x70000000 \.\. 0x70000018\s+24 bytes/);
    expect(r.out).toContain('entry point 0x70000000');
  });

  it('info of a malformed or missing file exits 3 and names the byte offset', () => {
    const bad = join(dir, 'bad.mvcmd');
    writeFileSync(bad, Buffer.from([0x4d, 0x41, 0x32, 0x78, 0x00, 0x00, 0x77]));
    expect(run('info', bad)).toMatchObject({ code: 3, err: expect.stringContaining('malformed image: offset 6: unknown opcode 0x77') });
    const truncated = join(dir, 'truncated.mvcmd');
    writeFileSync(truncated, Buffer.from([0x4d, 0x41, 0x32, 0x78, 0x8a, 0, 0, 0, 0x70, 2, 0, 1, 2]));
    expect(run('info', truncated)).toMatchObject({ code: 3, err: expect.stringContaining('missing 6 bytes of a load block') });
    expect(run('info', join(dir, 'nope.mvcmd'))).toMatchObject({ code: 3, err: expect.stringContaining('ENOENT') });
  });

  it('boot records a trace; two processes record byte-identical traces; replay verifies it', () => {
    const a = join(dir, 'a.myrtrace');
    const b = join(dir, 'b.myrtrace');
    const first = run('boot', image, '--record', a);
    expect(first.code).toBe(0);
    expect(first.out).toContain('USB disconnect (boot ROM jumped to the firmware)');
    expect(first.err).toContain('upload');
    expect(run('boot', image, '--record', b, '--model', 'ma2485').code).toBe(0);
    expect(readFileSync(b).equals(readFileSync(a))).toBe(true);
    expect(run('replay', a)).toMatchObject({ code: 0, out: expect.stringContaining('re-derived identically') });
  });

  it('boot in packet-sized transfers on an NCS works too', () => {
    const r = run('boot', image, '--model', 'ma2450', '--chunk', 'packet');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`in ${Math.ceil(readFileSync(image).length / 512)} transfer(s)`);
  });

  it('a rejected image makes boot exit 1 with the ROM error', () => {
    const bad = join(dir, 'reject.mvcmd');
    writeFileSync(bad, Buffer.from('not an image'));
    const r = run('boot', bad);
    expect(r.code).toBe(1);
    expect(r.out).toContain('boot failed: device answered stall at byte 0');
    expect(r.out).toContain('bad magic');
  });

  it('replay of a tampered trace exits 1 and prints the first differing event, the events before it and the machine', () => {
    const a = join(dir, 'tamper.myrtrace');
    expect(run('boot', image, '--record', a).code).toBe(0);
    const { trace, seq } = tamperEvent(
      readFileSync(a),
      (e) => e.kind === 'usb.state' && e.state === 'configured',
      (line) => line.replace('"configuration":1', '"configuration":2'),
    );
    const tampered = join(dir, 'tampered.myrtrace');
    writeFileSync(tampered, trace);
    const r = run('replay', tampered);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`DIVERGED at event #${seq}`);
    expect(r.out).toMatch(/expected: #\d+ \S+ usb.state address=1 configuration=2 state="configured"/);
    expect(r.out).toMatch(/actual: {3}#\d+ \S+ usb.state address=1 configuration=1 state="configured"/);
    expect(r.out).toContain('events before it:');
    expect(r.out).toMatch(/machine:\n +t=/);
    expect(r.out).toMatch(/leon-os: .*instructions\n +pc=[0-9a-f]{8} npc=/);
  });

  it('replay of a file that is not a trace exits 3 naming the byte offset', () => {
    const junk = join(dir, 'junk.myrtrace');
    writeFileSync(junk, '{"format":"myriad-trace","version":1,"emulator":"x","model":"ma2485"}\n{"kind":"host.plug","seq":0,"t":0}\n');
    expect(run('replay', junk)).toMatchObject({ code: 3, err: expect.stringContaining('junk.myrtrace: byte 0: not a trace file') });
    expect(run('replay', join(dir, 'missing.myrtrace'))).toMatchObject({ code: 3, err: expect.stringContaining('ENOENT') });
  });
});

describe('myriad-emu leon3', () => {
  const write = (name: string, bytes: Uint8Array) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };

  it('prints the UART to stdout and the count and rate to stderr; exit 0 after ta 0 with traps off', () => {
    const r = run('leon3', write('hello.elf', elf([...print('hello\n'), ...exit()])));
    expect(r).toMatchObject({ code: 0, out: 'hello\n' });
    expect(r.err).toMatch(/^\d+ instructions in [\d.]+ s: [\d.]+ M instructions\/s/);
  });

  it('runs little-endian ELFs (Myriad byte order)', () => {
    expect(run('leon3', write('le.elf', elf([...print('le\n'), ...exit()], { littleEndian: true })))).toMatchObject({ code: 0, out: 'le\n' });
  });

  it('exit 1 with a clear message on a step limit and on error mode with another cause', () => {
    const spin = write('spin.elf', elf([b(8, 0), b(8, 0)])); // a ba . with a ba . in its delay slot: pc alternates 0, 4
    expect(run('leon3', spin, '--max-steps', '1000')).toMatchObject({ code: 1, err: expect.stringMatching(/step limit of 1000 instructions reached at pc 0x4000000[04]/) });
    const idle = write('idle.elf', elf([b(8, 0, true)])); // ba,a . : an idle loop nothing can end
    expect(run('leon3', idle)).toMatchObject({ code: 1, err: expect.stringContaining('in an idle loop (ba,a to itself at 0x40000000) with no interrupt that could wake it') });
    const trap = write('trap.elf', elf([ta(3)]));
    expect(run('leon3', trap)).toMatchObject({ code: 1, err: expect.stringContaining('error mode after trap_instruction 3') });
  });

  it('exit 3 for a file that is not a SPARC ELF; exit 2 for bad options', () => {
    expect(run('leon3', image)).toMatchObject({ code: 3, err: expect.stringContaining('not an ELF file') });
    expect(run('leon3', write('x.elf', elf([nop()])), '--endian', 'middle')).toMatchObject({ code: 2 });
    expect(run('leon3', write('y.elf', elf([nop()])), '--max-steps', '0')).toMatchObject({ code: 2 });
  });
});
