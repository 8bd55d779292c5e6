/**
 * SHAVE assembler and disassembler for moviAsm-style source (docs/shave-isa.md):
 *
 *   .code
 *   loop:   iau.add i2, i2, 1 || lsu0.ldil i3, table
 *           cmu.cmii.i32 i2, i4
 *           peu.pc1c neq || bru.bra loop
 *           nop 5
 *   .data
 *   table:  .word 1, 2, 3
 *
 * Operations of one bundle are joined by `||`; each unit at most once per bundle. Comments
 * start with `;` or `//`.
 *
 * A line ends at LF, CRLF or a lone CR (old Mac files; an editor shows it as a line break, so
 * the line numbers of errors are the ones the author sees). Any other Unicode space (tab,
 * no-break space, the line and paragraph separators U+2028/9, a byte order mark) is whitespace.
 * Every malformed source is an AsmError with the line and column (1-based; a column counts
 * UTF-16 code units, a tab as one) of what is wrong, never another exception.
 */
import { BY_NAME, CONDITIONS, HEADER_MARKER, OPERAND_BITS, TABLES, tableOf, targetBits, UNITS, type OperandKind, type OpSpec, type Unit } from './isa.js';

export class AsmError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    message: string,
  ) {
    super(`line ${line}, column ${column}: ${message}`);
  }
}

export interface Program {
  readonly code: Uint8Array;
  readonly data: Uint8Array;
  readonly codeBase: number;
  readonly dataBase: number;
  readonly labels: ReadonlyMap<string, number>;
}

export interface AsmOptions {
  /** Address of the first bundle (default 0x1D000000: window B, where code normally runs). */
  readonly codeBase?: number;
  /** Address of the data section (default: after the code, 16-byte aligned). */
  readonly dataBase?: number;
}

interface Token {
  readonly text: string;
  readonly column: number;
}

interface ParsedOp {
  readonly unit: Unit;
  readonly opcode: number;
  readonly spec: OpSpec;
  readonly operands: readonly Token[];
}

type Item =
  | { kind: 'bundle'; line: number; ops: ParsedOp[]; idle: number; address: number }
  | { kind: 'data'; line: number; width: 1 | 2 | 4; values: Token[]; address: number }
  | { kind: 'space'; line: number; bytes: number; address: number };

/** Line ends: LF, CRLF, or a lone CR. */
const LINE_END = /\r\n|\r|\n/;
/** The most bytes a section may hold: as much as one .space may reserve; kernels are a few KiB. */
export const MAX_SECTION_BYTES = 16 << 20;

const REGISTER = /^([isv])(\d+)$/;
const NUMBER = /^-?(0x[0-9a-f]+|\d+)$/i;
const LABEL = /^[A-Za-z_.$][\w.$]*$/;

/** Splits on `sep` at top level, keeping each piece's column (1-based). */
function split(text: string, sep: string, column: number): Token[] {
  const out: Token[] = [];
  let start = 0;
  for (;;) {
    const at = text.indexOf(sep, start);
    const piece = text.slice(start, at < 0 ? undefined : at);
    const lead = piece.length - piece.trimStart().length;
    out.push({ text: piece.trim(), column: column + start + lead });
    if (at < 0) return out;
    start = at + sep.length;
  }
}

function parseNumber(token: Token, line: number): number {
  if (!NUMBER.test(token.text)) throw new AsmError(line, token.column, `'${token.text}' is not a number`);
  const negative = token.text.startsWith('-');
  const value = Number(negative ? token.text.slice(1) : token.text);
  return negative ? -value : value;
}

/** Whether a token can stand for an operand of this kind (to choose among forms of a name). */
function fits(kind: OperandKind, token: string): boolean {
  const register = REGISTER.exec(token);
  if (kind === 'i' || kind === 's' || kind === 'v') return register !== null && register[1] === kind;
  if (kind === 'cond') return (CONDITIONS as readonly string[]).includes(token.toLowerCase());
  if (register) return false;
  if (kind === 'u16' || kind === 'target') return NUMBER.test(token) || LABEL.test(token);
  return NUMBER.test(token);
}

