import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The folder of this package's package.json, whether running from source or from dist/. */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'myriad-emu') return (root = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error('myriad-emu package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** The emulator's version, as trace headers record it. */
export function emulatorVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
