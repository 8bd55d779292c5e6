// The SHAVE cores: architectural state in the shared memory, and the hot loop that runs
// predecoded bundles (docs/shave-isa.md has the semantics, the latencies and the encoding).
//
// Each core's state lives at SHAVE_STATE + core * CORE_STRIDE in the WebAssembly memory the
// LEON side shares, so TypeScript reads registers and counters without a call. Bundles are
// decoded by TypeScript (emu/shave/isa.ts holds the instruction set) into a per-core cache the
// first time the core reaches them after a start: shaveRun returns RUN_MISS, the decoder fills
// the entry with shaveDefine/shaveDefineSlot, and the run goes on. Like the silicon's
// instruction cache, the cache is invalidated when a core starts, not when code is stored to.
// An entry keeps the words it was decoded from, so after a start the core takes it again
// without TypeScript when the same words are still at its address (firmware starts the same
// kernels over and over); different words go back to the decoder.
//
// Results go through a ring of pending writes indexed by the cycle they land in, so every
// operation of a bundle reads its sources before any write lands and a result is seen only
// from `latency` cycles after issue. Stores wait in a buffer until the whole bundle has run,
// so a bundle that faults leaves memory and registers as they were before it.

import { Op } from './ops';
import { f16ToF32, f32ToF16, f16Add, f16Sub, f16Mul, f16Div, f16Sqrt, f16Rcp, f16Rsqrt, f16Exp, f16Log, f16Sin, f16Cos } from './f16';
import { quietF32, f16Lanes, f16MulAdd, f16Low, f16High, toF16, toF16Low, mulI8, F16_ADD, F16_SUB, F16_MUL, F16_MIN, F16_MAX } from './lanes';

// ---- layout of one core's state (byte offsets from its base)

export const SHAVE_STATE: u32 = 0x100000;
export const CORE_STRIDE: u32 = 0x80000;
export const MAX_CORES: u32 = 16;

export const IRF: u32 = 0; // 32 x u32
export const SRF: u32 = 128; // 32 x u32
export const VRF: u32 = 256; // 32 x v128
export const PC: u32 = 768;
export const STATUS: u32 = 772;
/** Relation of the last compare: bits 0-1 signed (or float), bits 8-9 unsigned. */
export const FLAGS: u32 = 776;
export const SWIH_CODE: u32 = 780;
export const CYCLES: u32 = 784; // u64, since the start
export const BUNDLES: u32 = 792; // u64
export const STALLS: u32 = 800; // u64
const BRANCH_TARGET: u32 = 808;
/** Cycles of delay slots left before a pending branch lands; 0: none. */
export const BRANCH_LEFT: u32 = 812;
const BRANCH_LINK: u32 = 816;
export const LOOP_START: u32 = 820;
export const LOOP_END: u32 = 824;
/** Passes of the zero-overhead loop still to run; 0: no loop. */
export const LOOP_COUNT: u32 = 828;
export const WINDOWS: u32 = 832; // 4 x u32: bus address of windows A-D
export const ERROR_CAUSE: u32 = 848;
export const ERROR_ADDRESS: u32 = 852;
export const UNIT_OPS: u32 = 856; // 8 x u64, in slot order
export const DDR_READ: u32 = 920; // u64 bytes
export const DDR_WRITE: u32 = 928;
export const CMX_READ: u32 = 936; // 24 x u64 bytes, per 128 KB slice
export const CMX_WRITE: u32 = 1128; // 24 x u64
export const CMX_SLICES: u32 = 24;
/** After RUN_COMMIT: the end (WebAssembly offset) of the DDR access that needs committing. */
export const COMMIT_END: u32 = 1320;
/** Which start of the core the cached bundles belong to: a start empties the cache in O(1). */
export const EPOCH: u32 = 1324;

export const RING_SCALAR_COUNT: u32 = 1344; // 8 x u32
export const PENDING: u32 = 1340; // bit n: ring slot n holds writes
export const RING_VECTOR_COUNT: u32 = 1376; // 8 x u32
const STORES: u32 = 1408; // 2 x { offset u32, size u32, pad, pad, value v128 }
const DIRECT_UNDO: u32 = 1536; // up to 8 x { offset u32, old value u32 }
// Pending writes, per cycle slot: 32-bit ones { offset, value, mask, issue stamp } and
// 128-bit ones { offset, issue stamp, pad, pad, value, mask }.
export const RING_SLOTS: u32 = 8;
export const RING_SCALAR: u32 = 2048;
export const SCALAR_DEPTH: u32 = 64;
export const SCALAR_ENTRY: u32 = 16;
export const RING_VECTOR: u32 = RING_SCALAR + RING_SLOTS * SCALAR_DEPTH * SCALAR_ENTRY;
export const VECTOR_DEPTH: u32 = 32;
export const VECTOR_ENTRY: u32 = 48;
export const CACHE: u32 = 32768;
export const CACHE_ENTRIES: u32 = 2048;
export const ENTRY_SIZE: u32 = 208;
// The entries the current fill (see STAMP) has defined: a count, then their indices (u16 each). Like the cache,
// derived state: not part of the architectural state that snapshots keep.
const DEFINED_COUNT: u32 = CACHE + CACHE_ENTRIES * ENTRY_SIZE;
const DEFINED: u32 = DEFINED_COUNT + 4;
/** How many entries have been defined since the core was powered: the loop compiler checks it to know the cache changed. */
export const DEFINITIONS: u32 = DEFINED + CACHE_ENTRIES * 2;
/**
 * Which fill of the cache is current: it moves on at every start and reset (and is never
 * cleared), and an entry is valid only while it holds the value it was defined under. Unlike
 * EPOCH it is not architectural state, so snapshots and the machines tests compare ignore it.
 */
export const STAMP: u32 = DEFINITIONS + 4;
/**
 * The loop compiler's hand-over in a loop's first pass: the pc of the bundle where compiled
 * code may take over (E_FIRST of the loop's first bundle, read when the rpl runs), 0 for none.
 * Not architectural: whether a pass runs compiled changes nothing but the host's time.
 */
const FIRST_PC: u32 = STAMP + 4;
/** What the last RUN_LOOP offered: OFFER_PASS (the start of a pass after the first) or OFFER_FIRST (FIRST_PC was reached). */
export const OFFER: u32 = FIRST_PC + 4;
export const OFFER_PASS: u32 = 0;
export const OFFER_FIRST: u32 = 1;
// An entry: tag (pc | 1), slot count, cycles (1 + idle), next pc, the PEU condition (-1: no
// PEU), the units present, then how often it ran (u64) and was predicated off (u64), then the
// slots of the other units. Per-unit counts are folded from these into UNIT_OPS when an entry
// is replaced or the counters are read, so the loop pays one add per bundle for them.
export const E_COUNT: u32 = 4;
export const E_CYCLES: u32 = 8;
export const E_NEXT: u32 = 12;
export const E_PEU: u32 = 16;
export const E_UNITS: u32 = 20;
export const E_RUNS: u32 = 24;
const E_SKIPPED: u32 = 32;
export const E_SLOTS: u32 = 40;
/** The STAMP of the fill the entry belongs to. */
export const E_STAMP: u32 = 136;
/** What the loop compiler (emu/shave/jit) made of an rpl loop starting here: JIT_UNKNOWN, JIT_DECLINED or its id. */
export const E_JIT: u32 = 140;
/** Where the bundle's LSU0 and LSU1 went the last time the interpreter ran it (a region, -1 none): the loop compiler's profile. */
export const E_ACCESS0: u32 = 144;
export const E_ACCESS1: u32 = 148;
/** The words the entry was decoded from: how many (header and slot words), then the words. */
export const E_WORDS: u32 = 152;
export const E_CODE: u32 = 156; // 9 x u32
/** Of a loop's first bundle: the pc where compiled code can take over in the first pass (0: nowhere). The loop compiler sets it. */
export const E_FIRST: u32 = 192;
/** DEFINITIONS when the entry was defined or taken into the current fill: the loop compiler checks a body did not change. */
export const E_SERIAL: u32 = 196;
export const SLOT_SIZE: u32 = 12; // op u16, a u8, b u8, c u8, unit u8, latency u8, pad, imm i32

export const STATUS_STOPPED: u32 = 0;
export const STATUS_RUNNING: u32 = 1;
export const STATUS_HALTED: u32 = 2; // swih
export const STATUS_ERROR: u32 = 3;

export const RUN_BUDGET: u32 = 0; // the cycles given are used up, still running
export const RUN_HALTED: u32 = 1;
export const RUN_ERROR: u32 = 2;
export const RUN_MISS: u32 = 3; // the bundle at PC needs decoding
export const RUN_COMMIT: u32 = 4; // DDR up to COMMIT_END must be committed first
export const RUN_LOOP: u32 = 5; // at the start of a pass of an rpl loop the loop compiler may run

export const JIT_UNKNOWN: u32 = 0;
export const JIT_DECLINED: u32 = 1;

export const CAUSE_UNDEFINED: u32 = 1;
export const CAUSE_MISALIGNED: u32 = 2;
export const CAUSE_UNMAPPED: u32 = 3;
export const CAUSE_BRANCH_IN_DELAY: u32 = 4;
const CAUSE_COMMIT: u32 = 0xff;