export function assemble(source: string, options: AsmOptions = {}): Program {
  const codeBase = options.codeBase ?? 0x1d000000;
  const items: { code: Item[]; data: Item[] } = { code: [], data: [] };
  const labels = new Map<string, { section: 'code' | 'data'; offset: number; line: number }>();
  let section: 'code' | 'data' = 'code';
  const offsets = { code: 0, data: 0 };

  source.split(LINE_END).forEach((raw, index) => {
    const line = index + 1;
    // `s`: a comment runs to the end of the line whatever it holds (U+2028 is not a line end).
    let text = raw.replace(/(;|\/\/).*$/s, '');
    let column = 1;
    const label = /^\s*([A-Za-z_.$][\w.$]*)\s*:/.exec(text);
    if (label && !label[1]!.startsWith('.')) {
      const name = label[1]!;
      if (labels.has(name)) throw new AsmError(line, text.indexOf(name) + 1, `label '${name}' is already defined on line ${labels.get(name)!.line}`);
      labels.set(name, { section, offset: offsets[section], line });
      column += label[0].length;
      text = text.slice(label[0].length);
    }
    const body = text.trim();
    if (body === '') return;
    column += text.length - text.trimStart().length;
    if (body === '.code' || body === '.data') {
      section = body.slice(1) as 'code' | 'data';
      return;
    }
    if (body.startsWith('.')) {
      const [directive, ...rest] = body.split(/\s+/);
      const args = rest.length ? split(body.slice(directive!.length), ',', column + directive!.length) : [];
      const address = offsets[section];
      if (section !== 'data') throw new AsmError(line, column, `${directive} belongs in the .data section`);
      const width = ({ '.word': 4, '.half': 2, '.byte': 1 } as const)[directive as '.word'];
      if (width) {
        if (args.length === 0) throw new AsmError(line, column, `${directive} needs values`);
        items.data.push({ kind: 'data', line, width, values: args, address });
        offsets.data += width * args.length;
      } else if (directive === '.space' || directive === '.align') {
        const n = args.length === 1 ? parseNumber(args[0]!, line) : NaN;
        if (!(n >= 0 && n < 1 << 24)) throw new AsmError(line, column, `${directive} takes one byte count`);
        const bytes = directive === '.space' ? n : n === 0 ? 0 : (n - (address % n)) % n;
        items.data.push({ kind: 'space', line, bytes, address });
        offsets.data += bytes;
      } else throw new AsmError(line, column, `unknown directive ${directive}`);
      if (offsets.data > MAX_SECTION_BYTES) throw new AsmError(line, column, `the .data section grows past ${MAX_SECTION_BYTES} bytes here`);
      return;
    }
    if (section !== 'code') throw new AsmError(line, column, 'instructions belong in the .code section');
    const bundle = parseBundle(body, line, column);
    items.code.push({ ...bundle, kind: 'bundle', line, address: offsets.code });
    offsets.code += 4 + 4 * bundle.ops.length;
    if (offsets.code > MAX_SECTION_BYTES) throw new AsmError(line, column, `the .code section grows past ${MAX_SECTION_BYTES} bytes here`);
  });

  const dataBase = options.dataBase ?? codeBase + Math.ceil(offsets.code / 16) * 16;
  const addressOf = new Map([...labels].map(([name, l]) => [name, (l.section === 'code' ? codeBase : dataBase) + l.offset]));
  const resolve = (token: Token, line: number) => {
    if (NUMBER.test(token.text)) return parseNumber(token, line);
    const address = addressOf.get(token.text);
    if (address === undefined) throw new AsmError(line, token.column, `undefined label '${token.text}'`);
    return address;
  };

  const code = new DataView(new ArrayBuffer(offsets.code));
  for (const item of items.code) {
    if (item.kind !== 'bundle') continue;
    let mask = 0;
    const words: number[] = [];
    for (const op of [...item.ops].sort((a, b) => UNITS.indexOf(a.unit) - UNITS.indexOf(b.unit))) {
      mask |= 1 << UNITS.indexOf(op.unit);
      words.push(encodeSlot(op, codeBase + item.address, (token) => resolve(token, item.line), item.line));
    }
    code.setUint32(item.address, mask | (item.idle << 8) | (HEADER_MARKER << 16), true);
    words.forEach((word, n) => code.setUint32(item.address + 4 + 4 * n, word >>> 0, true));
  }
  const data = new DataView(new ArrayBuffer(offsets.data));
  for (const item of items.data) {
    if (item.kind !== 'data') continue;
    item.values.forEach((token, n) => {
      const value = resolve(token, item.line);
      const limit = 2 ** (8 * item.width);
      if (value < -(limit / 2) || value >= limit) throw new AsmError(item.line, token.column, `${value} does not fit in ${item.width} bytes`);
      const at = item.address + n * item.width;
      if (item.width === 4) data.setUint32(at, value >>> 0, true);
      else if (item.width === 2) data.setUint16(at, value & 0xffff, true);
      else data.setUint8(at, value & 0xff);
    });
  }
  return { code: new Uint8Array(code.buffer), data: new Uint8Array(data.buffer), codeBase, dataBase, labels: addressOf };
}

