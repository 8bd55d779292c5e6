/**
 * The SHAVE instruction set as data: every operation of every unit with its operands, and the
 * open encoding this emulator defines for it (docs/shave-isa.md). The silicon's encoding is not
 * public; this one is ours, and says so.
 *
 * A bundle is a header word and one word per unit that has an operation in it, in UNITS order.
 * Header: bits 0-7 which units are present (bit n = UNITS[n]), bits 8-15 idle cycles after the
 * bundle (`nop N` is an empty bundle with N - 1 of them), bits 16-23 the marker 0xA5, bits
 * 24-31 zero. Slot word: bits 0-7 the operation's index in its unit's table, then its operands
 * from bit 8 up, each in its width, in order.
 */

/** The units in slot order (header bit order). LSU0 and LSU1 share one table. */
export const UNITS = ['peu', 'bru', 'lsu0', 'lsu1', 'iau', 'sau', 'vau', 'cmu'] as const;
export type Unit = (typeof UNITS)[number];
export type Table = 'peu' | 'bru' | 'lsu' | 'iau' | 'sau' | 'vau' | 'cmu';
export const tableOf = (unit: Unit): Table => (unit === 'lsu0' || unit === 'lsu1' ? 'lsu' : unit);

export const HEADER_MARKER = 0xa5;

/**
 * Operand kinds and their widths in a slot word. `target` is a signed offset in bytes/4 from
 * the bundle's own address, and takes the bits the other operands leave (at least 16).
 */
export const OPERAND_BITS = { i: 5, s: 5, v: 5, cond: 4, lane: 4, u16: 16, s14: 14, u8: 8, target: 0 } as const;
export type OperandKind = keyof typeof OPERAND_BITS;