const BRANCH_DELAY: u32 = 6;
const CMX_LOAD_LATENCY: u32 = 3;
const OTHER_LOAD_LATENCY: u32 = 5;
const LINK_REGISTER: u32 = 30;

const UNIT_LSU0: u32 = 2;

// Relations a compare records.
const LT: u32 = 0;
const EQ: u32 = 1;
const GT: u32 = 2;
const UNORDERED: u32 = 3;

// ---- memory map, set once per machine

let cmxBus: u32 = 0;
let cmxAlias: u32 = 0;
let cmxOffset: u32 = 0;
let cmxSize: u32 = 0;
let ddrBus: u32 = 0;
let ddrAlias: u32 = 0;
let ddrOffset: u32 = 0;
let ddrSize: u32 = 0;

export function shaveConfigure(cmxAt: u32, cmxAliasAt: u32, cmxIn: u32, cmxBytes: u32, ddrAt: u32, ddrAliasAt: u32, ddrIn: u32, ddrBytes: u32): void {
  cmxBus = cmxAt;
  cmxAlias = cmxAliasAt;
  cmxOffset = cmxIn;
  cmxSize = cmxBytes;
  ddrBus = ddrAt;
  ddrAlias = ddrAliasAt;
  ddrOffset = ddrIn;
  ddrSize = ddrBytes;
}

// ---- the bundle being run

let base: u32 = 0;
/** The cycle the bundle issues in, low 32 bits (ring slots and stamps need no more). */
let issue: u32 = 0;
let fault: u32 = 0;
let faultAddress: u32 = 0;
/** For CAUSE_COMMIT: the offset and end of the access into uncommitted DDR. */
let commitOffset: u32 = 0;
let commitEnd: u32 = 0;
/** Control state of the running core, kept in globals while it runs. */
let branchLeft: u32 = 0;
let branchTarget: u32 = 0;
let branchLink: u32 = 0;
let loopStart: u32 = 0;
let loopEnd: u32 = 0;
let loopCount: u32 = 0;
let storeCount: u32 = 0;
let halt: bool = false;
let branchIssued: bool = false;
/** Per LSU of the bundle: the region it touched (slice, CMX_SLICES for DDR, -1 none), bytes, write. */
let access0: i32 = -1;
let access1: i32 = -1;
let bytes0: u32 = 0;
let bytes1: u32 = 0;
let write0: bool = false;
let write1: bool = false;
/** The region the last translate() reached. */
let region: i32 = -1;
/** Bit n set while ring slot n holds writes. */
let pending: u32 = 0;
/** The operation being run may write its result at once (see shaveDefineSlot). */
let direct: bool = false;
/** 32-bit writes the bundle made at once, to take back if it faults. */
let directWrites: u32 = 0;
/** Whether rpl loops are offered to the loop compiler (RUN_LOOP). */
let loopCompiler: bool = false;
/** See FIRST_PC. */
let firstPc: u32 = 0;

// @ts-ignore: decorator
@inline function irf(n: u32): u32 {
  return load<u32>(base + IRF + (n << 2));
}

// @ts-ignore: decorator
@inline function srf(n: u32): u32 {
  return load<u32>(base + SRF + (n << 2));
}

// @ts-ignore: decorator
@inline function vrf(n: u32): v128 {
  return v128.load(base + VRF + (n << 4));
}

/** Queues a 32-bit write of `value` (bits under `mask`) at state offset `at`, landing after `latency`. */
// @ts-ignore: decorator
@inline function write32(at: u32, value: u32, latency: u32, mask: u32): void {
  const slot = (issue + latency) & (RING_SLOTS - 1);
  if (direct && latency == 1 && (pending & (1 << slot)) == 0) {
    // Nothing else lands in that cycle and nothing later in the bundle reads the register:
    // writing now is indistinguishable from landing at the end of the cycle. The old value is
    // kept in case a later unit of the bundle faults.
    const old = load<u32>(base + at);
    const undo = base + DIRECT_UNDO + (directWrites++ << 3);
    store<u32>(undo, at);
    store<u32>(undo, old, 4);
    store<u32>(base + at, (old & ~mask) | (value & mask));
    return;
  }
  pending |= 1 << slot;
  const countAt = base + RING_SCALAR_COUNT + (slot << 2);
  const count = load<u32>(countAt);
  const entry = base + RING_SCALAR + (slot * SCALAR_DEPTH + count) * SCALAR_ENTRY;
  store<u32>(entry, at);
  store<u32>(entry, value, 4);
  store<u32>(entry, mask, 8);
  store<u32>(entry, issue, 12);
  store<u32>(countAt, count + 1);
}

// @ts-ignore: decorator
@inline function writeV(at: u32, value: v128, latency: u32, mask: v128): void {
  const slot = (issue + latency) & (RING_SLOTS - 1);
  if (direct && latency == 1 && (pending & (1 << slot)) == 0) {
    // Only the VAU and CMU write vectors at once, and no unit after them can fault.
    v128.store(base + at, v128.bitselect(value, v128.load(base + at), mask));
    return;
  }
  pending |= 1 << slot;
  const countAt = base + RING_VECTOR_COUNT + (slot << 2);
  const count = load<u32>(countAt);
  const entry = base + RING_VECTOR + (slot * VECTOR_DEPTH + count) * VECTOR_ENTRY;
  store<u32>(entry, at);
  store<u32>(entry, issue, 4);
  v128.store(entry, value, 16);
  v128.store(entry, mask, 32);
  store<u32>(countAt, count + 1);
}

/** Takes back the writes the bundle issued in cycle `stamp` queued: it faulted, so it never ran. */
function unqueue(stamp: u32): void {
  for (let slot: u32 = 0; slot < RING_SLOTS; slot++) {
    const scalarAt = base + RING_SCALAR_COUNT + (slot << 2);
    let n = load<u32>(scalarAt);
    while (n > 0 && load<u32>(base + RING_SCALAR + (slot * SCALAR_DEPTH + n - 1) * SCALAR_ENTRY, 12) == stamp) n--;
    store<u32>(scalarAt, n);
    const vectorAt = base + RING_VECTOR_COUNT + (slot << 2);
    n = load<u32>(vectorAt);
    while (n > 0 && load<u32>(base + RING_VECTOR + (slot * VECTOR_DEPTH + n - 1) * VECTOR_ENTRY, 4) == stamp) n--;
    store<u32>(vectorAt, n);
    if (load<u32>(scalarAt) == 0 && n == 0) pending &= ~(1 << slot);
  }
}

// @ts-ignore: decorator
@inline function setI(n: u32, value: u32, latency: u32): void {
  write32(IRF + (n << 2), value, latency, 0xffffffff);
}

// @ts-ignore: decorator
@inline function setS(n: u32, value: u32, latency: u32): void {
  write32(SRF + (n << 2), value, latency, 0xffffffff);
}

// @ts-ignore: decorator
@inline function setV(n: u32, value: v128, latency: u32): void {
  writeV(VRF + (n << 4), value, latency, i32x4.splat(-1));
}

/**
 * Lands every write due in `slot`, in the order they were issued. 32-bit writes land before
 * 128-bit ones; no register takes both kinds, so the order between the two is unobservable.
 */
// @ts-ignore: decorator
@inline function landSlot(slot: u32): void {
  if ((pending & (1 << slot)) == 0) return;
  pending &= ~(1 << slot);
  const scalarAt = base + RING_SCALAR_COUNT + (slot << 2);
  const scalars = load<u32>(scalarAt);
  if (scalars != 0) {
    let entry = base + RING_SCALAR + slot * SCALAR_DEPTH * SCALAR_ENTRY;
    for (let i: u32 = 0; i < scalars; i++, entry += SCALAR_ENTRY) {
      const at = base + load<u32>(entry);
      const mask = load<u32>(entry, 8);
      store<u32>(at, (load<u32>(at) & ~mask) | (load<u32>(entry, 4) & mask));
    }
    store<u32>(scalarAt, 0);
  }
  const vectorAt = base + RING_VECTOR_COUNT + (slot << 2);
  const vectors = load<u32>(vectorAt);
  if (vectors != 0) {
    let entry = base + RING_VECTOR + slot * VECTOR_DEPTH * VECTOR_ENTRY;
    for (let i: u32 = 0; i < vectors; i++, entry += VECTOR_ENTRY) {
      const at = base + load<u32>(entry);
      v128.store(at, v128.bitselect(v128.load(entry, 16), v128.load(at), v128.load(entry, 32)));
    }
    store<u32>(vectorAt, 0);
  }
}

/** Lands the writes due in cycles (from, to]. */
function landUntil(from: u64, to: u64): void {
  let n = <u32>min<u64>(to - from, RING_SLOTS);
  const first = <u32>from + 1;
  for (let i: u32 = 0; i < n && pending != 0; i++) landSlot((first + i) & (RING_SLOTS - 1));
}

/** Lands everything pending, in due order (a halt or stop: the registers become final). */
function landAll(cycle: u64): void {
  landUntil(cycle, cycle + RING_SLOTS);
}

