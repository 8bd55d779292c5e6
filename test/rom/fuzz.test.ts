import { describe, expect, it } from 'vitest';
import { replay } from '../../emu/machine/replay.js';
import { ma2450 } from '../../emu/models/index.js';
import { encodeMvcmd, type MvcmdRecord } from '../../emu/rom/mvcmd.js';
import { DirectHost } from '../support/direct-host.js';
import { fakeLeon } from '../support/fake-leon.js';

/** xorshift32: the same streams on every run. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

const ADDRESSES = [0x70000000, 0x70000ffc, 0x7001fffe, 0x10f00000, 0x20fc0028, 0x80000000, 0x9ffffff0, 0x00000000, 0xfffffffc];

function randomStream(next: (n: number) => number): Uint8Array {
  const records: MvcmdRecord[] = [{ op: 'magic' }];
  const count = next(8);
  for (let i = 0; i < count; i++) {
    const addr = ADDRESSES[next(ADDRESSES.length)]! + 4 * next(4);
    switch (next(7)) {
      case 0:
        records.push({ op: 'write8', addr, value: next(256) });
        break;
      case 1:
        records.push({ op: 'write32', addr, value: next(0xffffffff) });
        break;
      case 2:
        records.push({ op: 'load', addr, data: new Uint8Array(next(300)).fill(next(256)) });
        break;
      case 3:
        records.push({ op: 'name', text: 'x'.repeat(next(20)) });
        break;
      case 4:
        records.push({ op: 'nop', count: next(5) });
        break;
      case 5:
        records.push({ op: 'call', addr: 0x70000000 });
        break;
      default:
        records.push({ op: 'jump', addr });
    }
  }
  const bytes = encodeMvcmd(records);
  // Then break it: flip, drop or insert a few bytes.
  const mutated = Array.from(bytes);
  for (let m = next(4); m > 0; m--) {
    const at = next(mutated.length + 1);
    const how = next(3);
    if (how === 0 && at < mutated.length) mutated[at] = next(256);
    else if (how === 1) mutated.splice(at, 1);
    else mutated.splice(at, 0, next(256));
  }
  return Uint8Array.from(mutated);
}

describe('boot ROM under random and mutated streams', () => {
  it('never throws, always ends in a defined phase, and every run replays identically', () => {
    const next = rng(0x2485);
    const phases = new Map<string, number>();
    for (let run = 0; run < 400; run++) {
      const host = new DirectHost({ model: ma2450, leon: fakeLeon() }).enumerate();
      const stream = randomStream(next);
      const pieces = 1 + next(4);
      for (let p = 0, from = 0; p < pieces; p++) {
        const to = p === pieces - 1 ? stream.length : from + next(stream.length - from + 1);
        host.submit(0x01, 0, stream.subarray(from, to));
        from = to;
      }
      host.run(50);
      const phase = host.stick.rom.phase;
      phases.set(phase, (phases.get(phase) ?? 0) + 1);
      expect(['awaiting-magic', 'parsing', 'error', 'jumped']).toContain(phase);
      // Every transfer ended one way or another.
      expect(host.of('host.transfer').filter((t) => !host.done(t.id))).toEqual([]);
      if (run % 20 === 0) expect(replay(ma2450, host.events, { leon: fakeLeon() }).ok).toBe(true);
    }
    // The corpus reaches the interesting places, not only one of them.
    expect(phases.get('error') ?? 0).toBeGreaterThan(40);
    expect(phases.get('jumped') ?? 0).toBeGreaterThan(40);
  });
});
