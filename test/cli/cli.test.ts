import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeMvcmd, type MvcmdRecord } from '../../emu/rom/mvcmd.js';
import { SAFE_KEY, TIMER } from '../../emu/soc/timer.js';
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

describe('myriad-emu boot of images that do not boot', () => {
  const CMX = 0x70000000;
  const TIM0 = 0x20320000; // ma2485
  /** SPARC words in the LEON's byte order on the Myriad bus (little-endian). */
  const code = (words: readonly number[]) => {
    const bytes = new Uint8Array(words.length * 4);
    words.forEach((word, i) => new DataView(bytes.buffer).setUint32(i * 4, word, true));
    return bytes;
  };
  const write = (name: string, records: MvcmdRecord[]) => {
    const path = join(dir, name);
    writeFileSync(path, encodeMvcmd([{ op: 'magic' }, ...records]));
    return path;
  };
  const timed = (...args: string[]) => {
    const started = performance.now();
    const r = run(...args);
    return { ...r, seconds: (performance.now() - started) / 1000 };
  };
  // ba . with a nop in the delay slot: the called code never returns and never parks the core.
  const spin: MvcmdRecord[] = [{ op: 'load', addr: CMX, data: code([b(8, 0), nop()]) }, { op: 'call', addr: CMX }, { op: 'jump', addr: CMX }];

  it('a call record whose code never returns: exit 1 once the transfer times out, and the process ends', () => {
    const r = timed('boot', write('spin.mvcmd', spin));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/boot failed: bulk transfer timed out after 2000 ms at byte 0 of \d+/);
    expect(r.out).toContain('the code a call record started has not returned');
    expect(r.out).toMatch(/core\.start core="leon-os" mode="call" pc=0x70000000/);
    expect(r.seconds).toBeLessThan(45);
  }, 70_000);

  it('--timeout bounds the boot in wall-clock time too', () => {
    const r = timed('boot', write('spin-wall.mvcmd', spin), '--timeout', '0.5');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/boot failed: bulk transfer timed out when the boot's wall-clock limit of \d+ ms ran out at byte 0/);
    expect(r.seconds).toBeLessThan(20);
    expect(run('boot', image, '--timeout', '0')).toMatchObject({ code: 2, err: expect.stringContaining('--timeout takes a positive number of seconds') });
  }, 70_000);

  it('the watchdog armed by the image resets the chip mid-upload: exit 1, the bytes cut off and the reset named', () => {
    const data = new Uint8Array(4 << 20).map((_, i) => (i * 151 + 13) & 0xff);
    const path = write('watchdog.mvcmd', [
      { op: 'write32', addr: TIM0 + TIMER.SAFE_KEY, value: SAFE_KEY },
      { op: 'write32', addr: TIM0 + TIMER.WATCHDOG_COUNT, value: 7_000_000 }, // 10 ms at 700 MHz
      { op: 'write32', addr: TIM0 + TIMER.SAFE_KEY, value: SAFE_KEY },
      { op: 'write32', addr: TIM0 + TIMER.WATCHDOG_ENABLE, value: 1 },
      { op: 'load', addr: 0x80000000, data },
      { op: 'jump', addr: CMX },
    ]);
    const size = readFileSync(path).length;
    const r = run('boot', path);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      new RegExp(`boot failed: the device left the bus during the transfer of bytes \\d+-\\d+ of ${size}, before the jump record that ends at byte ${size}: the upload was cut short`),
    );
    expect(r.out).toContain('USB disconnect (watchdog expired)');
    expect(r.out).toMatch(/machine\.reset reason="watchdog expired"/);
    const packets = run('boot', path, '--chunk', 'packet');
    expect(packets.code).toBe(1);
    expect(packets.out).toMatch(/the device left the bus during the transfer of bytes ([1-9]\d*)-\d+ of \d+, before the jump record/);
  });

  it('firmware that traps into error mode: exit 1 with the trap named', () => {
    // After the jump the core comes out of reset with traps disabled: ta 1 puts it in error mode.
    const r = run('boot', write('trap.mvcmd', [{ op: 'load', addr: CMX, data: code([nop(), ta(1)]) }, { op: 'jump', addr: CMX }]));
    expect(r.code).toBe(1);
    expect(r.out).toContain('USB disconnect (boot ROM jumped to the firmware)');
    expect(r.out).toMatch(/boot failed: leon-os entered error mode after trap_instruction 1 \(tt 0x81\) with traps disabled at pc 0x70000004 \(at [\d.]+m?s\)/);
    // The case: the ma2450 open firmware on an ma2485 stick.
    const wrongChip = run('boot', join(root, 'firmware-stubs/vsc/vsc-ma2450.mvcmd'), '--model', 'ma2485');
    expect(wrongChip.code).toBe(1);
    expect(wrongChip.out).toMatch(/boot failed: leon-os entered error mode after /);
    expect(run('boot', join(root, 'firmware-stubs/vsc/vsc-ma2450.mvcmd'), '--model', 'ma2450').code).toBe(0);
  });
});
