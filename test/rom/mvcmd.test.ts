import { describe, expect, it } from 'vitest';
import { encodeMvcmd, MvcmdParser, type MvcmdRecord, type MvcmdSink } from '../../emu/rom/mvcmd.js';

/** A sink that writes down what it is told, joining load-block pieces. */
function listingSink(stopAfter: Set<string> = new Set()) {
  const seen: string[] = [];
  let load: Buffer[] = [];
  const flushLoad = () => {
    const data = Buffer.concat(load);
    if (data.length > 0) seen.push(`data ${data.length > 64 ? `${data.length} bytes` : data.toString('hex')}`);
    load = [];
  };
  const note = (line: string, op: string) => {
    flushLoad();
    seen.push(line);
    return !stopAfter.has(op);
  };
  const sink: MvcmdSink = {
    magic: (o) => note(`${o} magic`, 'magic'),
    name: (o, text) => note(`${o} name ${text}`, 'name'),
    write8: (o, a, v) => note(`${o} write8 ${a.toString(16)}=${v}`, 'write8'),
    write32: (o, a, v) => note(`${o} write32 ${a.toString(16)}=${v.toString(16)}`, 'write32'),
    loadStart: (o, a, n) => note(`${o} load ${a.toString(16)} ${n}`, 'load'),
    loadData: (_a, d) => {
      load.push(Buffer.from(d));
    },
    call: (o, a) => note(`${o} call ${a.toString(16)}`, 'call'),
    send: (o, a, n) => note(`${o} send ${a.toString(16)} ${n}`, 'send'),
    jump: (o, a) => note(`${o} jump ${a.toString(16)}`, 'jump'),
    error: (o, reason) => {
      note(`${o} error ${reason}`, 'error');
    },
  };
  return { sink, seen, flush: flushLoad };
}

const EVERY_RECORD: MvcmdRecord[] = [
  { op: 'nop', count: 3 },
  { op: 'magic' },
  { op: 'nop', count: 2 },
  { op: 'name', text: 'section' },
  { op: 'name', text: '' },
  { op: 'write8', addr: 0x70000100, value: 0xa5 },
  { op: 'write32', addr: 0x70000104, value: 0xdeadbeef },
  { op: 'load', addr: 0x70000200, data: Uint8Array.from({ length: 12 }, (_, i) => i + 1) },
  { op: 'load', addr: 0x70000300, data: new Uint8Array(0) },
  { op: 'call', addr: 0x70000200 },
  { op: 'magic' },
  { op: 'send', addr: 0x70000000, length: 9 },
  { op: 'jump', addr: 0x70000200 },
];

function parseInPieces(stream: Uint8Array, cuts: number[]) {
  const { sink, seen, flush } = listingSink();
  const parser = new MvcmdParser(sink);
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    const piece = stream.subarray(from, cut);
    expect(parser.feed(piece)).toBe(piece.length);
    from = cut;
  }
  flush();
  return seen;
}

describe('MA2x stream parser', () => {
  const stream = encodeMvcmd(EVERY_RECORD);
  const whole = parseInPieces(stream, []);

  it('reads every record type with the byte offset of its opcode', () => {
    expect(whole).toEqual([
      '3 magic',
      '9 name section',
      '19 name ',
      '22 write8 70000100=165',
      '28 write32 70000104=deadbeef',
      '37 load 70000200 12',
      'data 0102030405060708090a0b0c',
      '56 load 70000300 0',
      '63 call 70000200',
      '68 magic',
      '72 send 70000000 9',
      '79 jump 70000200',
    ]);
  });

  it('gives the same records whatever byte boundary the stream is split at', () => {
    for (let cut = 0; cut <= stream.length; cut++) expect(parseInPieces(stream, [cut]), `split at ${cut}`).toEqual(whole);
  });

  it('gives the same records when fed one byte at a time', () => {
    expect(parseInPieces(stream, Array.from({ length: stream.length }, (_, i) => i))).toEqual(whole);
  });

  it('stops after a record when the sink asks, and goes on from the next byte', () => {
    const { sink, seen } = listingSink(new Set(['call']));
    const parser = new MvcmdParser(sink);
    const first = parser.feed(stream);
    expect(seen.at(-1)).toBe('63 call 70000200');
    expect(first).toBe(68);
    expect(parser.feed(stream.subarray(first))).toBe(stream.length - first);
    expect(seen.at(-1)).toBe('79 jump 70000200');
  });

  it('consumes nothing after the jump record', () => {
    const { sink } = listingSink();
    const parser = new MvcmdParser(sink);
    const withTail = new Uint8Array([...stream, 1, 2, 3]);
    expect(parser.feed(withTail)).toBe(stream.length);
    expect(parser.stopped).toBe(true);
  });

  it.each([
    ['a stream that does not start with the magic', [0x9a, 0, 0, 0, 0], '0 error bad magic: stream starts with 0x9a, expected "MA2x"'],
    ['a magic with a wrong byte', [0x4d, 0x41, 0x32, 0x79], '0 error bad magic at offset 0'],
    ['an unknown opcode', [0x4d, 0x41, 0x32, 0x78, 0x00, 0x55], '5 error unknown opcode 0x55'],
  ])('reports %s at its offset and stops', (_name, bytes, error) => {
    const { sink, seen } = listingSink();
    const parser = new MvcmdParser(sink);
    parser.feed(Uint8Array.from(bytes));
    expect(seen.at(-1)).toBe(error);
    expect(parser.stopped).toBe(true);
    expect(parser.feed(Uint8Array.of(0))).toBe(0);
  });

  it('resynchronises after 256 KiB + 16 zero bytes, whatever record was half read', () => {
    // A load block header announcing the largest block, then the host's resync padding.
    const half = Uint8Array.of(0x4d, 0x41, 0x32, 0x78, 0x8a, 0, 0, 0, 0x70, 0xff, 0xff);
    const padding = new Uint8Array(256 * 1024 + 16);
    const { sink, seen } = listingSink();
    const parser = new MvcmdParser(sink);
    parser.feed(half);
    parser.feed(padding);
    parser.feed(encodeMvcmd([{ op: 'magic' }, { op: 'jump', addr: 0x70000000 }]));
    expect(seen.slice(-2)).toEqual([`${half.length + padding.length} magic`, `${half.length + padding.length + 4} jump 70000000`]);
  });
});

describe('MA2x stream writer', () => {
  it('splits a load block larger than 65535 words and pads to whole words', () => {
    const data = new Uint8Array(0xffff * 4 + 5).fill(7);
    const stream = encodeMvcmd([{ op: 'magic' }, { op: 'load', addr: 0x80000000, data }]);
    const seen = parseInPieces(stream, []);
    expect(seen.filter((l) => l.includes('load'))).toEqual([`4 load 80000000 ${0xffff * 4}`, `${4 + 7 + 0xffff * 4} load 8003fffc 8`]);
    expect(stream.length).toBe(4 + 7 + 0xffff * 4 + 7 + 8);
  });

  it('refuses a section name longer than 65535 bytes', () => {
    expect(() => encodeMvcmd([{ op: 'name', text: 'x'.repeat(0x10000) }])).toThrow(RangeError);
  });
});
