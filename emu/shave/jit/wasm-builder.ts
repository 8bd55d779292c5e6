/**
 * Just enough of the WebAssembly binary format to build one function that works on the
 * machine's shared memory: a code buffer with the instructions the loop compiler emits, and a
 * module around it that imports `env.memory` (shared, as the AssemblyScript module declares it)
 * and exports the function as `run`. Opcodes are the spec's (core and 0xfd-prefixed SIMD).
 */

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValueType = typeof I32 | typeof I64 | typeof F64 | typeof V128;
const EMPTY_BLOCK = 0x40;

/** Core opcodes, by their text-format names. */
export const OP = {
  unreachable: 0x00, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, br_if: 0x0d, return: 0x0f,
  drop: 0x1a, select: 0x1b,
  'local.get': 0x20, 'local.set': 0x21, 'local.tee': 0x22,
  'i32.load': 0x28, 'i64.load': 0x29, 'i32.load8_s': 0x2c, 'i32.load8_u': 0x2d, 'i32.load16_s': 0x2e, 'i32.load16_u': 0x2f,
  'i32.store': 0x36, 'i64.store': 0x37, 'i32.store8': 0x3a, 'i32.store16': 0x3b, 'memory.size': 0x3f,
  'i32.const': 0x41, 'i64.const': 0x42,
  'i32.eqz': 0x45, 'i32.eq': 0x46, 'i32.ne': 0x47, 'i32.lt_s': 0x48, 'i32.lt_u': 0x49, 'i32.gt_s': 0x4a, 'i32.gt_u': 0x4b,
  'i32.le_s': 0x4c, 'i32.le_u': 0x4d, 'i32.ge_s': 0x4e, 'i32.ge_u': 0x4f,
  'i64.eq': 0x51, 'i64.ne': 0x52, 'i64.lt_u': 0x54, 'i64.gt_u': 0x56, 'i64.le_u': 0x58, 'i64.ge_u': 0x5a,
  'i32.add': 0x6a, 'i32.sub': 0x6b, 'i32.mul': 0x6c, 'i32.and': 0x71, 'i32.or': 0x72, 'i32.xor': 0x73,
  'i32.shl': 0x74, 'i32.shr_s': 0x75, 'i32.shr_u': 0x76,
  'i64.add': 0x7c, 'i64.sub': 0x7d, 'i64.mul': 0x7e, 'i64.shl': 0x86,
  'f32.sqrt': 0x91, 'f32.add': 0x92, 'f32.sub': 0x93, 'f32.mul': 0x94, 'f32.div': 0x95, 'f32.min': 0x96, 'f32.max': 0x97,
  'i32.wrap_i64': 0xa7, 'i64.extend_i32_u': 0xad, 'i64.trunc_f64_u': 0xb1, 'i32.reinterpret_f32': 0xbc, 'f32.reinterpret_i32': 0xbe,
} as const;

/** SIMD opcodes (after the 0xfd prefix). */
export const SIMD = {
  'v128.load': 0, 'v128.store': 11, 'v128.const': 12, 'i8x16.shuffle': 13,
  'i8x16.splat': 15, 'i16x8.splat': 16, 'i32x4.splat': 17,
  'i8x16.extract_lane_s': 21, 'i16x8.extract_lane_s': 24, 'i32x4.extract_lane': 27, 'i64x2.extract_lane': 29,
  'i16x8.gt_s': 49, 'i32x4.eq': 55, 'i32x4.ne': 56, 'i32x4.lt_s': 57, 'i32x4.gt_s': 59, 'i32x4.ge_s': 63,
  'f32x4.ne': 66,
  'v128.not': 77, 'v128.and': 78, 'v128.or': 80, 'v128.xor': 81, 'v128.bitselect': 82,
  'v128.load64_zero': 93,
  'i8x16.abs': 96, 'i8x16.neg': 97, 'i8x16.narrow_i16x8_s': 101, 'i8x16.shl': 107, 'i8x16.shr_s': 108, 'i8x16.shr_u': 109, 'i8x16.add': 110, 'i8x16.add_sat_s': 111, 'i8x16.add_sat_u': 112,
  'i8x16.sub': 113, 'i8x16.sub_sat_s': 114, 'i8x16.sub_sat_u': 115, 'i8x16.min_s': 118, 'i8x16.max_s': 120,
  'i16x8.abs': 128, 'i16x8.neg': 129, 'i16x8.narrow_i32x4_s': 133, 'i16x8.narrow_i32x4_u': 134, 'i16x8.extend_low_i8x16_s': 135,
  'i16x8.shl': 139, 'i16x8.shr_s': 140, 'i16x8.shr_u': 141,
  'i16x8.add': 142, 'i16x8.add_sat_s': 143, 'i16x8.add_sat_u': 144, 'i16x8.sub': 145, 'i16x8.sub_sat_s': 146, 'i16x8.sub_sat_u': 147,
  'i16x8.mul': 149, 'i16x8.min_s': 150, 'i16x8.max_s': 152, 'i16x8.extmul_low_i8x16_s': 156, 'i16x8.extmul_high_i8x16_s': 157,
  'i32x4.abs': 160, 'i32x4.neg': 161, 'i32x4.extend_low_i16x8_s': 167, 'i32x4.extend_high_i16x8_s': 168,
  'i32x4.extend_low_i16x8_u': 169, 'i32x4.extend_high_i16x8_u': 170, 'i32x4.shl': 171, 'i32x4.shr_s': 172, 'i32x4.shr_u': 173,
  'i32x4.add': 174, 'i32x4.sub': 177, 'i32x4.mul': 181, 'i32x4.min_s': 182, 'i32x4.max_s': 184,
  'f32x4.add': 228, 'f32x4.sub': 229, 'f32x4.mul': 230, 'f32x4.min': 232, 'f32x4.max': 233,
  'i32x4.trunc_sat_f32x4_s': 248, 'f32x4.convert_i32x4_s': 250,
} as const;

