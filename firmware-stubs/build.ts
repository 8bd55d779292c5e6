/**
 * Rebuilds the committed boot images of firmware-stubs/ from their sources.
 * `node dist/firmware-stubs/build.js [--check]`: with --check, only compares.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../emu/package-root.js';
import { buildIdleLoopImage } from './idle-loop/image.js';
import { buildVsc, VSC_VARIANTS } from './vsc/build.js';
import { SAMPLE_GRAPHS } from './graphs/samples.js';

/** The folder with the committed images and their sources. */
export function stubsDir(): string {
  return join(packageRoot(), 'firmware-stubs');
}

/** Images built by TypeScript alone. */
export const images: Record<string, () => Uint8Array> = {
  'idle-loop/idle-loop.mvcmd': buildIdleLoopImage,
  ...SAMPLE_GRAPHS,
};

/** Images that need clang-14 to build. */
export const compiledImages: Record<string, () => Uint8Array> = Object.fromEntries(VSC_VARIANTS.map((v) => [v.file, () => buildVsc(v)]));

export function rebuild(check: boolean, which: Record<string, () => Uint8Array> = { ...images, ...compiledImages }): string[] {
  const differing: string[] = [];
  for (const [path, build] of Object.entries(which)) {
    const file = join(stubsDir(), path);
    const bytes = build();
    let current: Uint8Array | null = null;
    try {
      current = readFileSync(file);
    } catch {
      current = null;
    }
    if (!current || Buffer.compare(Buffer.from(current), Buffer.from(bytes)) !== 0) {
      differing.push(path);
      if (!check) writeFileSync(file, bytes);
    }
  }
  return differing;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  const differing = rebuild(check);
  for (const path of differing) console.log(`${check ? 'differs' : 'rebuilt'}: ${path}`);
  process.exitCode = check && differing.length > 0 ? 1 : 0;
}
