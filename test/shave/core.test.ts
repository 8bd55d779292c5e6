/**
 * The SHAVE core's semantics, one unit at a time, with the edge cases: wrap-around and
 * saturation, shifts by the lane width and more, NaN and infinity, latencies, delay slots,
 * predication, zero-overhead loops, exceptions, and the counters.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { xorshift32 } from '../support/random.js';
import { OPS_FILE, renderOpsSource } from '../../emu/shave/generate-ops.js';
import { ALL_OPS } from '../../emu/shave/isa.js';
import { ma2485 } from '../../emu/models/ma2485.js';
import { f32s, halves, runShave, signedBytes, u16s, u32s, u8s, words } from '../support/shave-run.js';
import { f16Value, nearestF16 } from '../support/f16-reference.js';

const halt = 'bru.swih 0';

describe('SHAVE operation ids', () => {
  it('assembly/shave/ops.ts matches isa.ts (npm run shave-ops regenerates it)', () => {
    expect(readFileSync(join(import.meta.dirname, '../..', OPS_FILE), 'utf8')).toBe(renderOpsSource());
    expect(ALL_OPS.length).toBeGreaterThan(200);
  });
});

describe('SHAVE IAU', () => {
  it('wraps, multiplies, compares signed and unsigned', () => {
    const r = runShave(
      `iau.add i3, i1, i2 || sau.add.i32 s0, s0, s0
       iau.sub i4, i2, i1
       iau.mul i5, i1, i1
       iau.min i6, i1, i2
       iau.minu i7, i1, i2
       iau.max i8, i1, i2
       iau.maxu i9, i1, i2
       iau.abs i10, i11
       iau.not i12, i2
       iau.add i13, i2, -8192
       iau.and i14, i1, 0x0f0
       ${halt}`,
      { irf: { 1: 0x8000_0001, 2: 0x7fff_ffff, 11: 0x8000_0000 } },
    );
    expect(r.result.kind).toBe('halted');
    expect(r.i(3)).toBe(0);
    expect(r.i(4)).toBe(0xffff_fffe);
    expect(r.i(5)).toBe(Number(BigInt(0x8000_0001) ** 2n % 2n ** 32n));
    expect(r.i(6)).toBe(0x8000_0001); // signed: negative
    expect(r.i(7)).toBe(0x7fff_ffff); // unsigned
    expect(r.i(8)).toBe(0x7fff_ffff);
    expect(r.i(9)).toBe(0x8000_0001);
    expect(r.i(10)).toBe(0x8000_0000); // abs of the most negative wraps to itself
    expect(r.i(12)).toBe(0x8000_0000);
    expect(r.i(13)).toBe((0x7fff_ffff - 8192) >>> 0);
    expect(r.i(14)).toBe(0);
  });

  it('shifts by 32 or more give 0, or the sign for sar', () => {
    const r = runShave(
      `iau.shl i3, i1, i2
       iau.shr i4, i1, i2
       iau.sar i5, i1, i2
       iau.shl i6, i1, 31
       iau.sar i7, i1, 4
       iau.shr i8, i1, 4
       iau.sar i9, i1, 100
       ${halt}`,
      { irf: { 1: 0x8000_00f0, 2: 32 } },
    );
    expect([r.i(3), r.i(4), r.i(5)]).toEqual([0, 0, 0xffff_ffff]);
    expect([r.i(6), r.i(7), r.i(8), r.i(9)]).toEqual([0, 0xf800_000f, 0x0800_000f, 0xffff_ffff]);
  });
});

describe('SHAVE bundles and the pipeline', () => {
  it('reads every source before any write lands (a swap in one bundle)', () => {
    const r = runShave(`iau.mov i1, i2 || cmu.cpii i2, i1\n${halt}`, { irf: { 1: 11, 2: 22 } });
    expect([r.i(1), r.i(2)]).toEqual([22, 11]);
  });

  it('ldil and ldih compose in one bundle in either slot order; ldil alone clears the high half', () => {
    const r = runShave(`lsu0.ldih i1, 0x1234 || lsu1.ldil i1, 0x5678\nlsu0.ldil i2, 0x9abc || lsu1.ldih i2, 0xdef0\nlsu0.ldil i3, 7\n${halt}`, { irf: { 3: 0xffff_ffff } });
    expect([r.i(1), r.i(2), r.i(3)]).toEqual([0x1234_5678, 0xdef0_9abc, 7]);
  });

  it('a CMX load is seen 3 cycles after issue, a DDR load 5, an IAU multiply 2', () => {
    const probe = (latencyProbe: string, setup: Parameters<typeof runShave>[1]) =>
      runShave(
        `${latencyProbe}
         cmu.cpii i10, i3
         cmu.cpii i11, i3
         cmu.cpii i12, i3
         cmu.cpii i13, i3
         cmu.cpii i14, i3
         ${halt}`,
        setup,
      );
    // i10 is read 1 cycle after issue, i11 after 2, ...
    const cmx = probe('lsu0.ld.i32 i3, i1, 0', { irf: { 1: 0x1c00_0100, 3: 5 }, memory: [{ address: 0x1c00_0100, bytes: u32s(99) }] });
    expect([cmx.i(10), cmx.i(11), cmx.i(12), cmx.i(13)]).toEqual([5, 5, 99, 99]);
    const ddr = probe('lsu0.ld.i32 i3, i1, 0', { irf: { 1: 0x1e00_0100, 3: 5 }, memory: [{ address: 0x1e00_0100, bytes: u32s(77) }] });
    expect([ddr.i(10), ddr.i(11), ddr.i(12), ddr.i(13), ddr.i(14)]).toEqual([5, 5, 5, 5, 77]);
    const mul = probe('iau.mul i3, i1, i1', { irf: { 1: 6, 3: 1 } });
    expect([mul.i(10), mul.i(11)]).toEqual([1, 36]);
    // nop N counts N cycles: the load has landed after a nop 2.
    const idle = runShave(`lsu0.ld.i32 i3, i1, 0\nnop 2\ncmu.cpii i10, i3\n${halt}`, { irf: { 1: 0x1c00_0100 }, memory: [{ address: 0x1c00_0100, bytes: u32s(42) }] });
    expect(idle.i(10)).toBe(42);
  });

  it('runs the 6 delay slots of a branch, counted in cycles', () => {
    const r = runShave(
      `bru.bra target
       iau.add i1, i1, 1
       iau.add i1, i1, 1
       nop 3
       iau.add i1, i1, 1
       iau.add i1, i1, 100   ; past the delay slots: skipped
       ${halt}
target: iau.add i2, i1, 0
       ${halt}`,
    );
    expect(r.result).toEqual({ kind: 'halted', code: 0 });
    expect([r.i(1), r.i(2)]).toEqual([3, 3]);
  });

  it('bal links past its delay slots and ret comes back there', () => {
    const r = runShave(
      `bru.bal func
       nop 6
       iau.add i2, i2, 1
       bru.swih 1
func:  iau.add i1, i1, 10
       bru.ret
       nop 6`,
    );
    expect(r.result).toEqual({ kind: 'halted', code: 1 });
    expect([r.i(1), r.i(2)]).toEqual([10, 1]);
  });

  it('a branch in the delay slots of another is an exception', () => {
    const r = runShave(`bru.bra a\nbru.bra a\nnop 6\na: ${halt}`);
    expect(r.result).toMatchObject({ kind: 'error', cause: 'branch in a delay slot' });
  });

  it('rpl repeats its body without overhead; zero passes skip it', () => {
    const r = runShave(
      `bru.rpl i1, end1
       iau.add i2, i2, 3
       iau.add i3, i3, 1
end1:  bru.rpl i4, end2
       iau.add i5, i5, 1
end2:  ${halt}`,
      { irf: { 1: 5, 4: 0 } },
    );
    expect([r.i(2), r.i(3), r.i(5)]).toEqual([15, 5, 0]);
    expect(r.counters.cycles).toBe(1 + 10 + 1 + 1);
  });

  it('predicated-off bundles change nothing: no writes, stores or branches', () => {
    const r = runShave(
      `cmu.cmii.i32 i1, i2
       peu.pc1c eq || iau.add i3, i3, 1 || lsu0.st.i32 i1, i5, 0 || bru.bra away
       peu.pc1c lt || iau.add i4, i4, 1
       peu.pc1c ltu || iau.add i6, i6, 1
       nop 6
       ${halt}
away:  bru.swih 9`,
      { irf: { 1: 0xffff_ffff, 2: 1, 5: 0x1c00_0000 } },
    );
    expect(r.result).toEqual({ kind: 'halted', code: 0 });
    expect([r.i(3), r.i(4), r.i(6)]).toEqual([0, 1, 0]); // -1 < 1 signed, not unsigned
    expect(words(r.read(0x1c00_0000, 4))).toEqual([0]);
    expect(r.counters.unitOps.peu).toBe(3);
    expect(r.counters.unitOps.iau).toBe(1);
  });

  it('a runaway kernel stops at its cycle budget', () => {
    const r = runShave(`loop: bru.bra loop\nnop 6`, { cycles: 10_000 });
    expect(r.result.kind).toBe('budget');
    expect(r.counters.cycles).toBeGreaterThanOrEqual(10_000);
    expect(r.counters.cycles).toBeLessThan(10_010);
  });
});

describe('SHAVE LSU and memory', () => {
  it('loads sign- or zero-extend, stores narrow, post-increment moves the address', () => {
    const r = runShave(
      `lsu0.ld.i8 i2, i1, 0 || lsu1.ld.u8 i3, i1, 0
       lsu0.ld.i16 i4, i1, 2 || lsu1.ld.u16 i5, i1, 2
       lsu0.ldi.i32 i6, i1, 4
       nop 3
       lsu0.ld.i32 i7, i1, 0
       lsu0.st.i8 i2, i8, 0 || lsu1.st.i16 i5, i8, 2
       lsu0.sti.i32 i2, i10, 4
       lsu0.ld.v64 v1, i9, 0 || lsu1.ld.v128 v2, i9, 0
       nop 3
       lsu0.st.v64 v2, i9, 16
       ${halt}`,
      {
        irf: { 1: 0x1c00_0000, 8: 0x1c00_0100, 9: 0x1c00_0200, 10: 0x1c00_0104 },
        memory: [
          { address: 0x1c00_0000, bytes: u8s(0x80, 0, 0x00, 0x90, 1, 2, 3, 4, 5, 6, 7, 8) },
          { address: 0x1c00_0200, bytes: u32s(1, 2, 3, 4) },
        ],
      },
    );
    expect([r.i(2), r.i(3), r.i(4), r.i(5), r.i(6)]).toEqual([0xffff_ff80, 0x80, 0xffff_9000, 0x9000, 0x9000_0080]);
    expect(r.i(1)).toBe(0x1c00_0004); // ldi increments i1 after the load: i7 reads at the new address
    expect(r.i(7)).toBe(0x0403_0201);
    expect(words(r.read(0x1c00_0100, 8))).toEqual([0x9000_0080, 0xffff_ff80]);
    expect(r.i(10)).toBe(0x1c00_0108);
    expect(words(r.v(1))).toEqual([1, 2, 0, 0]); // a 64-bit load clears the high half
    expect(words(r.read(0x1c00_0210, 8))).toEqual([1, 2]);
  });

  it('counts bytes per CMX slice and DDR, and stalls when both LSUs use one slice', () => {
    const r = runShave(
      `lsu0.ld.i32 i2, i1, 0 || lsu1.ld.i32 i3, i1, 4
       lsu0.st.v128 v0, i4, 0 || lsu1.ld.i16 i5, i6, 0
       ${halt}`,
      { irf: { 1: 0x1c00_0000, 4: 0x1e00_0000, 6: 0x7002_0000 } },
    );
    expect(r.counters.stalls).toBe(1);
    expect(r.counters.cmx).toEqual([
      { slice: 0, read: 8, written: 0 },
      { slice: 1, read: 2, written: 0 },
    ]);
    expect(r.counters.ddr).toEqual({ read: 0, written: 16 });
    expect(r.counters.cycles).toBe(4);
  });

  it('a misaligned or unmapped access is an exception that leaves the bundle undone', () => {
    const misaligned = runShave(`lsu0.ld.i32 i2, i1, 2 || iau.add i3, i3, 1\n${halt}`, { irf: { 1: 0x1c00_0000 } });
    expect(misaligned.result).toEqual({ kind: 'error', cause: 'misaligned access', address: 0x1c00_0002 });
    expect(misaligned.i(3)).toBe(0);
    const unmapped = runShave(`lsu0.st.i32 i1, i4, 0 || lsu1.st.i32 i1, i1, 0 || iau.add i3, i3, 1\n${halt}`, { irf: { 1: 0x2000_0000, 4: 0x1c00_0000 } });
    expect(unmapped.result).toEqual({ kind: 'error', cause: 'unmapped address', address: 0x2000_0000 });
    expect(words(unmapped.read(0x1c00_0000, 4))).toEqual([0]); // LSU0's store did not happen either
    expect(unmapped.i(3)).toBe(0);
    expect(unmapped.bench.cores.status(0)).toBe('error');
  });

  it('an undefined encoding is an exception, not a crash', () => {
    const r = runShave(`iau.add i1, i1, 1\n${halt}`, { memory: [{ address: 0x1d00_0008, bytes: u32s(0x00a5_0010, 0xffff_ff) }] });
    expect(r.result).toEqual({ kind: 'error', cause: 'undefined encoding', address: 0x1d00_0008 });
    expect(r.i(1)).toBe(1);
    // A lane index past the type's lanes is undefined too.
    const lane = runShave(`cmu.cpvi.i32 i1, v1, 4\n${halt}`);
    expect(lane.result).toMatchObject({ kind: 'error', cause: 'undefined encoding' });
  });

  it('a new start runs the code now in memory, not what an earlier start decoded there', () => {
    const first = runShave(`iau.add i1, i1, 1\n${halt}`);
    expect(first.i(1)).toBe(1);
    const second = runShave(`iau.add i1, i1, 2\n${halt}`); // same address, other words
    expect(second.i(1)).toBe(2);
    // And on another core whose window B points elsewhere, with the first program there.
    const third = runShave(`iau.add i1, i1, 3\n${halt}`, { core: 5 });
    expect(third.i(1)).toBe(3);
    expect(runShave(`iau.add i1, i1, 1\n${halt}`).i(1)).toBe(1);
  });

  it('windows relocate per core', () => {
    const r = runShave(`lsu0.ld.i32 i2, i1, 0\n${halt}`, { core: 3, irf: { 1: 0x1c00_0010 } });
    expect(r.result.kind).toBe('halted');
    expect(r.bench.cores.window(3, 0)).toBe(0x7000_0000 + 3 * 0x20000);
  });

  it('runs on the 16 cores of the ma2485', () => {
    const r = runShave(`iau.add i1, i1, 5\n${halt}`, { model: ma2485, core: 15 });
    expect(r.i(1)).toBe(5);
    expect(r.bench.cores.count).toBe(16);
  });
});

describe('SHAVE SAU', () => {
  it('f32 arithmetic with the default NaN, and the functions', () => {
    const bits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0]!;
    const r = runShave(
      `sau.add.f32 s3, s1, s2
       sau.mul.f32 s4, s1, s2
       sau.div.f32 s5, s1, s0
       sau.sub.f32 s6, s7, s7
       sau.sqrt.f32 s8, s2
       sau.rsqrt.f32 s9, s2
       sau.cvt.i32.f32 s10, s1
       sau.cvt.i32.f32 s11, s7
       sau.cvt.f32.i32 s12, s13
       sau.add.f32 s14, s15, s1
       ${halt}`,
      { srf: { 0: 0, 1: bits(-2.5), 2: bits(16), 7: bits(Infinity), 13: 0xffff_fff9, 15: 0x7fc0_1234 } },
    );
    const f = (n: number) => new Float32Array(new Uint32Array([r.s(n)]).buffer)[0]!;
    expect([f(3), f(4), f(5), f(8), f(9), f(12)]).toEqual([13.5, -40, -Infinity, 4, 0.25, -7]);
    expect(r.s(6)).toBe(0x7fc0_0000); // inf - inf: the default NaN
    expect(r.s(14)).toBe(0x7fc0_0000); // a NaN with a payload in: the default NaN out
    expect([r.s(10), r.s(11)]).toEqual([0xffff_fffe, 0x7fff_ffff]); // truncation, saturation
  });

  it('f16 operations match a reference that rounds the same way', () => {
    const pairs = [
      [0x3c00, 0x3c00], [0x7bff, 0x7bff], [0x0001, 0x8001], [0x3555, 0x4248], [0xfc00, 0x7c00], [0x7e00, 0x3c00], [0x0400, 0x0001], [0x8000, 0x0000],
    ];
    for (const [a, b] of pairs) {
      const r = runShave(`sau.add.f16 s3, s1, s2\nsau.mul.f16 s4, s1, s2\nsau.sub.f16 s5, s1, s2\nsau.max.f16 s6, s1, s2\nsau.rcp.f16 s7, s1\n${halt}`, { srf: { 1: a!, 2: b! } });
      const x = f16Value(a!);
      const y = f16Value(b!);
      expect(r.s(3), `${a} + ${b}`).toBe(nearestF16(x + y));
      expect(r.s(4), `${a} * ${b}`).toBe(nearestF16(x * y));
      expect(r.s(5), `${a} - ${b}`).toBe(nearestF16(x - y));
      expect(r.s(6), `max ${a} ${b}`).toBe(Number.isNaN(x) || Number.isNaN(y) ? 0x7e00 : nearestF16(Math.max(x, y)));
      expect(r.s(7), `rcp ${a}`).toBe(nearestF16(1 / x));
    }
  });
});

describe('SHAVE VAU', () => {
  it('integer lanes wrap, saturate and multiply', () => {
    const r = runShave(
      `vau.add.i8 v3, v1, v2
       vau.adds.i8 v4, v1, v2
       vau.adds.u8 v5, v1, v2
       vau.subs.u8 v6, v2, v1
       vau.mul.i8 v7, v1, v2
       vau.mul.i16 v8, v1, v2
       vau.mac.i32 v9, v1, v2
       vau.abs.i8 v10, v1
       ${halt}`,
      {
        vrf: {
          1: u8s(127, 0x80, 200, 3, 0xff, 16, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
          2: u8s(1, 0xff, 100, 5, 0xff, 16, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
          9: u32s(1, 1, 1, 1),
        },
      },
    );
    expect(signedBytes(r.v(3)).slice(0, 6)).toEqual([-128, 127, 44, 8, -2, 32]);
    expect(signedBytes(r.v(4)).slice(0, 6)).toEqual([127, -128, 44, 8, -2, 32]);
    expect(Array.from(r.v(5)).slice(0, 6)).toEqual([128, 255, 255, 8, 255, 32]);
    expect(Array.from(r.v(6)).slice(0, 6)).toEqual([0, 127, 0, 2, 0, 0]);
    expect(signedBytes(r.v(7)).slice(0, 6)).toEqual([127, -128, 32, 15, 1, 0]);
    expect(halves(r.v(8))[0]).toBe((0x807f * 0xff01) & 0xffff);
    expect(words(r.v(9))[0]).toBe((Math.imul(0x03c8807f, 0x0564ff01) + 1) >>> 0);
    expect(signedBytes(r.v(10)).slice(0, 6)).toEqual([127, -128, 56, 3, 1, 16]);
  });

  it('lane shifts by the lane width or more give 0, or the sign for sar', () => {
    const r = runShave(
      `vau.shl.i16 v3, v1, v2
       vau.shr.i16 v4, v1, v2
       vau.sar.i16 v5, v1, v2
       vau.sar.i8 v6, v1, 9
       vau.shl.i32 v7, v1, 4
       ${halt}`,
      { vrf: { 1: u16s(0x8001, 0x8001, 0x8001, 0x8001, 0x4000, 0, 0, 0), 2: u16s(1, 15, 16, 200, 1, 0, 0, 0) } },
    );
    expect(halves(r.v(3)).slice(0, 5)).toEqual([0x0002, 0x8000, 0, 0, 0x8000]);
    expect(halves(r.v(4)).slice(0, 5)).toEqual([0x4000, 0x0001, 0, 0, 0x2000]);
    expect(halves(r.v(5)).slice(0, 5)).toEqual([0xc000, 0xffff, 0xffff, 0xffff, 0x2000]);
    expect(signedBytes(r.v(6)).slice(0, 2)).toEqual([0, -1]);
    expect(words(r.v(7))[0]).toBe((0x8001_8001 << 4) >>> 0);
  });

  it('f32 lanes: NaN becomes the default NaN, infinities behave', () => {
    const r = runShave(`vau.add.f32 v3, v1, v2\nvau.mul.f32 v4, v1, v2\nvau.min.f32 v5, v1, v2\n${halt}`, {
      vrf: { 1: f32s(1.5, Infinity, 0, -0), 2: u32s(0x4000_0000, 0xff80_0000, 0x7fc0_0001, 0) },
    });
    expect(words(r.v(3))).toEqual([0x4060_0000, 0x7fc0_0000, 0x7fc0_0000, 0]);
    expect(words(r.v(4))[1]).toBe(0xff80_0000);
    expect(words(r.v(5))[3]).toBe(0x8000_0000); // min(-0, +0) = -0
  });

  it('f16 lanes match the reference on edge values and random lanes', () => {
    const edges = [0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3bff, 0x3c00, 0x3c01, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfbff, 0x5640, 0x1a2b];
    const rand32 = xorshift32(12345);
    const random = () => rand32() & 0xffff;
    const lanes: [number[], number[], number[]][] = [];
    for (let i = 0; i < edges.length; i += 8) for (let j = 0; j < edges.length; j += 8) lanes.push([edges.slice(i, i + 8), edges.slice(j, j + 8), edges.slice(j, j + 8).reverse()]);
    for (let n = 0; n < 60; n++) lanes.push([Array.from({ length: 8 }, random), Array.from({ length: 8 }, random), Array.from({ length: 8 }, random)]);
    for (const [a, b, d] of lanes) {
      const r = runShave(
        `vau.add.f16 v3, v1, v2
         vau.sub.f16 v4, v1, v2
         vau.mul.f16 v5, v1, v2
         vau.max.f16 v6, v1, v2
         vau.mac.f16 v7, v1, v2
         vau.cvt.f32.f16 v8, v1
         ${halt}`,
        { vrf: { 1: u16s(...a), 2: u16s(...b), 7: u16s(...d) } },
      );
      const expectLanes = (reg: number, f: (x: number, y: number, z: number) => number) =>
        expect(halves(r.v(reg)), `v${reg} of ${a} ${b}`).toEqual(a.map((x, i) => f(f16Value(x), f16Value(b[i]!), f16Value(d[i]!))));
      expectLanes(3, (x, y) => nearestF16(x + y));
      expectLanes(4, (x, y) => nearestF16(x - y));
      expectLanes(5, (x, y) => nearestF16(x * y));
      expectLanes(6, (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? 0x7e00 : nearestF16(Math.max(x, y))));
      // mac: the exact product plus the accumulator rounded to f32, then to f16.
      expectLanes(7, (x, y, z) => nearestF16(Math.fround(x * y + z)));
      expect(new Float32Array(r.v(8).slice().buffer).slice(0, 4)).toEqual(
        new Float32Array(a.slice(0, 4).map((h) => f16Value(h))),
      );
    }
  });

  it('converts between lane types: saturating narrowing, truncating float to integer', () => {
    const r = runShave(
      `vau.cvt.i8.i16 v3, v1
       vau.cvt.i16.i8 v4, v2
       vau.cvt.f16.i16 v5, v1
       nop                        ; conversions take 2 cycles
       vau.cvt.i16.f16 v6, v5
       vau.cvt.i32.f32 v7, v9
       vau.cvt.f16.f32 v8, v9
       ${halt}`,
      { vrf: { 1: u16s(300, 0xff00, 5, 0x8000, 2049, 0, 0, 1), 2: u8s(0xff, 1, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 9: f32s(-2.7, 3e9, NaN, 65520) } },
    );
    expect(signedBytes(r.v(3)).slice(0, 9)).toEqual([127, -128, 5, -128, 127, 0, 0, 1, 0]);
    expect(halves(r.v(4)).slice(0, 3)).toEqual([0xffff, 1, 0xff80]);
    expect(halves(r.v(5)).slice(0, 5)).toEqual([0x5cb0, 0xdc00, 0x4500, 0xf800, 0x6800]); // 2049 rounds to 2048
    expect(halves(r.v(6)).slice(0, 5)).toEqual([300, 0xff00, 5, 0x8000, 2048]);
    expect(words(r.v(7))).toEqual([0xffff_fffe, 0x7fff_ffff, 0, 65520]);
    expect(halves(r.v(8))).toEqual([0xc166, 0x7c00, 0x7e00, 0x7c00, 0, 0, 0, 0]);
  });
});

describe('SHAVE CMU', () => {
  it('compares set conditions; NaN is unordered', () => {
    const nan = 0x7fc0_0000;
    const r = runShave(
      `cmu.cmss.f32 s1, s2
       peu.pc1c neq || iau.add i1, i1, 1
       peu.pc1c lt || iau.add i2, i2, 1
       peu.pc1c gte || iau.add i3, i3, 1
       cmu.cmss.f16 s3, s4
       peu.pc1c lt || iau.add i4, i4, 1
       cmu.cmii.u32 i10, i11
       cmu.cmovii i5, i11, gtu
       ${halt}`,
      { srf: { 1: nan, 2: 0, 3: 0xbc00, 4: 0x3c00 }, irf: { 10: 0xffff_fff0, 11: 3 } },
    );
    expect([r.i(1), r.i(2), r.i(3), r.i(4), r.i(5)]).toEqual([1, 0, 0, 1, 3]);
  });

  it('moves between files, extracts, inserts, broadcasts, shuffles, and makes lane masks', () => {
    const r = runShave(
      `cmu.cpvi.i8 i1, v1, 3
       cmu.cpvi.i16 i2, v1, 1
       cmu.cpiv.i16 v2, i3, 6
       cmu.bcst.i32 v3, i3
       cmu.vshuf.i32 v4, v1, 0x1b
       cmu.cmvv.i16 v5, v1, v6, gt
       cmu.cpsi s1, i3
       cmu.cpis i4, s1
       ${halt}`,
      { vrf: { 1: u32s(0x80ff_7f01, 2, 3, 4), 2: u32s(0, 0, 0, 0), 6: u16s(0x7f00, 0, 2, 1, 3, 0, 4, 0) }, irf: { 3: 0x1234_abcd } },
    );
    expect(r.i(1)).toBe(0xffff_ff80);
    expect(r.i(2)).toBe(0xffff_80ff);
    expect(halves(r.v(2))).toEqual([0, 0, 0, 0, 0, 0, 0xabcd, 0]);
    expect(words(r.v(3))).toEqual([0x1234_abcd, 0x1234_abcd, 0x1234_abcd, 0x1234_abcd]);
    expect(words(r.v(4))).toEqual([4, 3, 2, 0x80ff_7f01]);
    expect(halves(r.v(5))).toEqual([0xffff, 0, 0, 0, 0, 0, 0, 0]); // signed: 0x80ff is negative
    expect([r.s(1), r.i(4)]).toEqual([0x1234_abcd, 0x1234_abcd]);
  });
});
