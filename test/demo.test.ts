import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('npm start (the demo)', () => {
  it('boots, echoes, runs the CNN sample with a profile, resets and replays, and exits 0', () => {
    const r = spawnSync(process.execPath, [join(root, 'dist/emu/demo.js')], { encoding: 'utf8', cwd: root, timeout: 120_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('got back "Hello from the host, through XLink and back!"');
    expect(r.stdout).toMatch(/demo-cnn\.graph: 12 stages .* output 100x1x1/);
    expect(r.stdout).toMatch(/\n\s+1\s+conv1 3x3\s+conv\s+3\.539\s+\d+\s+\d+\s+[\d.]+\s+16\s+\d+%/);
    expect(r.stdout).toMatch(/top classes: \d+ \(/);
    expect(r.stdout).toMatch(/replayed on a fresh machine: all \d+ events re-derived identically/);
  });
});