// ---- memory

/**
 * The WebAssembly offset of `size` bytes at SHAVE address `address`, or 0 with `fault` set.
 * Windows A-D (0x1C000000-0x1FFFFFFF) relocate through the core's window registers.
 */
// @ts-ignore: decorator
@inline function translate(address: u32, size: u32): u32 {
  // Scalars must be naturally aligned; vectors may start anywhere (kernels step f16 rows by
  // one lane).
  if (size <= 4 && (address & (size - 1)) != 0) {
    fault = CAUSE_MISALIGNED;
    faultAddress = address;
    return 0;
  }
  let bus = address;
  if (bus >= 0x1c000000 && bus < 0x20000000) {
    if ((bus & 0xffffff) + size > 0x1000000) {
      fault = CAUSE_UNMAPPED; // runs off the end of its window
      faultAddress = address;
      return 0;
    }
    bus = load<u32>(base + WINDOWS + (((bus >> 24) - 0x1c) << 2)) + (bus & 0xffffff);
  }
  let local = bus - cmxBus;
  if (local >= cmxSize) local = bus - cmxAlias;
  if (local < cmxSize && local + size <= cmxSize) {
    region = <i32>(local >> 17);
    return cmxOffset + local;
  }
  local = bus - ddrBus;
  if (local >= ddrSize) local = bus - ddrAlias;
  if (local < ddrSize && local + size <= ddrSize) {
    region = <i32>CMX_SLICES;
    const offset = ddrOffset + local;
    if (<u64>offset + size > (<u64>memory.size() << 16)) {
      fault = CAUSE_COMMIT;
      commitOffset = offset;
      commitEnd = offset + size;
      return 0;
    }
    return offset;
  }
  fault = CAUSE_UNMAPPED;
  faultAddress = address;
  return 0;
}

/** Where an LSU access goes, counted when the bundle completes. */
// @ts-ignore: decorator
@inline function access(unit: u32, address: u32, size: u32, isWrite: bool): u32 {
  const offset = translate(address, size);
  if (fault != 0) return 0;
  if (unit == UNIT_LSU0) {
    access0 = region;
    bytes0 = size;
    write0 = isWrite;
  } else {
    access1 = region;
    bytes1 = size;
    write1 = isWrite;
  }
  return offset;
}

// @ts-ignore: decorator
@inline function loadLatency(): u32 {
  return region < <i32>CMX_SLICES ? CMX_LOAD_LATENCY : OTHER_LOAD_LATENCY;
}

// @ts-ignore: decorator
@inline function deferStore(offset: u32, size: u32, value: v128): void {
  const at = base + STORES + storeCount * 32;
  store<u32>(at, offset);
  store<u32>(at, size, 4);
  v128.store(at, value, 16);
  storeCount++;
}

// @ts-ignore: decorator
@inline function count(region: i32, bytes: u32, isWrite: bool): void {
  if (region < 0) return;
  const at = region == <i32>CMX_SLICES ? base + (isWrite ? DDR_WRITE : DDR_READ) : base + (isWrite ? CMX_WRITE : CMX_READ) + (<u32>region << 3);
  store<u64>(at, load<u64>(at) + bytes);
}

// ---- compares and conditions

function relationS(a: i32, b: i32): u32 {
  return a < b ? LT : a == b ? EQ : GT;
}

function relationU(a: u32, b: u32): u32 {
  return a < b ? LT : a == b ? EQ : GT;
}

function relationF(a: f32, b: f32): u32 {
  return a < b ? LT : a == b ? EQ : a > b ? GT : UNORDERED;
}

/** Condition `cond` (isa.ts CONDITIONS) of a signed and an unsigned relation. */
function holds(cond: u32, signed: u32, unsigned: u32): bool {
  switch (cond) {
    case 0: return true; // always
    case 1: return signed == EQ;
    case 2: return signed != EQ;
    case 3: return signed == LT;
    case 4: return signed == LT || signed == EQ;
    case 5: return signed == GT;
    case 6: return signed == GT || signed == EQ;
    case 7: return unsigned == LT;
    case 8: return unsigned == LT || unsigned == EQ;
    case 9: return unsigned == GT;
    case 10: return unsigned == GT || unsigned == EQ;
    default: return false; // never
  }
}

function flagsHold(cond: u32): bool {
  const flags = load<u32>(base + FLAGS);
  return holds(cond, flags & 3, (flags >> 8) & 3);
}

// ---- scalar helpers

const SHL: u32 = 0;
const SHR: u32 = 1;
const SAR: u32 = 2;

/**
 * `value` (its low `bits`) shifted by `by`: a shift by the width or more gives 0, or for `sar`
 * the sign in every bit. The IAU shifts 32 bits; the VAU its lanes.
 */
function shift(kind: u32, value: u32, by: u32, bits: u32): u32 {
  if (kind == SHL) return by >= bits ? 0 : value << by;
  if (kind == SHR) return by >= bits ? 0 : value >> by;
  const signed = <i32>(value << (32 - bits)) >> (32 - bits); // sign-extended
  return <u32>(signed >> (by >= bits ? bits - 1 : by));
}

const DEFAULT_NAN_F16: u32 = 0x7e00;

function quiet16(h: u32): u32 {
  return (h & 0x7fff) > 0x7c00 ? DEFAULT_NAN_F16 : h;
}

function quiet32(bits: u32): u32 {
  return (bits & 0x7fffffff) > 0x7f800000 ? 0x7fc00000 : bits;
}

function f32Of(bits: u32): f32 {
  return reinterpret<f32>(bits);
}

function bitsOf(value: f32): u32 {
  return quiet32(reinterpret<u32>(value));
}

function f16Min(a: u32, b: u32): u32 {
  return quiet16(f32ToF16(Mathf.min(f16ToF32(a), f16ToF32(b))));
}

function f16Max(a: u32, b: u32): u32 {
  return quiet16(f32ToF16(Mathf.max(f16ToF32(a), f16ToF32(b))));
}

// ---- lanes that SIMD has no single operation for, through a scratch copy

const SCRATCH: u32 = 1472; // 3 x v128 in the core state

/** The lane of `bytes` bytes at `at`, zero-extended. */
// @ts-ignore: decorator
@inline function loadLane(at: u32, bytes: u32): u32 {
  return bytes == 1 ? <u32>load<u8>(at) : bytes == 2 ? <u32>load<u16>(at) : load<u32>(at);
}

// @ts-ignore: decorator
@inline function storeLane(at: u32, bytes: u32, value: u32): void {
  if (bytes == 1) store<u8>(at, <u8>value);
  else if (bytes == 2) store<u16>(at, <u16>value);
  else store<u32>(at, value);
}

/** Each lane of `a` shifted (SHL, SHR, SAR) by the same lane of `b`, or by `immediate`. */
function shiftLanes(a: v128, b: v128, laneBytes: u32, kind: u32, byImmediate: bool, immediate: u32): v128 {
  const x = base + SCRATCH;
  v128.store(x, a);
  v128.store(x, b, 16);
  for (let lane: u32 = 0; lane < 16 / laneBytes; lane++) {
    const at = x + lane * laneBytes;
    const by = byImmediate ? immediate : loadLane(at + 16, laneBytes);
    storeLane(at, laneBytes, shift(kind, loadLane(at, laneBytes), by, laneBytes * 8));
  }
  return v128.load(x);
}

/** All ones in the lanes where `a <cond> b`; float lanes compare as floats (NaN unordered). */
function compareLanes(a: v128, b: v128, laneBytes: u32, isFloat: bool, cond: u32): v128 {
  const x = base + SCRATCH;
  if (isFloat && laneBytes == 2) {
    // Widen f16 lanes to f32 so that the float comparison applies.
    const low = compareLanes(f16Low(a), f16Low(b), 4, true, cond);
    return i16x8.narrow_i32x4_s(low, compareLanes(f16High(a), f16High(b), 4, true, cond));
  }
  v128.store(x, a);
  v128.store(x, b, 16);
  for (let lane: u32 = 0; lane < 16 / laneBytes; lane++) {
    const at = x + lane * laneBytes;
    let signed: u32, unsigned: u32;
    if (isFloat) {
      signed = unsigned = relationF(load<f32>(at), load<f32>(at + 16));
    } else if (laneBytes == 1) {
      signed = relationS(<i32>load<i8>(at), <i32>load<i8>(at + 16));
      unsigned = relationU(<u32>load<u8>(at), <u32>load<u8>(at + 16));
    } else if (laneBytes == 2) {
      signed = relationS(<i32>load<i16>(at), <i32>load<i16>(at + 16));
      unsigned = relationU(<u32>load<u16>(at), <u32>load<u16>(at + 16));
    } else {
      signed = relationS(load<i32>(at), load<i32>(at + 16));
      unsigned = relationU(load<u32>(at), load<u32>(at + 16));
    }
    storeLane(x + 32 + lane * laneBytes, laneBytes, holds(cond, signed, unsigned) ? 0xffffffff : 0);
  }
  return v128.load(x, 32);
}

