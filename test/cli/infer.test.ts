import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { f16FromNumber, f16ToNumber } from '../../emu/graph/f16.js';
import { relu } from '../../emu/graph/layers/relu.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'dist/emu/cli/bin.js');
const graph = join(root, 'firmware-stubs/graphs/tiny-relu.graph');
const dir = mkdtempSync(join(tmpdir(), 'myriad-infer-'));

function run(...args: string[]) {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: 'npm test' builds it (npm run build)`);
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('myriad-emu infer', () => {
  it('runs a graph from a CHW input file and prints the output and a profile with occupancy', () => {
    const values = Array.from({ length: 16 * 8 * 8 }, (_, i) => f16FromNumber(((i * 37) % 101) / 50 - 1));
    const input = join(dir, 'input.f16');
    writeFileSync(input, new Uint8Array(Uint16Array.from(values).buffer));
    const r = run('infer', graph, '--input', input, '--count', '3', '--profile', '--json');
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc).toMatchObject({ model: 'ma2485', flavour: 'openvino', inferences: 3, output: { shape: { c: 16, h: 8, w: 8 } } });
    const expected = relu.reference([relu.reference([{ shape: { c: 16, h: 8, w: 8 }, data: Uint16Array.from(values) }], {}, { slope: 0 })], {}, { slope: f16FromNumber(0.125) });
    const numbers = Array.from(expected.data, f16ToNumber);
    expect(doc.output.max).toBe(Math.max(...numbers));
    expect(doc.output.min).toBe(Math.min(...numbers));
    expect(doc.stages.map((s: { name: string }) => s.name)).toEqual(['relu', 'leaky']);
    for (const stage of doc.stages) {
      expect(stage.cycles).toBeGreaterThan(0);
      expect(stage.shaves).toBe(16);
      expect(stage.occupancy.vau).toBeGreaterThan(0);
      expect(stage.occupancy.vau).toBeLessThanOrEqual(1);
    }
    expect(doc.deviceMs).toBeGreaterThan(doc.stageMs);
  });

  it('text output on ma2450 and NCSDK2; the same seed gives the same cycles', () => {
    const a = run('infer', graph, '--model', 'ma2450', '--random', '7');
    expect(a.code, a.err).toBe(0);
    expect(a.out).toMatch(/Neural Compute Stick \(ma2450\), mvnc openvino: 1 inference/);
    expect(a.out).toMatch(/relu\s+relu\s+[\d.]+\s+\d+\s/);
    const b = run('infer', graph, '--flavour', 'ncsdk2', '--random', '7', '--json');
    const c = run('infer', graph, '--flavour', 'ncsdk2', '--random', '7', '--json');
    expect(b.code, b.err).toBe(0);
    expect(JSON.parse(b.out).stages).toEqual(JSON.parse(c.out).stages);
  });

  it('records a trace that replays', () => {
    const trace = join(dir, 'infer.myrtrace');
    expect(run('infer', graph, '--record', trace).code).toBe(0);
    const r = run('replay', trace);
    expect(r.code, r.out + r.err).toBe(0);
  });

  it('bad arguments exit 2; a file that is not a graph exits 3 with the byte offset', () => {
    expect(run('infer')).toMatchObject({ code: 2 });
    expect(run('infer', graph, '--flavour', 'ncsdk3')).toMatchObject({ code: 2, err: expect.stringContaining('openvino or ncsdk2') });
    expect(run('infer', graph, '--count', '0')).toMatchObject({ code: 2 });
    const junk = join(dir, 'junk.graph');
    writeFileSync(junk, new Uint8Array(300).fill(1));
    expect(run('infer', junk)).toMatchObject({ code: 3, err: expect.stringMatching(/graph byte 0x/) });
    expect(run('infer', graph, '--input', junk)).toMatchObject({ code: 3, err: expect.stringContaining('300 bytes') });
  });
});
