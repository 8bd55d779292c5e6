/**
 * Bulk OUT through the usbredir server from a plain TCP client on loopback: the client says
 * hello, configures the ROM device and streams MA2x load records (into DDR) in bulk packets,
 * keeping a few in flight, as QEMU does for a guest's URBs.
 */
import { connect } from 'node:net';
import { Stick } from '../../emu/machine/stick.js';
import { ma2485 } from '../../emu/models/index.js';
import { encodeMvcmd } from '../../emu/rom/mvcmd.js';
import { UsbredirServer } from '../../emu/serve/usbredir-server.js';

const HELLO = 0;
const DEVICE_CONNECT = 1;
const SET_CONFIGURATION = 6;
const CONFIGURATION_STATUS = 8;
const BULK_PACKET = 101;
/** connect_device_version, device_disconnect_ack, ep_info_max_packet_size, 64bits_ids, 32bits_bulk_length */
const CAPS = (1 << 1) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6);

export interface Throughput {
  readonly bytes: number;
  readonly seconds: number;
}

/** One session: `packets` bulk OUT packets of `packetBytes` (each one load record), `window` in flight. */
export async function usbredirBulkOut(packets: number, packetBytes: number, window = 4): Promise<Throughput> {
  const server = await UsbredirServer.listen(new Stick({ model: ma2485 }), { port: 0 });
  const socket = connect(server.address.port, '127.0.0.1');
  socket.setNoDelay(true);
  let longIds = false;
  let buffer: Buffer = Buffer.alloc(0);
  const seen = new Set<number>();
  let completed = 0;
  let failed = 0;
  let wake: () => void = () => {};
  socket.on('data', (chunk: Buffer) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    for (;;) {
      const head = longIds ? 16 : 12;
      if (buffer.length < head || buffer.length < head + buffer.readUInt32LE(4)) break;
      const type = buffer.readUInt32LE(0);
      const body = buffer.subarray(head, head + buffer.readUInt32LE(4));
      buffer = buffer.subarray(head + body.length);
      if (type === HELLO) longIds = ((body.readUInt32LE(64) & CAPS) >> 5) & 1 ? true : false;
      if (type === BULK_PACKET) body[1] === 0 ? completed++ : failed++;
      seen.add(type);
    }
    wake();
  });
  const until = (done: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => (done() ? resolve() : (wake = check));
      check();
    });
  const packet = (type: number, id: number, body: Uint8Array) => {
    const head = Buffer.alloc(longIds ? 16 : 12);
    head.writeUInt32LE(type, 0);
    head.writeUInt32LE(body.length, 4);
    head.writeUInt32LE(id, 8);
    return Buffer.concat([head, body]);
  };
  await new Promise((r) => socket.once('connect', r));
  const hello = Buffer.alloc(68);
  hello.write('bench', 0, 'latin1');
  hello.writeUInt32LE(CAPS, 64);
  socket.write(packet(HELLO, 0, hello));
  await until(() => seen.has(DEVICE_CONNECT));
  socket.write(packet(SET_CONFIGURATION, 1, Buffer.from([1])));
  await until(() => seen.has(CONFIGURATION_STATUS));

  // The ROM's stream: the magic, then load records of packetBytes each, all into DDR.
  const bulk = (data: Uint8Array, id: number) => {
    const head = Buffer.alloc(10);
    head[0] = 0x01;
    head.writeUInt16LE(data.length & 0xffff, 2);
    head.writeUInt16LE(Math.floor(data.length / 0x10000), 8);
    return packet(BULK_PACKET, id, Buffer.concat([head, data]));
  };
  socket.write(bulk(encodeMvcmd([{ op: 'magic' }]), 2));
  await until(() => completed === 1);
  const record = encodeMvcmd([{ op: 'load', addr: 0x80000000, data: new Uint8Array(packetBytes - 9).fill(0x5a) }]);
  const wire = bulk(record, 0);
  const started = performance.now();
  let sent = 0;
  while (sent < packets) {
    while (sent < packets && sent - (completed - 1) < window) {
      wire.writeUInt32LE(3 + sent, longIds ? 8 : 8); // the packet id
      socket.write(Buffer.from(wire));
      sent++;
    }
    await until(() => sent - (completed - 1) < window || failed > 0);
    if (failed > 0) throw new Error('a bulk OUT failed');
  }
  await until(() => completed - 1 === packets || failed > 0);
  const seconds = (performance.now() - started) / 1000;
  socket.destroy();
  await server.close();
  return { bytes: packets * record.length, seconds };
}