/** All ones in lane `lane` (of `laneBytes` bytes), zeros elsewhere. */
function laneMask(laneBytes: u32, lane: u32): v128 {
  const x = base + SCRATCH;
  v128.store(x, i32x4.splat(0));
  storeLane(x + lane * laneBytes, laneBytes, 0xffffffff);
  return v128.load(x);
}

function broadcast(value: u32, laneBytes: u32): v128 {
  return laneBytes == 1 ? i8x16.splat(<i8>value) : laneBytes == 2 ? i16x8.splat(<i16>value) : i32x4.splat(value);
}

function extractLane(v: v128, laneBytes: u32, lane: u32): u32 {
  const x = base + SCRATCH;
  v128.store(x, v);
  if (laneBytes == 1) return <u32>load<i8>(x + lane);
  if (laneBytes == 2) return <u32>load<i16>(x + lane * 2);
  return load<u32>(x + lane * 4);
}

function shuffle32(v: v128, pattern: u32): v128 {
  const x = base + SCRATCH;
  v128.store(x, v);
  for (let lane: u32 = 0; lane < 4; lane++) store<u32>(x + 16 + lane * 4, load<u32>(x + ((pattern >> (2 * lane)) & 3) * 4));
  return v128.load(x, 16);
}

function convertI16ToF16(v: v128): v128 {
  return toF16(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(v)), f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(v)));
}

function convertF16ToI16(v: v128): v128 {
  return i16x8.narrow_i32x4_s(i32x4.trunc_sat_f32x4_s(f16Low(v)), i32x4.trunc_sat_f32x4_s(f16High(v)));
}

// ---- loads and stores

// The form of a load or store, worked out by the decoder from its name (emu/shave/isa.ts
// lsuForm) and carried in the slot's third field.
const FORM_SIZE: u32 = 7; // bits 0-2: log2 of the bytes
const FORM_POST: u32 = 1 << 3; // ldi/sti: the register is the address and moves on after
const FORM_STORE: u32 = 1 << 4;
const FORM_SIGNED: u32 = 1 << 5; // loads of i8/i16 sign-extend
const FORM_FILE_SHIFT: u32 = 6; // bits 6-7: 0 IRF, 1 SRF, 2 VRF

/** A load or store of register `a` at `irf(b) + offset` (or `irf(b)`, then moved on by offset). */
function loadStore(form: u32, a: u32, b: u32, unit: u32, latency: u32, offset: u32): void {
  const size: u32 = 1 << (form & FORM_SIZE);
  const post = (form & FORM_POST) != 0;
  const file = form >> FORM_FILE_SHIFT;
  const address = post ? irf(b) : irf(b) + offset;
  const at = access(unit, address, size, (form & FORM_STORE) != 0);
  if (fault != 0) return;
  if (form & FORM_STORE) {
    deferStore(at, size, file == 2 ? vrf(a) : i32x4.splat(file == 1 ? srf(a) : irf(a)));
  } else if (file == 2) {
    // A 64-bit load fills the low half and clears the high half.
    setV(a, size == 8 ? v128.load64_zero(at) : v128.load(at), loadLatency());
  } else {
    const signed = (form & FORM_SIGNED) != 0;
    const value: u32 = size == 1 ? (signed ? <u32>load<i8>(at) : <u32>load<u8>(at)) : size == 2 ? (signed ? <u32>load<i16>(at) : <u32>load<u16>(at)) : load<u32>(at);
    if (file == 1) setS(a, value, loadLatency());
    else setI(a, value, loadLatency());
  }
  if (post) setI(b, address + offset, latency);
}

// ---- one operation

