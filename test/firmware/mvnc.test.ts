/**
 * The mvnc graph protocol end to end: the open firmware boots, takes a graph and FIFOs from the
 * host API as OpenVINO's and NCSDK2's libraries send them, runs inferences on the SHAVEs and
 * answers what the real libraries expect, bad input included. Every session replays.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { bootDevice } from '../../emu/host/boot.js';
import { Hub } from '../../emu/host/hub.js';
import type { EmulatedUSBDevice } from '../../emu/host/webusb.js';
import { XLinkClient } from '../../emu/host/xlink.js';
import { DeviceStatus, MvncDevice, MvncError, NcStatus, type MvncFlavour } from '../../emu/host/mvnc.js';
import { replay } from '../../emu/machine/replay.js';
import { ma2450, ma2485 } from '../../emu/models/index.js';
import { GraphBuilder } from '../../emu/graph/builder.js';
import { writeGraph } from '../../emu/graph/writer.js';
import { f16FromNumber } from '../../emu/graph/f16.js';
import { relu } from '../../emu/graph/layers/relu.js';
import type { Shape, Tensor } from '../../emu/graph/layers/layer.js';
import { hwc8, tensorBytes, tensorFromBytes } from '../../emu/graph/tensor-place.js';
import { xorshift32 } from '../support/random.js';
import { withWatchdogFlag } from '../support/watchdog-flag.js';

const image = (name: string) => readFileSync(new URL(`../../firmware-stubs/vsc/${name}`, import.meta.url));
const IMAGES = { ma2450: image('vsc-ma2450.mvcmd'), ma2485: image('vsc-ma2485.mvcmd'), ncsdk2: image('vsc-ma2485-ncsdk2.mvcmd') };

const sessions: { model: 'ma2450' | 'ma2485'; events: () => readonly import('../../emu/events/event.js').MachineEvent[] }[] = [];
afterEach(() => {
  for (const session of sessions.splice(0)) {
    const result = replay(session.model === 'ma2450' ? ma2450 : ma2485, session.events());
    expect(result.divergence, 'replay of the recorded session').toBeNull();
  }
});

async function open(model: 'ma2450' | 'ma2485' = 'ma2485', flavour: MvncFlavour = 'openvino', image?: Uint8Array) {
  const hub = new Hub();
  const port = hub.plug({ model, record: true });
  sessions.push({ model, events: () => port.recorder!.events });
  await hub.sleep(300);
  const [rom] = await hub.usb.getDevices();
  const stream = image ?? (flavour === 'ncsdk2' ? IMAGES.ncsdk2 : IMAGES[model]);
  const booted = await bootDevice(hub.usb, rom!, stream, { sleep: (ms) => hub.sleep(ms), reattachTimeoutMs: 3000 });
  const device = booted.reattached as EmulatedUSBDevice;
  const xlink = await XLinkClient.connect(device, { sleep: (ms) => hub.sleep(ms), cancelSleep: (p) => hub.cancelSleep(p), nameLength: flavour === 'ncsdk2' ? 16 : 64, timeoutMs: 5000 });
  const mvnc = await MvncDevice.open(xlink, { flavour });
  return { hub, port, xlink, mvnc, device };
}

/** A graph that keeps the SHAVEs busy for a while: `stages` ReLUs on a 64 x 56 x 56 tensor. */
function longGraph(stages: number) {
  const b = new GraphBuilder({ shaves: 16 });
  let t = b.input('data', { c: 64, h: 56, w: 56 });
  for (let i = 0; i < stages; i++) t = b.stage(relu, { slope: 0 }, [t]);
  b.output('out', t);
  return writeGraph(b.build());
}

const rand = xorshift32(4242);
const randomTensor = (shape: Shape): Tensor => ({ shape, data: Uint16Array.from({ length: shape.c * shape.h * shape.w }, () => f16FromNumber(((rand() / 2 ** 32) * 2 - 1) * 4)) });