/** Condition codes that CMU compares set and PEU and CMU moves test. */
export const CONDITIONS = ['always', 'eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'ltu', 'lteu', 'gtu', 'gteu', 'never'] as const;

export interface OpSpec {
  readonly table: Table;
  /** The mnemonic after the unit, with its type suffixes: `add.i32`, `cvt.f16.f32`. */
  readonly name: string;
  readonly operands: readonly OperandKind[];
}

const INT_TYPES = ['i8', 'i16', 'i32'];
const LANE_TYPES = ['i8', 'i16', 'i32', 'f16', 'f32'];
const FLOAT_TYPES = ['f16', 'f32'];

function ops(table: Table, names: readonly string[], types: readonly string[] | null, operands: readonly OperandKind[]): OpSpec[] {
  return names.flatMap((name) => (types ? types.map((type) => ({ table, name: `${name}.${type}`, operands })) : [{ table, name, operands }]));
}

/** Every operation, per table; an operation's opcode is its index in its table. */
export const TABLES: Readonly<Record<Table, readonly OpSpec[]>> = {
  peu: [
    // Predication: the other operations of the bundle take effect only if the condition holds.
    ...ops('peu', ['pc1c'], null, ['cond']),
  ],
  bru: [
    ...ops('bru', ['bra', 'bal'], null, ['target']), // bal links i30
    ...ops('bru', ['jmp', 'jal'], null, ['i']),
    ...ops('bru', ['ret'], null, []), // jmp i30
    ...ops('bru', ['rpl'], null, ['i', 'target']), // repeat up to target, i times, no overhead
    ...ops('bru', ['swih'], null, ['u16']), // halt, OSR bit 3, with a code
  ],
  lsu: [
    ...ops('lsu', ['ldil', 'ldih'], null, ['i', 'u16']), // low / high 16 bits (of a number or label)
    ...ops('lsu', ['ld', 'ldi'], ['i8', 'u8', 'i16', 'u16', 'i32'], ['i', 'i', 's14']), // ldi: address += offset after
    ...ops('lsu', ['st', 'sti'], ['i8', 'i16', 'i32'], ['i', 'i', 's14']),
    ...ops('lsu', ['ld', 'ldi', 'st', 'sti'], ['s32'], ['s', 'i', 's14']),
    ...ops('lsu', ['ld', 'ldi', 'st', 'sti'], ['v64', 'v128'], ['v', 'i', 's14']),
  ],
  iau: [
    ...ops('iau', ['add', 'sub', 'mul', 'and', 'or', 'xor', 'shl', 'shr', 'sar', 'min', 'max', 'minu', 'maxu'], null, ['i', 'i', 'i']),
    ...ops('iau', ['add', 'sub', 'and', 'or', 'xor', 'shl', 'shr', 'sar'], null, ['i', 'i', 's14']),
    ...ops('iau', ['not', 'abs', 'mov'], null, ['i', 'i']),
  ],
  sau: [
    ...ops('sau', ['add', 'sub', 'mul', 'div', 'min', 'max'], FLOAT_TYPES, ['s', 's', 's']),
    ...ops('sau', ['sqrt', 'rcp', 'rsqrt', 'exp', 'log', 'sin', 'cos', 'abs', 'neg'], FLOAT_TYPES, ['s', 's']),
    ...ops('sau', ['add', 'sub', 'mul'], ['i32'], ['s', 's', 's']),
    ...ops('sau', ['cvt.f16.f32', 'cvt.f32.f16', 'cvt.f32.i32', 'cvt.i32.f32'], null, ['s', 's']),
  ],
  vau: [
    ...ops('vau', ['add', 'sub', 'mul', 'min', 'max'], LANE_TYPES, ['v', 'v', 'v']),
    // Multiply-accumulate: the lane-wide accumulator of the destination register.
    ...ops('vau', ['mac'], LANE_TYPES, ['v', 'v', 'v']),
    ...ops('vau', ['abs', 'neg'], LANE_TYPES, ['v', 'v']),
    ...ops('vau', ['adds', 'subs'], ['i8', 'u8', 'i16', 'u16'], ['v', 'v', 'v']), // saturating
    ...ops('vau', ['and', 'or', 'xor'], null, ['v', 'v', 'v']),
    ...ops('vau', ['not'], null, ['v', 'v']),
    ...ops('vau', ['shl', 'shr', 'sar'], INT_TYPES, ['v', 'v', 'v']), // by lane
    ...ops('vau', ['shl', 'shr', 'sar'], INT_TYPES, ['v', 'v', 'u8']), // by an immediate
    ...ops('vau', ['cvt.f16.f32', 'cvt.f32.f16', 'cvt.f32.i32', 'cvt.i32.f32', 'cvt.f16.i16', 'cvt.i16.f16', 'cvt.i8.i16', 'cvt.i16.i8', 'cvt.i16.i32', 'cvt.i32.i16'], null, ['v', 'v']),
  ],
  cmu: [
    // Compares set the condition codes.
    ...ops('cmu', ['cmii'], ['i32', 'u32'], ['i', 'i']),
    ...ops('cmu', ['cmss'], ['i32', 'f16', 'f32'], ['s', 's']),
    ...ops('cmu', ['cmvv'], LANE_TYPES, ['v', 'v', 'v', 'cond']), // lane masks: all ones where the condition holds
    // Moves between the files: cp<to><from>.
    ...ops('cmu', ['cpii'], null, ['i', 'i']),
    ...ops('cmu', ['cpsi'], null, ['s', 'i']),
    ...ops('cmu', ['cpis'], null, ['i', 's']),
    ...ops('cmu', ['cpss'], null, ['s', 's']),
    ...ops('cmu', ['cpvv'], null, ['v', 'v']),
    ...ops('cmu', ['cpvi'], ['i8', 'i16', 'i32'], ['i', 'v', 'lane']), // extract a lane
    ...ops('cmu', ['cpiv'], ['i8', 'i16', 'i32'], ['v', 'i', 'lane']), // insert a lane
    ...ops('cmu', ['bcst'], ['i8', 'i16', 'i32'], ['v', 'i']), // broadcast to every lane
    ...ops('cmu', ['vshuf'], ['i32'], ['v', 'v', 'u8']), // lane n takes lane (u8 >> 2n) & 3
    ...ops('cmu', ['cmovii'], null, ['i', 'i', 'cond']), // move if the condition holds
    ...ops('cmu', ['cmovvv'], null, ['v', 'v', 'cond']),
  ],
};

/** Bits left for a `target` operand beside the others. */
export function targetBits(spec: OpSpec): number {
  return 24 - spec.operands.reduce((sum, kind) => sum + OPERAND_BITS[kind], 0);
}

/** Operations by unit table and full name, each possibly with several operand forms. */
export const BY_NAME: ReadonlyMap<string, readonly { opcode: number; spec: OpSpec }[]> = (() => {
  const map = new Map<string, { opcode: number; spec: OpSpec }[]>();
  for (const [table, specs] of Object.entries(TABLES)) {
    specs.forEach((spec, opcode) => {
      const key = `${table}.${spec.name}`;
      map.set(key, [...(map.get(key) ?? []), { opcode, spec }]);
    });
  }
  return map;
})();

/** Every operation in one numbering, table after table: the core's operation ids. */
export const ALL_OPS: readonly OpSpec[] = Object.values(TABLES).flat();

/**
 * The operation's name in assembly/shave/ops.ts: table_name, with the operand kinds appended
 * when the name has several forms (iau_add_iii, iau_add_iis14).
 */
export function opIdentifier(spec: OpSpec): string {
  const forms = BY_NAME.get(`${spec.table}.${spec.name}`)!.length;
  return [spec.table, ...spec.name.split('.'), ...(forms > 1 ? [spec.operands.join('')] : [])].join('_');
}

/**
 * Cycles from issue until a result can be read: an operation issued at cycle t writes its
 * result so that the bundle issued at cycle t + latency (and later ones) sees it; bundles in
 * between still see the old value (the pipeline has no interlocks). The silicon's pipeline
 * depths are not public; these are the emulator's, kept in one place (docs/shave-isa.md).
 * Loads are special: 3 cycles from CMX, 5 from anywhere else (see LOAD_LATENCY).
 */
export function latencyOf(spec: OpSpec): number {
  const [op, type] = spec.name.split('.');
  switch (spec.table) {
    case 'peu':
      return 0; // predicates its own bundle
    case 'bru':
      return 1; // the link register
    case 'lsu':
      return 1; // ldil/ldih and post-increments; loads take LOAD_LATENCY
    case 'iau':
      return op === 'mul' ? 2 : 1;
    case 'sau':
      if (type === 'i32') return op === 'mul' ? 2 : 1;
      return ['div', 'sqrt', 'rcp', 'rsqrt', 'exp', 'log', 'sin', 'cos'].includes(op!) ? 4 : 2;
    case 'vau':
      if (op === 'cvt') return 2;
      if (type === 'f16' || type === 'f32') return op === 'mac' ? 3 : 2;
      return op === 'mul' || op === 'mac' ? 2 : 1;
    case 'cmu':
      return 1;
  }
}

export const LOAD_LATENCY = { cmx: 3, other: 5 } as const;

const FORM_SIZE = 7; // bits 0-2: log2 of the bytes
const FORM_POST = 1 << 3;
const FORM_STORE = 1 << 4;
const FORM_SIGNED = 1 << 5;
const FORM_FILE_SHIFT = 6; // bits 6-7: 0 IRF, 1 SRF, 2 VRF

/**
 * A load's or store's form for the core (assembly/shave/core.ts loadStore, which has the same bits): log2 of its bytes,
 * whether it moves its address register on (ldi/sti), whether it stores, whether it
 * sign-extends, and the register file, in one byte.
 */
export function lsuForm(name: string): number {
  const [op, type] = name.split('.') as [string, string];
  const log2 = { i8: 0, u8: 0, i16: 1, u16: 1, i32: 2, s32: 2, v64: 3, v128: 4 }[type]!;
  const file = type.startsWith('v') ? 2 : type === 's32' ? 1 : 0;
  return log2 | (op.endsWith('i') ? FORM_POST : 0) | (op.startsWith('st') ? FORM_STORE : 0) | (type === 'i8' || type === 'i16' ? FORM_SIGNED : 0) | (file << FORM_FILE_SHIFT);
}

/** What lsuForm packed. */
export function lsuFormFields(form: number): { size: number; post: boolean; store: boolean; signed: boolean; file: number } {
  return { size: 1 << (form & FORM_SIZE), post: (form & FORM_POST) !== 0, store: (form & FORM_STORE) !== 0, signed: (form & FORM_SIGNED) !== 0, file: form >> FORM_FILE_SHIFT };
}
