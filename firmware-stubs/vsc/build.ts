/**
 * Builds the open VSC firmware: clang-14 for little-endian SPARC (real-clients.md section 2),
 * linked by the project's linker with layout.json, written as an MA2x image. One image per chip,
 * as OpenVINO ships mvncapi-2450.mvcmd and mvncapi-2480.mvcmd; the NCSDK2-header build (36-byte
 * XLink headers) is the third.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { renderAbiHeader, renderKernelTable } from '../../emu/graph/firmware-abi.js';
import { packageRoot } from '../../emu/package-root.js';
import { parseObject } from '../../emu/toolchain/elf-object.js';
import { writeExecutable } from '../../emu/toolchain/elf-writer.js';
import { parseLayout } from '../../emu/toolchain/layout-file.js';
import { link } from '../../emu/toolchain/linker.js';
import { elfToMvcmd } from '../../emu/toolchain/mvcmd-writer.js';

export const SOURCES = ['start.S', 'console.c', 'usb.c', 'heap.c', 'xlink.c', 'graph.c', 'mvnc.c', 'main.c'];
/** Generated at build time from the TypeScript side (emu/graph/firmware-abi.ts), into the build folder. */
const GENERATED = { 'graph_abi.h': renderAbiHeader, 'shave_kernels.c': renderKernelTable };

export interface VscVariant {
  readonly file: string;
  readonly cpu: 'ma2450' | 'ma2485';
  readonly defines: readonly string[];
}

export const VSC_VARIANTS: readonly VscVariant[] = [
  { file: 'vsc/vsc-ma2450.mvcmd', cpu: 'ma2450', defines: ['-DMA2450'] },
  { file: 'vsc/vsc-ma2485.mvcmd', cpu: 'ma2485', defines: [] },
  { file: 'vsc/vsc-ma2485-ncsdk2.mvcmd', cpu: 'ma2485', defines: ['-DXLINK_NAME_LEN=16'] },
];

/** Compiles and links one variant; needs clang-14 on the PATH. */
export function buildVsc(variant: VscVariant): Uint8Array {
  const dir = join(packageRoot(), 'firmware-stubs', 'vsc');
  const out = mkdtempSync(join(tmpdir(), 'vsc-'));
  for (const [name, render] of Object.entries(GENERATED)) writeFileSync(join(out, name), render());
  const objects = [...SOURCES.map((source) => join(dir, source)), join(out, 'shave_kernels.c')].map((path) => {
    const source = basename(path);
    const object = join(out, `${source}.o`);
    const r = spawnSync(
      'clang-14',
      ['--target=sparcel-unknown-elf', `-mcpu=${variant.cpu}`, '-O2', '-ffreestanding', '-nostdlib', '-fno-builtin', '-fintegrated-as', '-Wall', '-Werror', ...variant.defines, `-I${join(packageRoot(), 'firmware-stubs', 'common')}`, `-I${out}`, '-c', path, '-o', object],
      { encoding: 'utf8' },
    );
    if (r.error) throw new Error(`clang-14 is needed to build the firmware (${r.error.message})`);
    if (r.status !== 0) throw new Error(`clang-14 failed on ${source}:\n${r.stderr}`);
    return parseObject(readFileSync(object), source);
  });
  const image = link(objects, parseLayout(readFileSync(join(dir, 'layout.json'), 'utf8'), 'layout.json'));
  return elfToMvcmd(writeExecutable(image));
}