function parseBundle(body: string, line: number, column: number): { ops: ParsedOp[]; idle: number } {
  const pieces = split(body, '||', column);
  const nop = /^nop(\s+(\S+))?$/i.exec(pieces[0]!.text);
  if (nop) {
    if (pieces.length > 1) throw new AsmError(line, pieces[1]!.column, 'nop stands alone in its bundle');
    const count = nop[2] ? parseNumber({ text: nop[2], column: pieces[0]!.column + nop[0].length - nop[2].length }, line) : 1;
    if (!(count >= 1 && count <= 256)) throw new AsmError(line, pieces[0]!.column, 'nop takes a count from 1 to 256');
    return { ops: [], idle: count - 1 };
  }
  const ops: ParsedOp[] = [];
  for (const piece of pieces) {
    if (piece.text === '') throw new AsmError(line, piece.column, 'an empty operation');
    // `s`: the operands are whatever follows the mnemonic, U+2028 and all (split checks them).
    const match = /^(\S+)(\s+(.*))?$/s.exec(piece.text)!;
    const mnemonic = match[1]!.toLowerCase();
    const dot = mnemonic.indexOf('.');
    const unit = mnemonic.slice(0, dot) as Unit;
    if (dot < 0 || !UNITS.includes(unit)) throw new AsmError(line, piece.column, `'${match[1]}' does not start with a unit (${UNITS.join(', ')})`);
    if (ops.some((op) => op.unit === unit)) throw new AsmError(line, piece.column, `${unit} has a second operation in this bundle`);
    const forms = BY_NAME.get(`${tableOf(unit)}.${mnemonic.slice(dot + 1)}`);
    if (!forms) throw new AsmError(line, piece.column, `${unit} has no operation '${mnemonic.slice(dot + 1)}'`);
    const operandColumn = piece.column + match[1]!.length + (match[2] ? match[2].length - match[3]!.length : 0);
    const operands = match[3] !== undefined && match[3].trim() !== '' ? split(match[3], ',', operandColumn) : [];
    const form = forms.find((f) => f.spec.operands.length === operands.length && f.spec.operands.every((kind, n) => fits(kind, operands[n]!.text)));
    if (!form) {
      const wanted = forms.map((f) => f.spec.operands.join(', ') || 'no operands').join(' or ');
      // Point at the first operand that no form of this length accepts.
      const sameLength = forms.filter((f) => f.spec.operands.length === operands.length);
      const bad = operands.find((token, n) => !sameLength.some((f) => fits(f.spec.operands[n]!, token.text)));
      throw new AsmError(line, (sameLength.length > 0 && bad ? bad : piece).column, `${mnemonic} takes ${wanted}`);
    }
    ops.push({ unit, opcode: form.opcode, spec: form.spec, operands });
  }
  return { ops, idle: 0 };
}

function encodeSlot(op: ParsedOp, address: number, resolve: (token: Token) => number, line: number): number {
  let word = op.opcode;
  let bit = 8;
  op.spec.operands.forEach((kind, n) => {
    const token = op.operands[n]!;
    const width = kind === 'target' ? targetBits(op.spec) : OPERAND_BITS[kind];
    let field: number;
    if (kind === 'i' || kind === 's' || kind === 'v') {
      field = Number(REGISTER.exec(token.text)![2]);
      if (field > 31) throw new AsmError(line, token.column, `there is no register ${token.text}`);
    } else if (kind === 'cond') {
      field = (CONDITIONS as readonly string[]).indexOf(token.text.toLowerCase());
    } else if (kind === 'target') {
      const offset = (resolve(token) - address) / 4;
      if (!Number.isInteger(offset) || offset < -(2 ** (width - 1)) || offset >= 2 ** (width - 1)) throw new AsmError(line, token.column, `branch target ${token.text} is out of reach`);
      field = offset & ((1 << width) - 1);
    } else if (kind === 'u16' && !NUMBER.test(token.text)) {
      // A label: ldil takes its low half, ldih its high half.
      const value = resolve(token) >>> 0;
      field = op.spec.name === 'ldih' ? value >>> 16 : value & 0xffff;
    } else {
      const value = resolve(token);
      const [min, max] = kind === 's14' ? [-8192, 8191] : [0, 2 ** width - 1];
      if (!Number.isInteger(value) || value < min || value > max) throw new AsmError(line, token.column, `${token.text} is out of range for ${kind} (${min} to ${max})`);
      field = value & ((1 << width) - 1);
    }
    word |= field << bit;
    bit += width;
  });
  return word >>> 0;
}