/** Runs the operation in `slot` of the bundle at `pc` (ending at `next`). */
function execute(slot: u32, pc: u32, next: u32): void {
  const op = <u32>load<u16>(slot);
  const a = <u32>load<u8>(slot, 2);
  const b = <u32>load<u8>(slot, 3);
  const c = <u32>load<u8>(slot, 4);
  const unit = <u32>load<u8>(slot, 5);
  const latency = <u32>load<u8>(slot, 6);
  direct = load<u8>(slot, 7) != 0;
  const imm = load<i32>(slot, 8);
  switch (op) {
    // ---- BRU
    case Op.bru_bra:
    case Op.bru_bal:
    case Op.bru_jmp:
    case Op.bru_jal:
    case Op.bru_ret: {
      if (branchLeft != 0) {
        fault = CAUSE_BRANCH_IN_DELAY;
        faultAddress = pc;
        return;
      }
      const target = op == Op.bru_bra || op == Op.bru_bal ? <u32>imm : op == Op.bru_ret ? irf(LINK_REGISTER) : irf(a);
      branchTarget = target;
      branchLink = op == Op.bru_bal || op == Op.bru_jal ? 1 : 0;
      branchIssued = true;
      return;
    }
    case Op.bru_rpl: {
      const passes = irf(a);
      firstPc = 0;
      if (<u32>imm == next) {
        loopCount = 0; // an empty body: nothing to repeat
        loopEnd = 0;
      } else if (passes == 0) {
        // No pass at all: straight to the end of the loop (set through the branch machinery
        // so that it happens after the bundle).
        loopCount = 0;
        loopStart = <u32>imm;
        loopEnd = 0xffffffff;
      } else {
        loopStart = next;
        loopEnd = <u32>imm;
        loopCount = passes;
        if (loopCompiler) {
          const first = base + CACHE + ((next >> 2) & (CACHE_ENTRIES - 1)) * ENTRY_SIZE;
          if (load<u32>(first) == (next | 1) && load<u32>(first, E_STAMP) == load<u32>(base + STAMP)) firstPc = load<u32>(first, E_FIRST);
        }
      }
      return;
    }
    case Op.bru_swih:
      store<u32>(base + SWIH_CODE, <u32>imm);
      halt = true;
      return;

    // ---- LSU
    case Op.lsu_ldil:
      // c = 1: an ldih of the same register in this bundle keeps its half.
      write32(IRF + (a << 2), <u32>imm & 0xffff, latency, c != 0 ? 0xffff : 0xffffffff);
      return;
    case Op.lsu_ldih:
      write32(IRF + (a << 2), <u32>imm << 16, latency, 0xffff0000);
      return;
    case Op.lsu_ld_i8: case Op.lsu_ld_u8: case Op.lsu_ld_i16: case Op.lsu_ld_u16: case Op.lsu_ld_i32:
    case Op.lsu_ldi_i8: case Op.lsu_ldi_u8: case Op.lsu_ldi_i16: case Op.lsu_ldi_u16: case Op.lsu_ldi_i32:
    case Op.lsu_st_i8: case Op.lsu_st_i16: case Op.lsu_st_i32: case Op.lsu_sti_i8: case Op.lsu_sti_i16: case Op.lsu_sti_i32:
    case Op.lsu_ld_s32: case Op.lsu_ldi_s32: case Op.lsu_st_s32: case Op.lsu_sti_s32:
    case Op.lsu_ld_v64: case Op.lsu_ld_v128: case Op.lsu_ldi_v64: case Op.lsu_ldi_v128:
    case Op.lsu_st_v64: case Op.lsu_st_v128: case Op.lsu_sti_v64: case Op.lsu_sti_v128:
      loadStore(c, a, b, unit, latency, <u32>imm);
      return;

    // ---- IAU
    case Op.iau_add_iii: setI(a, irf(b) + irf(c), latency); return;
    case Op.iau_sub_iii: setI(a, irf(b) - irf(c), latency); return;
    case Op.iau_mul: setI(a, irf(b) * irf(c), latency); return;
    case Op.iau_and_iii: setI(a, irf(b) & irf(c), latency); return;
    case Op.iau_or_iii: setI(a, irf(b) | irf(c), latency); return;
    case Op.iau_xor_iii: setI(a, irf(b) ^ irf(c), latency); return;
    case Op.iau_shl_iii: setI(a, shift(SHL, irf(b), irf(c), 32), latency); return;
    case Op.iau_shr_iii: setI(a, shift(SHR, irf(b), irf(c), 32), latency); return;
    case Op.iau_sar_iii: setI(a, shift(SAR, irf(b), irf(c), 32), latency); return;
    case Op.iau_min: setI(a, <u32>min(<i32>irf(b), <i32>irf(c)), latency); return;
    case Op.iau_max: setI(a, <u32>max(<i32>irf(b), <i32>irf(c)), latency); return;
    case Op.iau_minu: setI(a, min(irf(b), irf(c)), latency); return;
    case Op.iau_maxu: setI(a, max(irf(b), irf(c)), latency); return;
    case Op.iau_add_iis14: setI(a, irf(b) + <u32>imm, latency); return;
    case Op.iau_sub_iis14: setI(a, irf(b) - <u32>imm, latency); return;
    case Op.iau_and_iis14: setI(a, irf(b) & <u32>imm, latency); return;
    case Op.iau_or_iis14: setI(a, irf(b) | <u32>imm, latency); return;
    case Op.iau_xor_iis14: setI(a, irf(b) ^ <u32>imm, latency); return;
    case Op.iau_shl_iis14: setI(a, shift(SHL, irf(b), <u32>imm, 32), latency); return;
    case Op.iau_shr_iis14: setI(a, shift(SHR, irf(b), <u32>imm, 32), latency); return;
    case Op.iau_sar_iis14: setI(a, shift(SAR, irf(b), <u32>imm, 32), latency); return;
    case Op.iau_not: setI(a, ~irf(b), latency); return;
    case Op.iau_abs: setI(a, <u32>abs(<i32>irf(b)), latency); return;
    case Op.iau_mov: setI(a, irf(b), latency); return;

    // ---- SAU: f16 in the low half of an SRF register (the high half written as zero)
    case Op.sau_add_f16: setS(a, quiet16(f16Add(srf(b) & 0xffff, srf(c) & 0xffff)), latency); return;
    case Op.sau_sub_f16: setS(a, quiet16(f16Sub(srf(b) & 0xffff, srf(c) & 0xffff)), latency); return;
    case Op.sau_mul_f16: setS(a, quiet16(f16Mul(srf(b) & 0xffff, srf(c) & 0xffff)), latency); return;
    case Op.sau_div_f16: setS(a, quiet16(f16Div(srf(b) & 0xffff, srf(c) & 0xffff)), latency); return;
    case Op.sau_min_f16: setS(a, f16Min(srf(b), srf(c)), latency); return;
    case Op.sau_max_f16: setS(a, f16Max(srf(b), srf(c)), latency); return;
    case Op.sau_sqrt_f16: setS(a, quiet16(f16Sqrt(srf(b) & 0xffff)), latency); return;
    case Op.sau_rcp_f16: setS(a, quiet16(f16Rcp(srf(b) & 0xffff)), latency); return;
    case Op.sau_rsqrt_f16: setS(a, quiet16(f16Rsqrt(srf(b) & 0xffff)), latency); return;
    case Op.sau_exp_f16: setS(a, quiet16(f16Exp(srf(b) & 0xffff)), latency); return;
    case Op.sau_log_f16: setS(a, quiet16(f16Log(srf(b) & 0xffff)), latency); return;
    case Op.sau_sin_f16: setS(a, quiet16(f16Sin(srf(b) & 0xffff)), latency); return;
    case Op.sau_cos_f16: setS(a, quiet16(f16Cos(srf(b) & 0xffff)), latency); return;
    case Op.sau_abs_f16: setS(a, srf(b) & 0x7fff, latency); return;
    case Op.sau_neg_f16: setS(a, (srf(b) ^ 0x8000) & 0xffff, latency); return;
    case Op.sau_add_f32: setS(a, bitsOf(f32Of(srf(b)) + f32Of(srf(c))), latency); return;
    case Op.sau_sub_f32: setS(a, bitsOf(f32Of(srf(b)) - f32Of(srf(c))), latency); return;
    case Op.sau_mul_f32: setS(a, bitsOf(f32Of(srf(b)) * f32Of(srf(c))), latency); return;
    case Op.sau_div_f32: setS(a, bitsOf(f32Of(srf(b)) / f32Of(srf(c))), latency); return;
    case Op.sau_min_f32: setS(a, bitsOf(Mathf.min(f32Of(srf(b)), f32Of(srf(c)))), latency); return;
    case Op.sau_max_f32: setS(a, bitsOf(Mathf.max(f32Of(srf(b)), f32Of(srf(c)))), latency); return;
    case Op.sau_sqrt_f32: setS(a, bitsOf(Mathf.sqrt(f32Of(srf(b)))), latency); return;
    // The SAU's f32 functions: computed in f64 and rounded once to f32.
    case Op.sau_rcp_f32: setS(a, bitsOf(<f32>(1.0 / <f64>f32Of(srf(b)))), latency); return;
    case Op.sau_rsqrt_f32: setS(a, bitsOf(<f32>(1.0 / Math.sqrt(<f64>f32Of(srf(b))))), latency); return;
    case Op.sau_exp_f32: setS(a, bitsOf(<f32>Math.exp(<f64>f32Of(srf(b)))), latency); return;
    case Op.sau_log_f32: setS(a, bitsOf(<f32>Math.log(<f64>f32Of(srf(b)))), latency); return;
    case Op.sau_sin_f32: setS(a, bitsOf(<f32>Math.sin(<f64>f32Of(srf(b)))), latency); return;
    case Op.sau_cos_f32: setS(a, bitsOf(<f32>Math.cos(<f64>f32Of(srf(b)))), latency); return;
    case Op.sau_abs_f32: setS(a, srf(b) & 0x7fffffff, latency); return;
    case Op.sau_neg_f32: setS(a, srf(b) ^ 0x80000000, latency); return;
    case Op.sau_add_i32: setS(a, srf(b) + srf(c), latency); return;
    case Op.sau_sub_i32: setS(a, srf(b) - srf(c), latency); return;
    case Op.sau_mul_i32: setS(a, srf(b) * srf(c), latency); return;
    case Op.sau_cvt_f16_f32: setS(a, f32ToF16(f32Of(srf(b))), latency); return;
    case Op.sau_cvt_f32_f16: setS(a, reinterpret<u32>(f16ToF32(srf(b) & 0xffff)), latency); return;
    case Op.sau_cvt_f32_i32: setS(a, reinterpret<u32>(<f32>(<i32>srf(b))), latency); return;
    case Op.sau_cvt_i32_f32: setS(a, <u32><i32>f32Of(srf(b)), latency); return;

    // ---- VAU
    case Op.vau_add_i8: setV(a, i8x16.add(vrf(b), vrf(c)), latency); return;
    case Op.vau_add_i16: setV(a, i16x8.add(vrf(b), vrf(c)), latency); return;
    case Op.vau_add_i32: setV(a, i32x4.add(vrf(b), vrf(c)), latency); return;
    case Op.vau_add_f16: setV(a, f16Lanes(F16_ADD, vrf(b), vrf(c)), latency); return;
    case Op.vau_add_f32: setV(a, quietF32(f32x4.add(vrf(b), vrf(c))), latency); return;
    case Op.vau_sub_i8: setV(a, i8x16.sub(vrf(b), vrf(c)), latency); return;
    case Op.vau_sub_i16: setV(a, i16x8.sub(vrf(b), vrf(c)), latency); return;
    case Op.vau_sub_i32: setV(a, i32x4.sub(vrf(b), vrf(c)), latency); return;
    case Op.vau_sub_f16: setV(a, f16Lanes(F16_SUB, vrf(b), vrf(c)), latency); return;
    case Op.vau_sub_f32: setV(a, quietF32(f32x4.sub(vrf(b), vrf(c))), latency); return;
    case Op.vau_mul_i8: setV(a, mulI8(vrf(b), vrf(c)), latency); return;
    case Op.vau_mul_i16: setV(a, i16x8.mul(vrf(b), vrf(c)), latency); return;
    case Op.vau_mul_i32: setV(a, i32x4.mul(vrf(b), vrf(c)), latency); return;
    case Op.vau_mul_f16: setV(a, f16Lanes(F16_MUL, vrf(b), vrf(c)), latency); return;
    case Op.vau_mul_f32: setV(a, quietF32(f32x4.mul(vrf(b), vrf(c))), latency); return;
    case Op.vau_min_i8: setV(a, i8x16.min_s(vrf(b), vrf(c)), latency); return;
    case Op.vau_min_i16: setV(a, i16x8.min_s(vrf(b), vrf(c)), latency); return;
    case Op.vau_min_i32: setV(a, i32x4.min_s(vrf(b), vrf(c)), latency); return;
    case Op.vau_min_f16: setV(a, f16Lanes(F16_MIN, vrf(b), vrf(c)), latency); return;
    case Op.vau_min_f32: setV(a, quietF32(f32x4.min(vrf(b), vrf(c))), latency); return;
    case Op.vau_max_i8: setV(a, i8x16.max_s(vrf(b), vrf(c)), latency); return;
    case Op.vau_max_i16: setV(a, i16x8.max_s(vrf(b), vrf(c)), latency); return;
    case Op.vau_max_i32: setV(a, i32x4.max_s(vrf(b), vrf(c)), latency); return;
    case Op.vau_max_f16: setV(a, f16Lanes(F16_MAX, vrf(b), vrf(c)), latency); return;
    case Op.vau_max_f32: setV(a, quietF32(f32x4.max(vrf(b), vrf(c))), latency); return;
    case Op.vau_mac_i8: setV(a, i8x16.add(vrf(a), mulI8(vrf(b), vrf(c))), latency); return;
    case Op.vau_mac_i16: setV(a, i16x8.add(vrf(a), i16x8.mul(vrf(b), vrf(c))), latency); return;
    case Op.vau_mac_i32: setV(a, i32x4.add(vrf(a), i32x4.mul(vrf(b), vrf(c))), latency); return;
    case Op.vau_mac_f16: setV(a, f16MulAdd(vrf(a), vrf(b), vrf(c)), latency); return;
    case Op.vau_mac_f32: setV(a, quietF32(f32x4.add(vrf(a), quietF32(f32x4.mul(vrf(b), vrf(c))))), latency); return;
    case Op.vau_abs_i8: setV(a, i8x16.abs(vrf(b)), latency); return;
    case Op.vau_abs_i16: setV(a, i16x8.abs(vrf(b)), latency); return;
    case Op.vau_abs_i32: setV(a, i32x4.abs(vrf(b)), latency); return;
    case Op.vau_abs_f16: setV(a, v128.and(vrf(b), i16x8.splat(0x7fff)), latency); return;
    case Op.vau_abs_f32: setV(a, v128.and(vrf(b), i32x4.splat(0x7fffffff)), latency); return;
    case Op.vau_neg_i8: setV(a, i8x16.neg(vrf(b)), latency); return;
    case Op.vau_neg_i16: setV(a, i16x8.neg(vrf(b)), latency); return;
    case Op.vau_neg_i32: setV(a, i32x4.neg(vrf(b)), latency); return;
    case Op.vau_neg_f16: setV(a, v128.xor(vrf(b), i16x8.splat(<i16>0x8000)), latency); return;
    case Op.vau_neg_f32: setV(a, v128.xor(vrf(b), i32x4.splat(0x80000000)), latency); return;
    case Op.vau_adds_i8: setV(a, i8x16.add_sat_s(vrf(b), vrf(c)), latency); return;
    case Op.vau_adds_u8: setV(a, i8x16.add_sat_u(vrf(b), vrf(c)), latency); return;
    case Op.vau_adds_i16: setV(a, i16x8.add_sat_s(vrf(b), vrf(c)), latency); return;
    case Op.vau_adds_u16: setV(a, i16x8.add_sat_u(vrf(b), vrf(c)), latency); return;
    case Op.vau_subs_i8: setV(a, i8x16.sub_sat_s(vrf(b), vrf(c)), latency); return;
    case Op.vau_subs_u8: setV(a, i8x16.sub_sat_u(vrf(b), vrf(c)), latency); return;
    case Op.vau_subs_i16: setV(a, i16x8.sub_sat_s(vrf(b), vrf(c)), latency); return;
    case Op.vau_subs_u16: setV(a, i16x8.sub_sat_u(vrf(b), vrf(c)), latency); return;
    case Op.vau_and: setV(a, v128.and(vrf(b), vrf(c)), latency); return;
    case Op.vau_or: setV(a, v128.or(vrf(b), vrf(c)), latency); return;
    case Op.vau_xor: setV(a, v128.xor(vrf(b), vrf(c)), latency); return;
    case Op.vau_not: setV(a, v128.not(vrf(b)), latency); return;
    case Op.vau_shl_i8_vvv: setV(a, shiftLanes(vrf(b), vrf(c), 1, SHL, false, 0), latency); return;
    case Op.vau_shl_i16_vvv: setV(a, shiftLanes(vrf(b), vrf(c), 2, SHL, false, 0), latency); return;
    case Op.vau_shl_i32_vvv: setV(a, shiftLanes(vrf(b), vrf(c), 4, SHL, false, 0), latency); return;
    case Op.vau_shr_i8_vvv: setV(a, shiftLanes(vrf(b), vrf(c), 1, SHR, false, 0), latency); return;
    case Op.vau_shr_i16_vvv: setV(a, shiftLanes(vrf(b), vrf(c), 2, SHR, false, 0), latency); return;
    case Op.vau_shr_i32_vvv: setV(a, shiftLanes(vrf(b), vrf(c), 4, SHR, false, 0), latency); return;
    case Op.vau_sar_i8_vvv: setV(a, shiftLanes(vrf(b), vrf(c), 1, SAR, false, 0), latency); return;
    case Op.vau_sar_i16_vvv: setV(a, shiftLanes(vrf(b), vrf(c), 2, SAR, false, 0), latency); return;
    case Op.vau_sar_i32_vvv: setV(a, shiftLanes(vrf(b), vrf(c), 4, SAR, false, 0), latency); return;
    case Op.vau_shl_i8_vvu8: setV(a, shiftLanes(vrf(b), vrf(b), 1, SHL, true, <u32>imm), latency); return;
    case Op.vau_shl_i16_vvu8: setV(a, shiftLanes(vrf(b), vrf(b), 2, SHL, true, <u32>imm), latency); return;
    case Op.vau_shl_i32_vvu8: setV(a, shiftLanes(vrf(b), vrf(b), 4, SHL, true, <u32>imm), latency); return;
    case Op.vau_shr_i8_vvu8: setV(a, shiftLanes(vrf(b), vrf(b), 1, SHR, true, <u32>imm), latency); return;
    case Op.vau_shr_i16_vvu8: setV(a, shiftLanes(vrf(b), vrf(b), 2, SHR, true, <u32>imm), latency); return;
    case Op.vau_shr_i32_vvu8: setV(a, shiftLanes(vrf(b), vrf(b), 4, SHR, true, <u32>imm), latency); return;
    case Op.vau_sar_i8_vvu8: setV(a, shiftLanes(vrf(b), vrf(b), 1, SAR, true, <u32>imm), latency); return;
    case Op.vau_sar_i16_vvu8: setV(a, shiftLanes(vrf(b), vrf(b), 2, SAR, true, <u32>imm), latency); return;
    case Op.vau_sar_i32_vvu8: setV(a, shiftLanes(vrf(b), vrf(b), 4, SAR, true, <u32>imm), latency); return;
    // Conversions between lane types. Narrowing ones fill the low lanes and clear the rest;
    // integer narrowing saturates; float to integer truncates toward zero and saturates (NaN: 0).
    case Op.vau_cvt_f16_f32: setV(a, toF16Low(vrf(b)), latency); return;
    case Op.vau_cvt_f32_f16: setV(a, f16Low(vrf(b)), latency); return;
    case Op.vau_cvt_f32_i32: setV(a, f32x4.convert_i32x4_s(vrf(b)), latency); return;
    case Op.vau_cvt_i32_f32: setV(a, i32x4.trunc_sat_f32x4_s(vrf(b)), latency); return;
    case Op.vau_cvt_f16_i16: setV(a, convertI16ToF16(vrf(b)), latency); return;
    case Op.vau_cvt_i16_f16: setV(a, convertF16ToI16(vrf(b)), latency); return;
    case Op.vau_cvt_i8_i16: setV(a, i8x16.narrow_i16x8_s(vrf(b), i16x8.splat(0)), latency); return;
    case Op.vau_cvt_i16_i8: setV(a, i16x8.extend_low_i8x16_s(vrf(b)), latency); return;
    case Op.vau_cvt_i16_i32: setV(a, i16x8.narrow_i32x4_s(vrf(b), i32x4.splat(0)), latency); return;
    case Op.vau_cvt_i32_i16: setV(a, i32x4.extend_low_i16x8_s(vrf(b)), latency); return;

    // ---- CMU
    case Op.cmu_cmii_i32: {
      const x = irf(a), y = irf(b);
      write32(FLAGS, relationS(<i32>x, <i32>y) | (relationU(x, y) << 8), latency, 0xffffffff);
      return;
    }
    case Op.cmu_cmii_u32: {
      const r = relationU(irf(a), irf(b));
      write32(FLAGS, r | (r << 8), latency, 0xffffffff);
      return;
    }
    case Op.cmu_cmss_i32: {
      const x = srf(a), y = srf(b);
      write32(FLAGS, relationS(<i32>x, <i32>y) | (relationU(x, y) << 8), latency, 0xffffffff);
      return;
    }
    case Op.cmu_cmss_f16: {
      const r = relationF(f16ToF32(srf(a) & 0xffff), f16ToF32(srf(b) & 0xffff));
      write32(FLAGS, r | (r << 8), latency, 0xffffffff);
      return;
    }
    case Op.cmu_cmss_f32: {
      const r = relationF(f32Of(srf(a)), f32Of(srf(b)));
      write32(FLAGS, r | (r << 8), latency, 0xffffffff);
      return;
    }
    case Op.cmu_cmvv_i8: setV(a, compareLanes(vrf(b), vrf(c), 1, false, <u32>imm), latency); return;
    case Op.cmu_cmvv_i16: setV(a, compareLanes(vrf(b), vrf(c), 2, false, <u32>imm), latency); return;
    case Op.cmu_cmvv_i32: setV(a, compareLanes(vrf(b), vrf(c), 4, false, <u32>imm), latency); return;
    case Op.cmu_cmvv_f16: setV(a, compareLanes(vrf(b), vrf(c), 2, true, <u32>imm), latency); return;
    case Op.cmu_cmvv_f32: setV(a, compareLanes(vrf(b), vrf(c), 4, true, <u32>imm), latency); return;
    case Op.cmu_cpii: setI(a, irf(b), latency); return;
    case Op.cmu_cpsi: setS(a, irf(b), latency); return;
    case Op.cmu_cpis: setI(a, srf(b), latency); return;
    case Op.cmu_cpss: setS(a, srf(b), latency); return;
    case Op.cmu_cpvv: setV(a, vrf(b), latency); return;
    case Op.cmu_cpvi_i8: setI(a, extractLane(vrf(b), 1, <u32>imm), latency); return;
    case Op.cmu_cpvi_i16: setI(a, extractLane(vrf(b), 2, <u32>imm), latency); return;
    case Op.cmu_cpvi_i32: setI(a, extractLane(vrf(b), 4, <u32>imm), latency); return;
    case Op.cmu_cpiv_i8: writeV(VRF + (a << 4), broadcast(irf(b), 1), latency, laneMask(1, <u32>imm)); return;
    case Op.cmu_cpiv_i16: writeV(VRF + (a << 4), broadcast(irf(b), 2), latency, laneMask(2, <u32>imm)); return;
    case Op.cmu_cpiv_i32: writeV(VRF + (a << 4), broadcast(irf(b), 4), latency, laneMask(4, <u32>imm)); return;
    case Op.cmu_bcst_i8: setV(a, broadcast(irf(b), 1), latency); return;
    case Op.cmu_bcst_i16: setV(a, broadcast(irf(b), 2), latency); return;
    case Op.cmu_bcst_i32: setV(a, broadcast(irf(b), 4), latency); return;
    case Op.cmu_vshuf_i32: setV(a, shuffle32(vrf(b), <u32>imm), latency); return;
    case Op.cmu_cmovii: if (flagsHold(<u32>imm)) setI(a, irf(b), latency); return;
    case Op.cmu_cmovvv: if (flagsHold(<u32>imm)) setV(a, vrf(b), latency); return;
    default:
      fault = CAUSE_UNDEFINED;
      faultAddress = pc;
  }
}