export type CoreOp = keyof typeof OP;
export type SimdOp = keyof typeof SIMD;

/** Natural alignment (log2) of each memory access, for the memarg. */
const ALIGN: Partial<Record<CoreOp | SimdOp, number>> = {
  'i32.load': 2, 'i64.load': 3, 'i32.load8_s': 0, 'i32.load8_u': 0, 'i32.load16_s': 1, 'i32.load16_u': 1,
  'i32.store': 2, 'i64.store': 3, 'i32.store8': 0, 'i32.store16': 1, 'v128.load': 4, 'v128.store': 4, 'v128.load64_zero': 3,
};

function uleb(out: number[], value: number): void {
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
}

function sleb(out: number[], value: number): void {
  let v = value;
  for (;;) {
    const byte = ((v % 128) + 128) % 128;
    v = Math.floor(v / 128);
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

/** A function body being written: locals and instructions. */
export class FunctionCode {
  readonly bytes: number[] = [];
  private readonly locals: ValueType[] = [];

  constructor(readonly params: readonly ValueType[]) {}

  /** A new local of `type`; its index. */
  local(type: ValueType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  op(name: CoreOp): this {
    this.bytes.push(OP[name]);
    return this;
  }

  simd(name: SimdOp): this {
    this.bytes.push(0xfd);
    uleb(this.bytes, SIMD[name]);
    return this;
  }

  /** A load or store at the address on the stack plus `offset`. */
  memory(name: CoreOp | SimdOp, offset = 0): this {
    if (name in SIMD) this.simd(name as SimdOp);
    else this.op(name as CoreOp);
    uleb(this.bytes, ALIGN[name]!);
    uleb(this.bytes, offset >>> 0);
    return this;
  }

  get(local: number): this {
    this.op('local.get');
    uleb(this.bytes, local);
    return this;
  }

  set(local: number): this {
    this.op('local.set');
    uleb(this.bytes, local);
    return this;
  }

  tee(local: number): this {
    this.op('local.tee');
    uleb(this.bytes, local);
    return this;
  }

  i32(value: number): this {
    this.op('i32.const');
    sleb(this.bytes, value | 0);
    return this;
  }

  i64(value: number): this {
    this.op('i64.const');
    sleb(this.bytes, value);
    return this;
  }

  /** A v128 constant of four 32-bit lanes. */
  v128(lanes: readonly [number, number, number, number]): this {
    this.simd('v128.const');
    for (const lane of lanes) for (let i = 0; i < 4; i++) this.bytes.push((lane >>> (8 * i)) & 0xff);
    return this;
  }

  /** A lane index (extract_lane) or the 16 indices of i8x16.shuffle. */
  lanes(...indices: number[]): this {
    this.bytes.push(...indices);
    return this;
  }

  block(): this {
    this.op('block').bytes.push(EMPTY_BLOCK);
    return this;
  }

  loop(): this {
    this.op('loop').bytes.push(EMPTY_BLOCK);
    return this;
  }

  if(): this {
    this.op('if').bytes.push(EMPTY_BLOCK);
    return this;
  }

  br(depth: number): this {
    this.op('br');
    uleb(this.bytes, depth);
    return this;
  }

  brIf(depth: number): this {
    this.op('br_if');
    uleb(this.bytes, depth);
    return this;
  }

  memorySize(): this {
    this.op('memory.size').bytes.push(0);
    return this;
  }

  /** The body as the code section holds it: locals (run-length by type), code, end. */
  encode(): number[] {
    const out: number[] = [];
    const runs: [number, ValueType][] = [];
    for (const type of this.locals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === type) last[0]++;
      else runs.push([1, type]);
    }
    uleb(out, runs.length);
    for (const [count, type] of runs) {
      uleb(out, count);
      out.push(type);
    }
    out.push(...this.bytes, OP.end);
    return out;
  }
}

function section(out: number[], id: number, content: number[]): void {
  out.push(id);
  uleb(out, content.length);
  out.push(...content);
}

function name(out: number[], text: string): void {
  uleb(out, text.length);
  for (const ch of text) out.push(ch.charCodeAt(0));
}

/**
 * A module of one function `run` with `code`'s parameters and `results`, importing the memory
 * as `env.memory`: shared, at least one page, at most `maxPages`.
 */
export function buildModule(code: FunctionCode, results: readonly ValueType[], maxPages: number): Uint8Array<ArrayBuffer> {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const type = [0x01, 0x60];
  uleb(type, code.params.length);
  type.push(...code.params);
  uleb(type, results.length);
  type.push(...results);
  section(out, 1, type);
  const imports = [0x01];
  name(imports, 'env');
  name(imports, 'memory');
  imports.push(0x02, 0x03); // memory, limits: shared with a maximum
  uleb(imports, 1);
  uleb(imports, maxPages);
  section(out, 2, imports);
  section(out, 3, [0x01, 0x00]);
  const exports = [0x01];
  name(exports, 'run');
  exports.push(0x00, 0x00);
  section(out, 7, exports);
  const body = code.encode();
  const codeSection = [0x01];
  uleb(codeSection, body.length);
  codeSection.push(...body);
  section(out, 10, codeSection);
  return new Uint8Array(out);
}
