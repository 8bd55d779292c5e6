/**
 * Inference benchmarks, in a process of their own (run.ts starts it and reads the rows it prints
 * as JSON last):
 * - every layer kernel on a realistic shape, shared over 12 SHAVEs of a KernelBench as the
 *   firmware shares it: emulated bundles per second of host time, compiled loops on;
 * - the largest sample graph through mvnc on an emulated stick: host time per inference against
 *   the device's own time for it (GET_TIMING's last float), as a ratio taken inside each run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ma2450 } from '../../emu/models/index.js';
import { KernelBench } from '../../emu/shave/kernel-runner.js';
import { runStage } from '../../emu/graph/stage-runner.js';
import { openStickSession } from '../../emu/host/stick-session.js';
import { KERNEL_CASES } from './kernel-cases.js';
import { root, type Summary } from './suite.js';

const rows: Summary[] = [];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// ---- every layer kernel, 12 shares on ma2450
{
  const bench = new KernelBench(ma2450);
  for (const c of KERNEL_CASES) {
    const once = () => runStage(bench, c.layer, c.inputs, c.constants, c.params, { shaves: 12, ...c.options });
    let bundles = 0;
    for (const share of once().shares) bundles += share.counters.bundles; // warms the loop compiler
    // The time in the kernels alone: the stage runner's tensor copies in TypeScript are not the
    // emulator's (the firmware's tensors are already in memory).
    const times: number[] = [];
    const deadline = performance.now() + 3000;
    while (times.length < 5 || (performance.now() < deadline && times.length < 50)) times.push(once().kernelMs);
    const perSecond = bundles / (median(times) / 1000);
    rows.push({ name: `SHAVE kernel ${c.layer.name}: ${c.label} (12 shares, ${(bundles / 1e6).toFixed(2)} M bundles)`, value: perSecond / 1e6, unit: 'M bundles/s', target: '>= 300', pass: perSecond >= 300e6 });
  }
}

// ---- the largest sample graph, end to end through mvnc
{
  const path = 'firmware-stubs/graphs/demo-cnn.graph';
  const blob = readFileSync(join(root, path));
  const session = await openStickSession({ model: 'ma2485' });
  const graph = await session.mvnc.allocateGraph(blob);
  const input = await session.mvnc.createFifo('host-write', graph.input, 2);
  const output = await session.mvnc.createFifo('host-read', graph.output, 2);
  const element = new Uint8Array(graph.input.totalSize).fill(0x3c); // 1.0 in every f16
  const ratios: number[] = [];
  const walls: number[] = [];
  let deviceMs = 0;
  for (let i = 0; i < 12; i++) {
    const t0 = performance.now();
    await graph.infer(input, output, element);
    const wall = performance.now() - t0;
    const timing = await graph.timing();
    deviceMs = timing[graph.stages + 1]!;
    if (i >= 2) {
      walls.push(wall);
      ratios.push(wall / deviceMs);
    }
  }
  await session.close();
  rows.push({ name: `inference of ${path} (${graph.stages} stages) on ma2485: host time per inference`, value: median(walls), unit: `ms wall (device: ${deviceMs.toFixed(3)} ms per inference)`, target: '(information)', pass: null });
  const ratio = median(ratios);
  rows.push({ name: 'the same, host time / device time (median of 10 inferences)', value: ratio, unit: 'x', target: '<= 20', pass: ratio <= 20 });
}

process.stdout.write(`\n${JSON.stringify(rows)}\n`);