// ---- the loop

/**
 * The memory side of a bundle that ran: its stores land and its accesses are counted. Returns
 * whether both LSUs reached one CMX slice (a stall cycle, counted here).
 */
function completeMemory(): bool {
  for (let i: u32 = 0; i < storeCount; i++) {
    const at = base + STORES + i * 32;
    const offset = load<u32>(at);
    const size = load<u32>(at, 4);
    if (size == 1) store<u8>(offset, load<u8>(at, 16));
    else if (size == 2) store<u16>(offset, load<u16>(at, 16));
    else if (size == 4) store<u32>(offset, load<u32>(at, 16));
    else if (size == 8) store<u64>(offset, load<u64>(at, 16));
    else v128.store(offset, v128.load(at, 16));
  }
  count(access0, bytes0, write0);
  count(access1, bytes1, write1);
  if (access1 < 0 || access1 != access0 || access0 >= <i32>CMX_SLICES) return false;
  store<u64>(base + STALLS, load<u64>(base + STALLS) + 1);
  return true;
}

function enter(core: u32): void {
  base = SHAVE_STATE + core * CORE_STRIDE;
  branchLeft = load<u32>(base + BRANCH_LEFT);
  branchTarget = load<u32>(base + BRANCH_TARGET);
  branchLink = load<u32>(base + BRANCH_LINK);
  loopStart = load<u32>(base + LOOP_START);
  loopEnd = load<u32>(base + LOOP_END);
  loopCount = load<u32>(base + LOOP_COUNT);
  pending = load<u32>(base + PENDING);
  firstPc = load<u32>(base + FIRST_PC);
}

