/**
 * The golden traces in traces/: how each is made, as data. The tests replay every one and
 * record every one afresh to compare; `npm run traces` rewrites them after an intended change
 * of behaviour (say why in the commit).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

export interface GoldenTrace {
  /** File name in traces/. */
  readonly file: string;
  readonly what: string;
  /** The arguments of `myriad-emu record <file> ...`; paths relative to the package root. */
  readonly args: readonly string[];
  /** What `record` exits with. */
  readonly exit: number;
}

export const GOLDEN: readonly GoldenTrace[] = [
  { file: 'boot-ma2450.myrtrace', what: 'NCS (ma2450) boots the open firmware', args: ['firmware-stubs/vsc/vsc-ma2450.mvcmd', '--model', 'ma2450'], exit: 0 },
  { file: 'boot-ma2485.myrtrace', what: 'NCS2 (ma2485) boots the open firmware', args: ['firmware-stubs/vsc/vsc-ma2485.mvcmd', '--model', 'ma2485'], exit: 0 },
  {
    file: 'xlink-ma2485.myrtrace',
    what: 'NCS2 boots, then an XLink session: ping, 4 KiB echo through a stream, RESET back to the ROM',
    args: ['firmware-stubs/vsc/vsc-ma2485.mvcmd', '--model', 'ma2485', '--xlink', '4096'],
    exit: 0,
  },
  {
    file: 'malformed-image.myrtrace',
    what: 'the ROM rejects a boot image whose second record has an unknown opcode',
    args: ['traces/malformed-image.mvcmd', '--model', 'ma2485'],
    exit: 1,
  },
];

export function tracesDir(): string {
  return join(packageRoot(), 'traces');
}

/** The malformed image: the open firmware's magic and section name, then an opcode no ROM knows. */
export function malformedImage(): Uint8Array {
  const vsc = readFileSync(join(packageRoot(), 'firmware-stubs', 'vsc', 'vsc-ma2485.mvcmd'));
  const image = new Uint8Array(64);
  image.set(vsc.subarray(0, 12));
  image.fill(0xee, 12);
  return image;
}

/** Arguments for main(): paths made absolute. */
export function recordArgs(golden: GoldenTrace, output: string): string[] {
  return ['record', output, ...golden.args.map((arg) => (arg.includes('/') ? join(packageRoot(), arg) : arg))];
}

export function writeMalformedImage(): void {
  mkdirSync(tracesDir(), { recursive: true });
  writeFileSync(join(tracesDir(), 'malformed-image.mvcmd'), malformedImage());
}