// ---- disassembly

export interface DecodedOp {
  readonly unit: Unit;
  readonly spec: OpSpec;
  /** Operand values: register numbers, condition index, immediates, absolute target addresses. */
  readonly values: readonly number[];
}

export interface DecodedBundle {
  readonly address: number;
  readonly bytes: number;
  readonly ops: readonly DecodedOp[];
  readonly idle: number;
}

export class DecodeError extends Error {
  constructor(
    readonly address: number,
    message: string,
  ) {
    super(`0x${address.toString(16)}: ${message}`);
  }
}

/** Decodes the bundle at byte `offset` of `code`; an undefined encoding is a DecodeError. */
export function decodeBundle(code: Uint8Array, offset: number, base: number): DecodedBundle {
  const view = new DataView(code.buffer, code.byteOffset, code.byteLength);
  const address = base + offset;
  if (offset + 4 > code.length) throw new DecodeError(address, 'a bundle header runs past the end of the code');
  const header = view.getUint32(offset, true);
  if (((header >>> 16) & 0xff) !== HEADER_MARKER || header >>> 24 !== 0) throw new DecodeError(address, `0x${header.toString(16).padStart(8, '0')} is not a bundle header`);
  const mask = header & 0xff;
  const ops: DecodedOp[] = [];
  let at = offset + 4;
  for (let n = 0; n < UNITS.length; n++) {
    if (!(mask & (1 << n))) continue;
    if (at + 4 > code.length) throw new DecodeError(address, 'a bundle runs past the end of the code');
    const unit = UNITS[n]!;
    const word = view.getUint32(at, true);
    const spec = TABLES[tableOf(unit)][word & 0xff];
    if (!spec) throw new DecodeError(address, `${unit} has no operation ${word & 0xff}`);
    const values: number[] = [];
    let bit = 8;
    for (const kind of spec.operands) {
      const width = kind === 'target' ? targetBits(spec) : OPERAND_BITS[kind];
      let field = (word >>> bit) & (2 ** width - 1);
      if (kind === 'cond' && field >= CONDITIONS.length) throw new DecodeError(address, `${unit} condition ${field} is undefined`);
      if (kind === 's14' && field >= 8192) field -= 16384;
      if (kind === 'target') field = address + 4 * (field >= 2 ** (width - 1) ? field - 2 ** width : field);
      values.push(field);
      bit += width;
    }
    if (bit < 32 && word >>> bit !== 0) throw new DecodeError(address, `${unit}.${spec.name} has bits set past its operands`);
    ops.push({ unit, spec, values });
    at += 4;
  }
  return { address, bytes: at - offset, ops, idle: (header >>> 8) & 0xff };
}

/** One bundle as source text (targets as absolute addresses, which the assembler accepts). */
export function formatBundle(bundle: DecodedBundle): string {
  if (bundle.ops.length === 0) return bundle.idle === 0 ? 'nop' : `nop ${bundle.idle + 1}`;
  return bundle.ops
    .map((op) => {
      const operands = op.spec.operands.map((kind, n) => {
        const v = op.values[n]!;
        if (kind === 'i' || kind === 's' || kind === 'v') return `${kind}${v}`;
        if (kind === 'cond') return CONDITIONS[v]!;
        if (kind === 'target' || kind === 'u16') return `0x${(v >>> 0).toString(16)}`;
        return String(v);
      });
      return `${op.unit}.${op.spec.name}${operands.length ? ` ${operands.join(', ')}` : ''}`;
    })
    .join(' || ');
}

/** The whole code section as lines of `address: bundle`. */
export function disassemble(code: Uint8Array, base: number): string[] {
  const lines: string[] = [];
  for (let offset = 0; offset < code.length; ) {
    const bundle = decodeBundle(code, offset, base);
    lines.push(`${(base + offset).toString(16).padStart(8, '0')}: ${formatBundle(bundle)}`);
    offset += bundle.bytes;
  }
  return lines;
}