/** input -> relu -> leaky relu -> output, HWC8 throughout. */
function reluGraph(shape: Shape, shaves: number) {
  const b = new GraphBuilder({ shaves });
  const x = b.input('data', shape);
  const y = b.stage(relu, { slope: 0 }, [x], { name: 'relu1' });
  const z = b.stage(relu, { slope: f16FromNumber(0.25) }, [y], { name: 'leaky2' });
  b.output('out', z);
  return writeGraph(b.build());
}

const reference = (t: Tensor) => relu.reference([relu.reference([t], {}, { slope: 0 })], {}, { slope: f16FromNumber(0.25) });

describe('mvnc on the open firmware', () => {
  for (const [model, flavour] of [['ma2485', 'openvino'], ['ma2450', 'openvino'], ['ma2485', 'ncsdk2']] as const) {
    it(`${model} ${flavour}: allocate, FIFOs, inferences that match the reference, timing, destroy`, async () => {
      const { mvnc } = await open(model, flavour);
      if (flavour === 'openvino') expect(mvnc.platform).toBe(model === 'ma2485' ? 'MYRIAD_X' : 'MYRIAD_2');
      const shape = { c: 3, h: 5, w: 7 };
      const graph = await mvnc.allocateGraph(reluGraph(shape, 16));
      const place = hwc8(shape, 0);
      expect(graph.input).toMatchObject({ n: 1, c: 3, w: 7, h: 5, totalSize: tensorBytes(place, randomTensor(shape)).length });
      expect(graph.stages).toBe(2);
      if (flavour === 'ncsdk2') expect(graph.version).toEqual([1, 0]);
      const input = await mvnc.createFifo('host-write', graph.input, 2);
      const output = await mvnc.createFifo('host-read', graph.output, 2);
      for (let i = 0; i < 3; i++) {
        const t = randomTensor(shape);
        const result = await graph.infer(input, output, tensorBytes(place, t));
        expect(tensorFromBytes(place, result).data).toEqual(reference(t).data);
      }
      const timing = await graph.timing();
      expect(timing.length).toBe(flavour === 'ncsdk2' ? 2 : 4);
      expect(timing[0]).toBeGreaterThan(0);
      if (flavour === 'openvino') expect(timing[3]).toBeGreaterThanOrEqual(timing[0]! + timing[1]!);
      await input.destroy();
      await output.destroy();
      await graph.destroy();
    });
  }

  it('100 inferences in a row give the same output and the same per-stage cycles', async () => {
    const { mvnc } = await open();
    const shape = { c: 17, h: 9, w: 11 };
    const graph = await mvnc.allocateGraph(reluGraph(shape, 16));
    const input = await mvnc.createFifo('host-write', graph.input, 2);
    const output = await mvnc.createFifo('host-read', graph.output, 2);
    const t = randomTensor(shape);
    const element = tensorBytes(hwc8(shape, 0), t);
    const first = await graph.infer(input, output, element);
    const firstTiming = await graph.timing();
    for (let i = 1; i < 100; i++) {
      expect(await graph.infer(input, output, element)).toEqual(first);
      const timing = await graph.timing();
      expect([timing[0], timing[1]]).toEqual([firstTiming[0], firstTiming[1]]);
    }
  }, 120_000);

  it('two graphs and four FIFOs at once; queued inferences come back in order', async () => {
    const { mvnc } = await open();
    const a = { c: 8, h: 4, w: 4 };
    const b = { c: 5, h: 3, w: 9 };
    const ga = await mvnc.allocateGraph(reluGraph(a, 4));
    const gb = await mvnc.allocateGraph(reluGraph(b, 16));
    const [ia, oa, ib, ob] = [await mvnc.createFifo('host-write', ga.input, 2), await mvnc.createFifo('host-read', ga.output, 2), await mvnc.createFifo('host-write', gb.input, 2), await mvnc.createFifo('host-read', gb.output, 2)];
    const ta = [randomTensor(a), randomTensor(a)];
    const tb = randomTensor(b);
    await ia.write(tensorBytes(hwc8(a, 0), ta[0]!));
    await ga.queueInference(ia, oa);
    await ib.write(tensorBytes(hwc8(b, 0), tb));
    await gb.queueInference(ib, ob);
    await ia.write(tensorBytes(hwc8(a, 0), ta[1]!));
    await ga.queueInference(ia, oa);
    expect(tensorFromBytes(hwc8(b, 0), await ob.read()).data).toEqual(reference(tb).data);
    expect(tensorFromBytes(hwc8(a, 0), await oa.read()).data).toEqual(reference(ta[0]!).data);
    expect(tensorFromBytes(hwc8(a, 0), await oa.read()).data).toEqual(reference(ta[1]!).data);
  });

  it('bad input gets the statuses the libraries expect, and the firmware keeps serving', async () => {
    const { mvnc, xlink } = await open();
    // Not a graph: VERIFY refuses it, and GET_DEBUG says why.
    const junk = new Uint8Array(400).fill(7);
    await expect(mvnc.allocateGraph(junk)).rejects.toMatchObject({ status: NcStatus.MYRIAD_ERROR, deviceStatus: DeviceStatus.UNSUPPORTED_NETWORK_ELEMENT });
    // An OpenVINO blob (magic 9709) is named as such.
    const openvino = new Uint8Array(200);
    new DataView(openvino.buffer).setUint32(52, 9709, true);
    const error = await mvnc.allocateGraph(openvino).catch((e: MvncError) => e);
    expect(error).toBeInstanceOf(MvncError);
    expect((error as MvncError).message).toMatch(/OpenVINO compiled blob/);
    // A good header with a broken body: VERIFY passes, ALLOCATE refuses.
    const good = reluGraph({ c: 8, h: 2, w: 2 }, 2);
    const broken = good.slice();
    new DataView(broken.buffer).setUint32(52 + 4 * 18, good.length + 64, true); // the stage section past the end
    await expect(mvnc.allocateGraph(broken)).rejects.toMatchObject({ status: NcStatus.ERROR });
    // Triggers on an unknown graph and with unknown FIFOs.
    const graph = await mvnc.allocateGraph(good);
    const input = await mvnc.createFifo('host-write', graph.input, 2);
    const output = await mvnc.createFifo('host-read', graph.output, 2);
    expect(await mvnc.command(mvnc.graphCommand('trigger', 77, input.id, output.id))).toBe(DeviceStatus.INVALID_HANDLE);
    expect(await mvnc.command(mvnc.graphCommand('trigger', graph.id, 55, output.id))).toBe(DeviceStatus.INVALID_HANDLE);
    expect(await mvnc.command(mvnc.graphCommand('trigger', graph.id, output.id, input.id))).toBe(DeviceStatus.INVALID_HANDLE);
    // An element of the wrong size is refused by the host library; sent raw, the inference fails and says so.
    await expect(input.write(new Uint8Array(10))).rejects.toMatchObject({ status: NcStatus.INVALID_DATA_LENGTH });
    await xlink.write(mvnc.graphMonitor, new Uint8Array(4)); // a command too short to be one
    expect(await mvnc.status()).toBe(DeviceStatus.NULL_PARAM);
    // Unknown commands and FIFO ids.
    expect(await mvnc.command(Uint8Array.of(99, 0, 0, 0, 0, 0, 0, 0))).toBe(DeviceStatus.NOT_IMPLEMENTED);
    expect(await mvnc.command(mvnc.fifoDeallocateCommand(999))).toBe(DeviceStatus.INVALID_HANDLE);
    // It still runs the good graph.
    const t = randomTensor({ c: 8, h: 2, w: 2 });
    const result = await graph.infer(input, output, tensorBytes(hwc8(t.shape, 0), t));
    expect(tensorFromBytes(hwc8(t.shape, 0), result).data).toEqual(reference(t).data);
  });

  it('an element of the wrong size sent raw: TRIGGER refuses it, GET_DEBUG says so, and the next inference runs', async () => {
    const { mvnc, xlink } = await open();
    const shape = { c: 8, h: 2, w: 2 };
    const graph = await mvnc.allocateGraph(reluGraph(shape, 4));
    const input = await mvnc.createFifo('host-write', graph.input, 2);
    const output = await mvnc.createFifo('host-read', graph.output, 2);
    await xlink.write(input.stream, new Uint8Array(10));
    expect(await mvnc.command(mvnc.graphCommand('trigger', graph.id, input.id, output.id))).toBe(DeviceStatus.UNSUPPORTED_NETWORK_ELEMENT);
    expect(await graph.debugInfo()).toMatch(/input element of another size .* 0000000a/);
    const t = randomTensor(shape);
    expect(tensorFromBytes(hwc8(shape, 0), await graph.infer(input, output, tensorBytes(hwc8(shape, 0), t))).data).toEqual(reference(t).data);
  });

  it('intermediate tensors that do not fit: ALLOCATION_VERIFY says out of memory (NC_OUT_OF_MEMORY)', async () => {
    const { mvnc } = await open();
    const b = new GraphBuilder({ shaves: 16 });
    let t = b.input('data', { c: 8, h: 4096, w: 4096 }); // 256 MiB a tensor
    for (let i = 0; i < 3; i++) t = b.stage(relu, { slope: 0 }, [t]);
    b.output('out', t);
    await expect(mvnc.allocateGraph(writeGraph(b.build()))).rejects.toMatchObject({ status: NcStatus.OUT_OF_MEMORY, deviceStatus: DeviceStatus.OUT_OF_MEMORY });
    const graph = await mvnc.allocateGraph(reluGraph({ c: 8, h: 2, w: 2 }, 2)); // and the heap is not lost
    expect(graph.stages).toBe(2);
  });

  it('RESET in the middle of an inference: the stick comes back as the ROM, boots again and infers', async () => {
    const { mvnc, hub, xlink, port } = await open();
    const graph = await mvnc.allocateGraph(longGraph(8));
    const input = await mvnc.createFifo('host-write', graph.input, 2);
    const output = await mvnc.createFifo('host-read', graph.output, 2);
    await input.write(new Uint8Array(graph.input.totalSize));
    await graph.queueInference(input, output);
    await xlink.reset(hub.usb); // the SHAVEs are still at it
    expect((await hub.usb.getDevices()).map((d) => d.productId)).toEqual([0x2485]);
    const events = port.recorder!.events;
    const resetAt = events.findIndex((e) => e.kind === 'machine.reset');
    const started = events.slice(0, resetAt).filter((e) => e.kind === 'shave.start').length;
    expect(started).toBeGreaterThan(0);
    expect(started).toBeLessThan(8 * 16); // the reset came before the last stage
    const [rom] = await hub.usb.getDevices();
    const again = await bootDevice(hub.usb, rom!, IMAGES.ma2485, { sleep: (ms) => hub.sleep(ms), reattachTimeoutMs: 3000 });
    const client = await XLinkClient.connect(again.reattached as EmulatedUSBDevice, { sleep: (ms) => hub.sleep(ms), cancelSleep: (p) => hub.cancelSleep(p) });
    const fresh = await MvncDevice.open(client);
    const shape = { c: 8, h: 2, w: 2 };
    const g = await fresh.allocateGraph(reluGraph(shape, 4));
    const t = randomTensor(shape);
    const [i2, o2] = [await fresh.createFifo('host-write', g.input, 2), await fresh.createFifo('host-read', g.output, 2)];
    expect(tensorFromBytes(hwc8(shape, 0), await g.infer(i2, o2, tensorBytes(hwc8(shape, 0), t))).data).toEqual(reference(t).data);
  });

  it('a host that stops pinging during inferences: the watchdog resets the stick; pinging keeps it', async () => {
    const { mvnc, hub } = await open('ma2485', 'openvino', withWatchdogFlag(IMAGES.ma2485));
    const graph = await mvnc.allocateGraph(longGraph(2));
    const input = await mvnc.createFifo('host-write', graph.input, 2);
    const output = await mvnc.createFifo('host-read', graph.output, 2);
    const element = new Uint8Array(graph.input.totalSize);
    for (let i = 0; i < 6; i++) {
      await mvnc.watchdogPing();
      await graph.infer(input, output, element);
      await hub.sleep(500);
    }
    expect((await hub.usb.getDevices()).map((d) => d.productId)).toEqual([0xf63b]); // 3 s, pinged
    await input.write(element);
    await graph.queueInference(input, output);
    await hub.sleep(2500); // no pings
    expect((await hub.usb.getDevices()).map((d) => d.productId)).toEqual([0x2485]);
  });
});