function leave(): void {
  store<u32>(base + BRANCH_LEFT, branchLeft);
  store<u32>(base + BRANCH_TARGET, branchTarget);
  store<u32>(base + BRANCH_LINK, branchLink);
  store<u32>(base + LOOP_START, loopStart);
  store<u32>(base + LOOP_END, loopEnd);
  store<u32>(base + LOOP_COUNT, loopCount);
  store<u32>(base + PENDING, pending);
  store<u32>(base + FIRST_PC, firstPc);
}

/**
 * Runs core `core` for about `budget` cycles (a bundle that starts within the budget finishes).
 * Returns a RUN_ code; the core's PC, CYCLES and counters say where it got to.
 */
export function shaveRun(core: u32, budget: u32): u32 {
  enter(core);
  if (load<u32>(base + STATUS) != STATUS_RUNNING) return load<u32>(base + STATUS) == STATUS_ERROR ? RUN_ERROR : RUN_HALTED;
  let cycle = load<u64>(base + CYCLES);
  let bundles = load<u64>(base + BUNDLES);
  const end = cycle + <u64>budget;
  let pc = load<u32>(base + PC);
  const stamp = load<u32>(base + STAMP);
  let result = RUN_BUDGET;
  while (cycle < end) {
    const entry = base + CACHE + ((pc >> 2) & (CACHE_ENTRIES - 1)) * ENTRY_SIZE;
    if (load<u32>(entry, E_STAMP) != stamp || load<u32>(entry) != (pc | 1)) {
      if (load<u32>(entry) != (pc | 1) || !retake(entry, pc, stamp)) {
        result = RUN_MISS;
        break;
      }
    }
    const cycles = load<u32>(entry, E_CYCLES);
    let next = load<u32>(entry, E_NEXT);
    issue = <u32>cycle;
    const peu = load<i32>(entry, E_PEU);
    if (peu >= 0 && !flagsHold(<u32>peu)) {
      // Predicated off: the bundle takes its cycles and does nothing else.
      store<u64>(entry, load<u64>(entry, E_SKIPPED) + 1, E_SKIPPED);
    } else {
      // Only the PEU, BRU and LSUs (units 0-3) can fault, store, halt or branch.
      const units = load<u32>(entry, E_UNITS);
      fault = 0;
      directWrites = 0;
      if ((units & 0b1110) != 0) {
        storeCount = 0;
        halt = false;
        access0 = -1;
        access1 = -1;
      }
      const first = entry + E_SLOTS;
      const last = first + load<u32>(entry, E_COUNT) * SLOT_SIZE;
      for (let s = first; s < last; s += SLOT_SIZE) {
        execute(s, pc, next);
        if (fault != 0) break;
      }
      if (fault != 0) {
        unqueue(issue);
        while (directWrites > 0) {
          const undo = base + DIRECT_UNDO + (--directWrites << 3);
          store<u32>(base + load<u32>(undo), load<u32>(undo, 4));
        }
        if (fault == CAUSE_COMMIT) {
          store<u32>(base + COMMIT_END, commitEnd);
          result = RUN_COMMIT;
          break;
        }
        store<u32>(base + STATUS, STATUS_ERROR);
        store<u32>(base + ERROR_CAUSE, fault);
        store<u32>(base + ERROR_ADDRESS, faultAddress);
        landAll(cycle);
        result = RUN_ERROR;
        break;
      }
      store<u64>(entry, load<u64>(entry, E_RUNS) + 1, E_RUNS);
      if ((units & 0b1110) != 0) {
        store<i32>(entry, access0, E_ACCESS0);
        store<i32>(entry, access1, E_ACCESS1);
        if (completeMemory()) {
          // Both LSUs in one CMX slice in one cycle: the second waits a cycle.
          landUntil(cycle, cycle + 1);
          cycle++;
        }
        if (halt) {
          landAll(cycle);
          cycle += cycles;
          bundles++;
          store<u32>(base + STATUS, STATUS_HALTED);
          pc = next;
          result = RUN_HALTED;
          break;
        }
      }
    }
    if (pending != 0) landUntil(cycle, cycle + cycles);
    cycle += cycles;
    bundles++;
    // Branches land after their delay slots, counted in cycles of the bundles that follow.
    if (branchIssued) {
      branchIssued = false;
      branchLeft = BRANCH_DELAY;
    } else if (branchLeft != 0) {
      if (branchLeft <= cycles) {
        branchLeft = 0;
        // A call links to where the code would have gone on: after its delay slots.
        if (branchLink != 0) store<u32>(base + IRF + (LINK_REGISTER << 2), next);
        next = branchTarget;
      } else {
        branchLeft -= cycles;
      }
    }
    if (next == loopEnd) {
      firstPc = 0;
      if (loopCount > 1) {
        loopCount--;
        next = loopStart;
        if (loopCompiler && branchLeft == 0 && offered(loopStart, stamp)) {
          // Back at the start of the body: TypeScript runs the passes if it compiled the loop.
          pc = next;
          store<u32>(base + OFFER, OFFER_PASS);
          result = RUN_LOOP;
          break;
        }
      } else {
        loopCount = 0;
        loopEnd = 0;
      }
    } else if (loopEnd == 0xffffffff) {
      // rpl with no passes: on to the end of the body.
      next = loopStart;
      loopEnd = 0;
    } else if (next == firstPc && firstPc != 0) {
      // In the first pass, where compiled code can take over (once the code before the loop
      // has nothing in flight any more, which the compiled code checks).
      firstPc = 0;
      if (branchLeft == 0) {
        pc = next;
        store<u32>(base + OFFER, OFFER_FIRST);
        result = RUN_LOOP;
        break;
      }
    }
    pc = next;
  }
  store<u32>(base + PC, pc);
  store<u64>(base + CYCLES, cycle);
  store<u64>(base + BUNDLES, bundles);
  leave();
  return result;
}

/** Whether the loop starting at `pc` has compiled code, or has not been looked at yet. */
function offered(pc: u32, stamp: u32): bool {
  const entry = base + CACHE + ((pc >> 2) & (CACHE_ENTRIES - 1)) * ENTRY_SIZE;
  return load<u32>(entry) == (pc | 1) && load<u32>(entry, E_STAMP) == stamp && load<u32>(entry, E_JIT) != JIT_DECLINED;
}

