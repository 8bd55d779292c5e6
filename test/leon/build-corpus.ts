import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
export const RT = join(here, 'rt');
export const CORPUS = join(here, 'corpus');
/** Code the firmware and the test runtime share (the window trap handlers). */
export const COMMON = join(here, '..', '..', 'firmware-stubs', 'common');

/** The flags of real-clients.md section 1, plus soft-float (the core has no FPU yet). */
const FLAGS = [
  '-m32', '-mcpu=v8', '-O2', '-ffreestanding', '-nostdlib', '-static', '-fno-pic', '-fno-pie', '-no-pie',
  '-fno-tree-loop-distribute-patterns', '-msoft-float', '-Wa,-Aleon', '-Wl,-m,elf32_sparc', '-Wl,--build-id=none', '-Wl,--no-warn-execstack',
];

export function corpusPrograms(): string[] {
  return readdirSync(CORPUS).filter((f) => f.endsWith('.c') || f.endsWith('.S')).sort();
}

/** Builds each corpus program with the test runtime; returns name -> ELF path. */
export function buildCorpus(): Map<string, string> {
  const out = mkdtempSync(join(tmpdir(), 'leon-corpus-'));
  const built = new Map<string, string>();
  for (const source of corpusPrograms()) {
    const elf = join(out, `${basename(source).replace(/\.[cS]$/, '')}.elf`);
    const r = spawnSync('sparc64-linux-gnu-gcc', [...FLAGS, `-I${RT}`, `-I${COMMON}`, '-T', join(RT, 'link.ld'), join(RT, 'start.S'), join(RT, 'rt.c'), join(CORPUS, source), '-o', elf], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building ${source} failed:\n${r.stderr}`);
    built.set(source, elf);
  }
  return built;
}

/** The clang flags of real-clients.md section 2 (little-endian SPARC, Myriad X). */
const CLANG = ['--target=sparcel-unknown-elf', '-mcpu=ma2485', '-O2', '-ffreestanding', '-nostdlib', '-fintegrated-as'];

/** Compiles a corpus program and the runtime with clang for little-endian SPARC; returns the objects. */
export function compileLittleEndian(source: string, out: string): Uint8Array[] {
  const objects: Uint8Array[] = [];
  for (const [file, name] of [[join(RT, 'start.S'), 'start'], [join(RT, 'rt.c'), 'rt'], [join(CORPUS, source), basename(source)]] as const) {
    const object = join(out, `${name}.le.o`);
    const r = spawnSync('clang-14', [...CLANG, `-I${RT}`, `-I${COMMON}`, '-c', file, '-o', object], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`clang failed on ${file}:\n${r.stderr}`);
    objects.push(readFileSync(object));
  }
  return objects;
}

/** UART output of the ELF under QEMU's leon3_generic. */
export function runQemu(elf: string): { output: string; status: number | null } {
  const r = spawnSync('qemu-system-sparc', ['-M', 'leon3_generic', '-nographic', '-monitor', 'none', '-kernel', elf], { encoding: 'latin1', timeout: 60_000 });
  return { output: r.stdout, status: r.status };
}
