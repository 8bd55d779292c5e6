import { describe, expect, it } from 'vitest';
import { ByteQueue } from '../../emu/serve/byte-queue.js';

describe('ByteQueue', () => {
  it('gives back the bytes it was given, whatever the chunking, peeking headers and taking packets', () => {
    const source = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31 + (i >> 8)) & 0xff));
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    for (let round = 0; round < 20; round++) {
      const queue = new ByteQueue();
      let fed = 0;
      let read = 0;
      const out: Buffer[] = [];
      while (read < source.length) {
        if (fed < source.length) {
          const n = 1 + random(round % 2 ? 50 : 5000);
          queue.push(source.subarray(fed, Math.min(source.length, fed + n)));
          fed = Math.min(source.length, fed + n);
        }
        const want = Math.min(source.length - read, 1 + random(3000));
        if (queue.length >= Math.min(12, want)) expect(Buffer.compare(queue.peek(Math.min(12, want)), source.subarray(read, read + Math.min(12, want)))).toBe(0);
        if (queue.length >= want) {
          out.push(Buffer.from(queue.take(want)));
          read += want;
        }
      }
      expect(queue.length).toBe(0);
      expect(Buffer.compare(Buffer.concat(out), source)).toBe(0);
    }
  });
});