/**
 * Takes an entry of an earlier fill for the bundle at `pc` into the current one if the words
 * at `pc` are still the ones it was decoded from (as the decoder would decode them again):
 * what the entry learnt in its last fill (counts, the loop compiler's marks, the profile) starts
 * afresh, as shaveDefine starts it. False when the words differ or cannot be read.
 */
function retake(entry: u32, pc: u32, stamp: u32): bool {
  const words = load<u32>(entry, E_WORDS);
  if (words == 0) return false;
  for (let k: u32 = 0; k < words; k++) {
    fault = 0;
    const offset = translate(pc + (k << 2), 4);
    if (fault != 0) {
      fault = 0;
      return false;
    }
    if (load<u32>(offset) != load<u32>(entry + (k << 2), E_CODE)) return false;
  }
  fill(entry, pc, stamp);
  return true;
}

/** Makes `entry` (not of the current fill) one of the current fill, with nothing counted yet. */
function fill(entry: u32, pc: u32, stamp: u32): void {
  const defined = load<u32>(base + DEFINED_COUNT);
  store<u16>(base + DEFINED + (defined << 1), <u16>((pc >> 2) & (CACHE_ENTRIES - 1)));
  store<u32>(base + DEFINED_COUNT, defined + 1);
  store<u64>(entry, 0, E_RUNS);
  store<u64>(entry, 0, E_SKIPPED);
  store<u32>(entry, stamp, E_STAMP);
  store<u32>(entry, JIT_UNKNOWN, E_JIT);
  store<i32>(entry, -1, E_ACCESS0);
  store<i32>(entry, -1, E_ACCESS1);
  store<u32>(entry, 0, E_FIRST);
  const definitions = load<u32>(base + DEFINITIONS) + 1;
  store<u32>(base + DEFINITIONS, definitions);
  store<u32>(entry, definitions, E_SERIAL);
}

/** Adds what an entry counted to UNIT_OPS and zeroes its counts. */
function fold(entry: u32): void {
  const runs = load<u64>(entry, E_RUNS);
  const skipped = load<u64>(entry, E_SKIPPED);
  const units = load<u32>(entry, E_UNITS);
  for (let unit: u32 = 0; unit < 8; unit++) {
    if ((units & (1 << unit)) == 0) continue;
    const at = base + UNIT_OPS + (unit << 3);
    store<u64>(at, load<u64>(at) + (unit == 0 ? runs + skipped : runs)); // PEU acts either way
  }
  store<u64>(entry, 0, E_RUNS);
  store<u64>(entry, 0, E_SKIPPED);
}

/** Brings UNIT_OPS up to date (before TypeScript reads it). */
export function shaveFoldCounters(core: u32): void {
  base = SHAVE_STATE + core * CORE_STRIDE;
  const defined = load<u32>(base + DEFINED_COUNT);
  for (let i: u32 = 0; i < defined; i++) fold(base + CACHE + <u32>load<u16>(base + DEFINED + (i << 1)) * ENTRY_SIZE);
}

// ---- control from TypeScript

/** Every register and counter back to zero, the bundle cache empty (power-on). */
export function shaveReset(core: u32): void {
  base = SHAVE_STATE + core * CORE_STRIDE;
  memory.fill(base, 0, CACHE);
  store<u32>(base + DEFINED_COUNT, 0);
  store<u32>(base + FIRST_PC, 0);
  nextFill();
}

/** Moves the core's STAMP on: no entry is of the current fill any more. */
function nextFill(): void {
  let stamp = load<u32>(base + STAMP) + 1;
  if (stamp == 0) {
    // After 2^32 fills the stamps come round: empty the cache the slow way once.
    for (let i: u32 = 0; i < CACHE_ENTRIES; i++) {
      store<u32>(base + CACHE + i * ENTRY_SIZE, 0);
      store<u32>(base + CACHE + i * ENTRY_SIZE, 0, E_STAMP);
    }
    stamp = 1;
  }
  store<u32>(base + STAMP, stamp);
}

/** Starts the core at `pc`: fresh pipeline, loop and counters, empty bundle cache. */
export function shaveStart(core: u32, pc: u32): void {
  base = SHAVE_STATE + core * CORE_STRIDE;
  // Windows survive a start: they are set up before it. The bundles cached so far belong to
  // the old fill, so they no longer match (their counts belonged to the last run).
  const windows = v128.load(base + WINDOWS);
  const epoch = load<u32>(base + EPOCH) + 1;
  // The ring's contents need no clearing: its counts are zeroed with the control block.
  memory.fill(base + PC, 0, RING_SCALAR - PC);
  v128.store(base + WINDOWS, windows);
  store<u32>(base + EPOCH, epoch);
  store<u32>(base + DEFINED_COUNT, 0);
  store<u32>(base + FIRST_PC, 0);
  nextFill();
  store<u32>(base + PC, pc);
  store<u32>(base + STATUS, STATUS_RUNNING);
}

/** Stops a running core: pending results land, the state is kept. */
export function shaveStop(core: u32): void {
  enter(core);
  landAll(load<u64>(base + CYCLES));
  leave();
  store<u32>(base + STATUS, STATUS_STOPPED);
}

/** Puts the core in its exception state (the decoder found an undefined encoding at PC). */
export function shaveFault(core: u32, cause: u32, address: u32): void {
  enter(core);
  landAll(load<u64>(base + CYCLES));
  leave();
  store<u32>(base + STATUS, STATUS_ERROR);
  store<u32>(base + ERROR_CAUSE, cause);
  store<u32>(base + ERROR_ADDRESS, address);
}

/**
 * The WebAssembly offset of `size` bytes at `address` as core `core` sees it; -1 when that is
 * not RAM (or misaligned), -2 - offset when it is DDR not committed yet.
 */
export function shaveTranslate(core: u32, address: u32, size: u32): i32 {
  base = SHAVE_STATE + core * CORE_STRIDE;
  fault = 0;
  const offset = translate(address, size);
  if (fault == CAUSE_COMMIT) return -2 - <i32>commitOffset;
  return fault != 0 ? -1 : <i32>offset;
}

/** Starts the cache entry of the bundle at `pc`. */
export function shaveDefine(core: u32, pc: u32, slots: u32, cycles: u32, next: u32, peu: i32, units: u32): void {
  base = SHAVE_STATE + core * CORE_STRIDE;
  const entry = base + CACHE + ((pc >> 2) & (CACHE_ENTRIES - 1)) * ENTRY_SIZE;
  const stamp = load<u32>(base + STAMP);
  if (load<u32>(entry) != 0 && load<u32>(entry, E_STAMP) == stamp) {
    fold(entry);
    store<u64>(entry, 0, E_RUNS);
    store<u64>(entry, 0, E_SKIPPED);
    store<u32>(entry, JIT_UNKNOWN, E_JIT);
    store<i32>(entry, -1, E_ACCESS0);
    store<i32>(entry, -1, E_ACCESS1);
    store<u32>(entry, 0, E_FIRST);
    const definitions = load<u32>(base + DEFINITIONS) + 1;
    store<u32>(base + DEFINITIONS, definitions);
    store<u32>(entry, definitions, E_SERIAL);
  } else fill(entry, pc, stamp);
  // The words decoded, for retake() after the next start. The decoder has just read them.
  const header = load<u32>(translate(pc, 4));
  const words: u32 = 1 + <u32>popcnt<u32>(header & 0xff);
  store<u32>(entry, header, E_CODE);
  for (let k: u32 = 1; k < words; k++) store<u32>(entry + (k << 2), load<u32>(translate(pc + (k << 2), 4)), E_CODE);
  store<u32>(entry, words, E_WORDS);
  store<u32>(entry, pc | 1);
  store<u32>(entry, slots, E_COUNT);
  store<u32>(entry, cycles, E_CYCLES);
  store<u32>(entry, next, E_NEXT);
  store<i32>(entry, peu, E_PEU);
  store<u32>(entry, units, E_UNITS);
}

/** Offers rpl loops to the loop compiler (RUN_LOOP) or not; a fresh machine does not. */
export function shaveLoopCompiler(enabled: bool): void {
  loopCompiler = enabled;
}

/** Slot `index` of the entry of the bundle at `pc` (the PEU has none: shaveDefine has its condition). */
/**
 * `direct`: the decoder found that the result may be written as the operation runs, not
 * queued: its latency is 1, no operation after it in the bundle reads that register, and none
 * after it can fault. The core still queues it when other writes land in the same cycle.
 */
export function shaveDefineSlot(core: u32, pc: u32, index: u32, op: u32, a: u32, b: u32, c: u32, unit: u32, latency: u32, imm: i32, direct: bool): void {
  const slot = SHAVE_STATE + core * CORE_STRIDE + CACHE + ((pc >> 2) & (CACHE_ENTRIES - 1)) * ENTRY_SIZE + E_SLOTS + index * SLOT_SIZE;
  store<u16>(slot, <u16>op);
  store<u8>(slot, <u8>a, 2);
  store<u8>(slot, <u8>b, 3);
  store<u8>(slot, <u8>c, 4);
  store<u8>(slot, <u8>unit, 5);
  store<u8>(slot, <u8>latency, 6);
  store<u8>(slot, <u8>(direct ? 1 : 0), 7);
  store<i32>(slot, imm, 8);
}
