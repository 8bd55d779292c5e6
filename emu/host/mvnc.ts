/**
 * A host-side mvnc over the XLink client, shaped like the vendor's C API (ncDeviceOpen,
 * ncGraphAllocate, ncFifoCreate/Allocate, ncGraphQueueInference, ncFifoReadElem,
 * ncGraphGetOption(TIME_TAKEN), ncGraphDestroy), speaking either flavour on the wire exactly as
 * myriad-facts.md 4a and the host libraries do: OpenVINO 2021.4's bare structs (84-byte XLink)
 * or NCSDK2's graphMonCommand_t classes (36-byte XLink). The device's status codes come back
 * as the ncStatus the real library would return.
 */
import { XLinkError, type XLinkClient } from './xlink.js';

export type MvncFlavour = 'openvino' | 'ncsdk2';

/** ncStatus_t: the same values in both libraries. */
export const NcStatus = {
  OK: 0,
  BUSY: -1,
  ERROR: -2,
  OUT_OF_MEMORY: -3,
  INVALID_PARAMETERS: -5,
  TIMEOUT: -6,
  NOT_ALLOCATED: -8,
  UNAUTHORIZED: -9,
  UNSUPPORTED_GRAPH_FILE: -10,
  MYRIAD_ERROR: -13,
  INVALID_DATA_LENGTH: -14,
} as const;

/** The device's own status codes (OpenVINO's ncMvNCIErrorCode_t), as graphMonitor answers them. */
export const DeviceStatus = { SUCCESS: 0, NULL_PARAM: 1, UNSUPPORTED_NETWORK_ELEMENT: 3, INVALID_HANDLE: 4, OUT_OF_RESOURCES: 5, NOT_IMPLEMENTED: 6, INTERNAL_ERROR: 9, OUT_OF_MEMORY: 10 } as const;

export class MvncError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** What the device answered, when it answered. */
    readonly deviceStatus?: number,
  ) {
    super(message);
  }
}

/** ncTensorDescriptor_t: n, c, w, h, totalSize (and NCSDK2's strides in bytes). */
export interface TensorDescriptor {
  readonly n: number;
  readonly c: number;
  readonly w: number;
  readonly h: number;
  readonly totalSize: number;
  readonly widthStride?: number;
  readonly heightStride?: number;
  readonly channelsStride?: number;
}

/** One stage's cost on the last run: the longest share's cycles, the rest summed over its SHAVEs. */
export interface StageProfile {
  readonly cycles: number;
  readonly shaves: number;
  readonly bundles: number;
  readonly stalls: number;
  readonly ddrBytes: number;
  readonly cmxBytes: number;
  /** Operations per unit in slot order: PEU, BRU, LSU0, LSU1, IAU, SAU, VAU, CMU. */
  readonly unitOps: readonly number[];
}

export interface Capabilities {
  readonly maxGraphs: number;
  readonly maxFifos: number;
  readonly maxMemory: number;
  readonly maxExecutors: number;
  readonly fwVersion: readonly number[];
  readonly mvTensorVersion: readonly number[];
}

const OV = { ALLOCATE: 0, DEALLOCATE: 1, TRIGGER: 2, VERIFY: 3, ALLOCATION_VERIFY: 4, BUFFER_ALLOCATE: 5, BUFFER_DEALLOCATE: 6, GET_TIMING: 7, GET_DEBUG: 8 } as const;
const OV_DEVICE = { THERMAL: 0, CAPABILITIES: 1, USED_MEMORY: 2, WATCHDOG_PING: 4, SET_POWER_CONFIG: 6, ENABLE_ASYNC_DMA: 8 } as const;
const NC2 = { GRAPH_CMD: 0, BUFFER_CMD: 1, GET_CLASS0: 2, SET_CLASS0: 6 } as const;
/** The firmware's own commands (mvnc.c): a stage profile, and turning it on. */
const OURS = { PROFILE: 100, SET_PROFILING: 101 } as const;
/** stage_profile_t in firmware-stubs/vsc/graph.h: 14 words. */
const STAGE_PROFILE_BYTES = 56;
const NC2_DEVICE = { THERMAL: 1, CAPABILITIES: 2, USED_MEMORY: 3 } as const;
/** The header bytes OpenVINO's VERIFY sends: ElfN_Ehdr (52) + mv_blob_header (80). */
const VERIFY_HEADER_BYTES = 132;
const DEBUG_BYTES = 120;

class Words {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u32(at: number, value: number): this {
    this.view.setUint32(at, value >>> 0, true);
    return this;
  }
  u8(at: number, value: number): this {
    this.bytes[at] = value;
    return this;
  }
  name(at: number, name: string, max: number): this {
    const bytes = new TextEncoder().encode(name);
    if (bytes.length >= max) throw new MvncError(NcStatus.INVALID_PARAMETERS, `stream name ${name} is too long`);
    this.bytes.set(bytes, at);
    return this;
  }
}

const u32At = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
const i32At = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getInt32(at, true);

function descriptorFrom(b: Uint8Array, at: number, ncsdk2: boolean): TensorDescriptor {
  const w = (k: number) => u32At(b, at + 4 * k);
  const base = { n: w(0), c: w(1), w: w(2), h: w(3), totalSize: w(4) };
  return ncsdk2 ? { ...base, widthStride: w(5), heightStride: w(6), channelsStride: w(7) } : base;
}

export interface MvncOptions {
  readonly flavour?: MvncFlavour;
}

/** An opened device: ncDeviceOpen after the firmware is up and XLink is connected. */
export class MvncDevice {
  private nextGraphId = 0;
  private nextFifoId = 0;
  readonly flavour: MvncFlavour;

  private constructor(
    readonly xlink: XLinkClient,
    flavour: MvncFlavour,
    private readonly deviceMonitor: number,
    readonly graphMonitor: number,
    readonly capabilities: Capabilities,
  ) {
    this.flavour = flavour;
  }

  get ncsdk2(): boolean {
    return this.flavour === 'ncsdk2';
  }

  /** deviceMonitor (2000), CAPABILITIES, graphMonitor (4096), as ncDeviceOpen does them. */
  static async open(xlink: XLinkClient, options: MvncOptions = {}): Promise<MvncDevice> {
    const flavour = options.flavour ?? 'openvino';
    const ncsdk2 = flavour === 'ncsdk2';
    const deviceMonitor = await xlink.openStream('deviceMonitor', 2000);
    await xlink.write(deviceMonitor, ncsdk2 ? new Words(12).u32(0, NC2_DEVICE.CAPABILITIES).bytes : new Words(8).u32(0, OV_DEVICE.CAPABILITIES).bytes);
    const caps = await xlink.read(deviceMonitor);
    if (caps.length !== (ncsdk2 ? 48 : 40)) throw new MvncError(NcStatus.ERROR, `CAPABILITIES answered ${caps.length} bytes, not ${ncsdk2 ? 48 : 40}`);
    const word = (k: number) => u32At(caps, 4 * k);
    const at = ncsdk2 ? 5 : 3; // NCSDK2 has two option-class words before max_executors
    const capabilities: Capabilities = {
      maxGraphs: word(0),
      maxFifos: word(1),
      maxMemory: word(2),
      maxExecutors: word(at),
      fwVersion: [word(at + 1), word(at + 2), word(at + 3), word(at + 4)],
      mvTensorVersion: [word(at + 5), word(at + 6)],
    };
    const graphMonitor = await xlink.openStream('graphMonitor', 4096);
    const device = new MvncDevice(xlink, flavour, deviceMonitor, graphMonitor, capabilities);
    if (!ncsdk2) {
      // What the MYRIAD plugin sends on every boot; neither is answered.
      await xlink.write(deviceMonitor, new Words(8).u32(0, OV_DEVICE.SET_POWER_CONFIG).bytes);
      await xlink.write(deviceMonitor, new Words(8).u32(0, OV_DEVICE.ENABLE_ASYNC_DMA).u32(4, 1).bytes);
    }
    return device;
  }

  /** OpenVINO's platform from fw_version[1]. */
  get platform(): 'MYRIAD_X' | 'MYRIAD_2' | 'ANY' {
    const v = this.capabilities.fwVersion[1];
    return v === 0x2480 ? 'MYRIAD_X' : v === 0x2450 ? 'MYRIAD_2' : 'ANY';
  }

  async usedMemory(): Promise<number> {
    await this.xlink.write(this.deviceMonitor, this.ncsdk2 ? new Words(12).u32(0, NC2_DEVICE.USED_MEMORY).bytes : new Words(8).u32(0, OV_DEVICE.USED_MEMORY).bytes);
    const r = await this.xlink.read(this.deviceMonitor);
    if (r.length !== 4) throw new MvncError(NcStatus.ERROR, `USED_MEMORY answered ${r.length} bytes`);
    return u32At(r, 0);
  }

  /** One WATCHDOG_PING (OpenVINO only): the host library sends one every second. */
  async watchdogPing(): Promise<void> {
    if (!this.ncsdk2) await this.xlink.write(this.deviceMonitor, new Words(8).u32(0, OV_DEVICE.WATCHDOG_PING).bytes);
  }

  /** Reads one status packet from graphMonitor. */
  async status(): Promise<number> {
    const r = await this.xlink.read(this.graphMonitor);
    if (r.length < 4) throw new MvncError(NcStatus.ERROR, `a status of ${r.length} bytes`);
    return i32At(r, 0);
  }

  /** ncGraphAllocate: the blob goes to the device, which answers what the graph's tensors are. */
  async allocateGraph(blob: Uint8Array, options: { executors?: number } = {}): Promise<MvncGraph> {
    const executors = options.executors ?? 1;
    if (blob.length < VERIFY_HEADER_BYTES) throw new MvncError(NcStatus.INVALID_PARAMETERS, `a graph of ${blob.length} bytes is shorter than its header`);
    if (blob.length > this.capabilities.maxMemory) throw new MvncError(NcStatus.OUT_OF_MEMORY, `a graph of ${blob.length} bytes is more than the device's ${this.capabilities.maxMemory}`);
    if (executors < 1 || executors > this.capabilities.maxExecutors) throw new MvncError(NcStatus.INVALID_PARAMETERS, `${executors} executors: the device has ${this.capabilities.maxExecutors}`);
    const id = this.nextGraphId++;
    const streamName = `graphBuffer${id}`;
    const x = this.xlink;
    const buffer = await x.openStream(streamName, blob.length);
    if (this.ncsdk2) {
      await x.write(this.graphMonitor, new Words(76).u32(0, NC2.GRAPH_CMD).u32(4, OV.ALLOCATE).u32(8, id).name(12, streamName, 16).u32(36, executors).bytes);
      await x.write(buffer, blob);
      const graphStatus = u32At(await x.read(buffer), 0);
      let input: TensorDescriptor | null = null;
      let output: TensorDescriptor | null = null;
      let stages = 0;
      let version: number[] = [0, 0];
      if (graphStatus === 0) {
        input = descriptorFrom(await x.read(buffer), 0, true);
        output = descriptorFrom(await x.read(buffer), 0, true);
        stages = u32At(await x.read(buffer), 0);
        const v = await x.read(buffer);
        if (v.length !== 8) throw new MvncError(NcStatus.MYRIAD_ERROR, `blob_version of ${v.length} bytes`);
        version = [u32At(v, 0), u32At(v, 4)];
      }
      const status = await this.status();
      if (status !== 0) throw new MvncError(graphStatus === 1 ? NcStatus.UNSUPPORTED_GRAPH_FILE : NcStatus.ERROR, `the device refused the graph (graph status ${graphStatus}, status ${status})`, status);
      if (graphStatus !== 0 || !input || !output) throw new MvncError(NcStatus.MYRIAD_ERROR, `graph status ${graphStatus}`);
      return new MvncGraph(this, id, buffer, input, output, stages, version);
    }
    const command = (type: number) => new Words(84).u32(0, type).u32(4, id).name(8, streamName, 64).u32(80, executors).bytes;
    await x.write(this.graphMonitor, command(OV.VERIFY));
    await x.write(buffer, blob.subarray(0, VERIFY_HEADER_BYTES));
    const verified = await this.status();
    if (verified !== 0) throw new MvncError(NcStatus.MYRIAD_ERROR, `the device did not verify the graph (status ${verified}): ${await this.debugText(id).catch(() => '')}`, verified);
    await x.write(this.graphMonitor, command(OV.ALLOCATE));
    await x.write(buffer, blob);
    const inputs = await x.read(buffer);
    const outputs = await x.read(buffer);
    const stages = u32At(await x.read(buffer), 0);
    const allocated = await this.status();
    if (allocated !== 0) throw new MvncError(NcStatus.ERROR, `the device did not accept the graph (status ${allocated}): ${await this.debugText(id).catch(() => '')}`, allocated);
    if (inputs.length !== 20 || outputs.length !== 20) throw new MvncError(NcStatus.MYRIAD_ERROR, `descriptors of ${inputs.length} and ${outputs.length} bytes`);
    await x.write(this.graphMonitor, command(OV.ALLOCATION_VERIFY));
    const memory = await this.status();
    if (memory === DeviceStatus.OUT_OF_MEMORY) throw new MvncError(NcStatus.OUT_OF_MEMORY, 'no memory on the device for the intermediate tensors', memory);
    if (memory !== 0) throw new MvncError(NcStatus.MYRIAD_ERROR, `ALLOCATION_VERIFY answered ${memory}`, memory);
    return new MvncGraph(this, id, buffer, descriptorFrom(inputs, 0, false), descriptorFrom(outputs, 0, false), stages, [0, 0]);
  }

  /** GET_DEBUG for a graph id: the device's 120-byte message. */
  async debugText(graphId: number): Promise<string> {
    const x = this.xlink;
    await x.write(this.graphMonitor, this.ncsdk2 ? new Words(76).u32(0, NC2.GET_CLASS0).u32(4, 1).u32(8, graphId).bytes : new Words(8).u32(0, OV.GET_DEBUG).u32(4, graphId).bytes);
    const first = await x.read(this.graphMonitor);
    if (first.length !== DEBUG_BYTES) return `(status ${first.length >= 4 ? i32At(first, 0) : '?'})`;
    await this.status();
    const end = first.indexOf(0);
    return new TextDecoder().decode(first.subarray(0, end < 0 ? first.length : end));
  }

  /** ncFifoCreate + ncFifoAllocate. */
  async createFifo(direction: 'host-write' | 'host-read', descriptor: TensorDescriptor, elements: number): Promise<MvncFifo> {
    if (descriptor.n * descriptor.c * descriptor.w * descriptor.h === 0 || descriptor.totalSize === 0) throw new MvncError(NcStatus.INVALID_PARAMETERS, 'an empty tensor descriptor');
    const id = this.nextFifoId++;
    const name = `FIFO${id}`;
    const hostWrites = direction === 'host-write';
    const stream = await this.xlink.openStream(name, hostWrites ? descriptor.totalSize * elements : 8);
    const d = descriptor;
    const command = this.ncsdk2
      ? new Words(76).u32(0, NC2.BUFFER_CMD).u32(4, 0).name(8, name, 16).u32(24, id).u32(28, elements).u32(32, d.n).u32(36, d.c).u32(40, d.w).u32(44, d.h).u32(48, d.totalSize).u8(64, hostWrites ? 0 : 1).u8(65, hostWrites ? 1 : 0)
      : new Words(100).u32(0, OV.BUFFER_ALLOCATE).u32(4, id).name(8, name, 64).u32(72, elements).u32(76, d.n).u32(80, d.c).u32(84, d.w).u32(88, d.h).u32(92, d.totalSize).u8(96, hostWrites ? 0 : 1).u8(97, hostWrites ? 1 : 0);
    await this.xlink.write(this.graphMonitor, command.bytes);
    const status = await this.status();
    if (status !== 0) throw new MvncError(NcStatus.ERROR, `the device refused FIFO ${id} (status ${status})`, status);
    return new MvncFifo(this, id, stream, direction, descriptor);
  }

  /** A graph query (GET_TIMING, the profile): the answer of exactly `bytes` bytes, then a status of 0. */
  async query(command: Uint8Array, bytes: number, what: string): Promise<Uint8Array> {
    await this.xlink.write(this.graphMonitor, command);
    const answer = await this.xlink.read(this.graphMonitor);
    if (answer.length !== bytes) throw new MvncError(NcStatus.ERROR, `${what} of ${answer.length} bytes, not ${bytes}`);
    const status = await this.status();
    if (status !== 0) throw new MvncError(NcStatus.ERROR, `${what}: status ${status}`, status);
    return answer;
  }

  /** Sends a graph command and reads its status (TRIGGER, DEALLOCATE, BUFFER_DEALLOCATE). */
  async command(bytes: Uint8Array): Promise<number> {
    await this.xlink.write(this.graphMonitor, bytes);
    return this.status();
  }

  /** Encodes a graph command of either flavour. */
  graphCommand(type: 'deallocate' | 'trigger', id: number, buffId1 = 0, buffId2 = 0): Uint8Array {
    const ovType = type === 'deallocate' ? OV.DEALLOCATE : OV.TRIGGER;
    return this.ncsdk2
      ? new Words(76).u32(0, NC2.GRAPH_CMD).u32(4, ovType).u32(8, id).u32(28, buffId1).u32(32, buffId2).bytes
      : new Words(84).u32(0, ovType).u32(4, id).u32(72, buffId1).u32(76, buffId2).bytes;
  }

  fifoDeallocateCommand(id: number): Uint8Array {
    return this.ncsdk2 ? new Words(76).u32(0, NC2.BUFFER_CMD).u32(4, 1).u32(24, id).bytes : new Words(8).u32(0, OV.BUFFER_DEALLOCATE).u32(4, id).bytes;
  }

  /**
   * Ours, beyond mvnc: whether the firmware reads the SHAVEs' detailed counters after every
   * stage (off by default: the reads are bus traffic a real host never asked for).
   */
  async setProfiling(on: boolean): Promise<void> {
    const bytes = this.ncsdk2 ? new Words(76).u32(0, NC2.SET_CLASS0).u32(4, OURS.SET_PROFILING).u32(8, on ? 1 : 0).bytes : new Words(8).u32(0, OURS.SET_PROFILING).u32(4, on ? 1 : 0).bytes;
    const status = await this.command(bytes);
    if (status !== 0) throw new MvncError(NcStatus.ERROR, `SET_PROFILING: status ${status}`, status);
  }

  profileCommand(id: number): Uint8Array {
    return this.ncsdk2 ? new Words(76).u32(0, NC2.GET_CLASS0).u32(4, OURS.PROFILE).u32(8, id).bytes : new Words(8).u32(0, OURS.PROFILE).u32(4, id).bytes;
  }

  timingCommand(id: number): Uint8Array {
    return this.ncsdk2 ? new Words(76).u32(0, NC2.GET_CLASS0).u32(4, 0).u32(8, id).bytes : new Words(8).u32(0, OV.GET_TIMING).u32(4, id).bytes;
  }
}

export class MvncGraph {
  constructor(
    readonly device: MvncDevice,
    readonly id: number,
    private readonly bufferStream: number,
    readonly input: TensorDescriptor,
    readonly output: TensorDescriptor,
    readonly stages: number,
    /** NCSDK2's blob_version as the device echoes it (OpenVINO never reads it: zeros). */
    readonly version: readonly number[],
  ) {}

  /** ncGraphQueueInference: TRIGGER after the input element has been written. */
  async queueInference(input: MvncFifo, output: MvncFifo): Promise<void> {
    const status = await this.device.command(this.device.graphCommand('trigger', this.id, input.id, output.id));
    if (status !== 0) throw new MvncError(NcStatus.ERROR, `the device refused the inference (status ${status})`, status);
  }

  /** ncGraphQueueInferenceWithFifoElem: write the element, then trigger; read the result. */
  async infer(input: MvncFifo, output: MvncFifo, element: Uint8Array): Promise<Uint8Array> {
    await input.write(element);
    await this.queueInference(input, output);
    return output.read();
  }

  /**
   * TIME_TAKEN in ms: one float per stage; OpenVINO's adds two: the runtime's own time around
   * the stages, and the whole inference on the device.
   */
  async timing(): Promise<Float32Array> {
    const r = await this.device.query(this.device.timingCommand(this.id), 4 * (this.stages + (this.device.ncsdk2 ? 0 : 2)), 'timing');
    return new Float32Array(r.slice().buffer);
  }

  /** What each stage cost on the last inference (ours; the counters are read only while profiling is on). */
  async profile(): Promise<StageProfile[]> {
    const r = await this.device.query(this.device.profileCommand(this.id), STAGE_PROFILE_BYTES * this.stages, 'a profile');
    return Array.from({ length: this.stages }, (_, i) => {
      const w = (k: number) => u32At(r, STAGE_PROFILE_BYTES * i + 4 * k);
      return { cycles: w(0), shaves: w(1), bundles: w(2), stalls: w(3), ddrBytes: w(4), cmxBytes: w(5), unitOps: Array.from({ length: 8 }, (_, u) => w(6 + u)) };
    });
  }

  debugInfo(): Promise<string> {
    return this.device.debugText(this.id);
  }

  /** ncGraphDestroy: DEALLOCATE, then the graphBuffer stream closes. */
  async destroy(): Promise<void> {
    const status = await this.device.command(this.device.graphCommand('deallocate', this.id));
    if (status !== 0) throw new MvncError(NcStatus.ERROR, `DEALLOCATE: status ${status}`, status);
    await this.device.xlink.closeStream(this.bufferStream).catch(() => false);
  }
}

export class MvncFifo {
  constructor(
    readonly device: MvncDevice,
    readonly id: number,
    /** Its XLink stream (FIFO<id>). */
    readonly stream: number,
    readonly direction: 'host-write' | 'host-read',
    readonly descriptor: TensorDescriptor,
  ) {}

  /** ncFifoWriteElem: one packet of exactly totalSize bytes. */
  async write(element: Uint8Array): Promise<void> {
    if (this.direction !== 'host-write') throw new MvncError(NcStatus.UNAUTHORIZED, `FIFO ${this.id} is read by the host`);
    if (element.length !== this.descriptor.totalSize) throw new MvncError(NcStatus.INVALID_DATA_LENGTH, `an element of ${element.length} bytes, not ${this.descriptor.totalSize}`);
    await this.device.xlink.write(this.stream, element);
  }

  /** ncFifoReadElem: the next result, in the order the inferences were queued. */
  async read(): Promise<Uint8Array> {
    if (this.direction !== 'host-read') throw new MvncError(NcStatus.UNAUTHORIZED, `FIFO ${this.id} is written by the host`);
    try {
      return await this.device.xlink.read(this.stream);
    } catch (error) {
      if (error instanceof XLinkError) throw new MvncError(NcStatus.ERROR, error.message);
      throw error;
    }
  }

  /** ncFifoDestroy: the stop word for a host-write FIFO, BUFFER_DEALLOCATE, close. */
  async destroy(): Promise<void> {
    const x = this.device.xlink;
    if (this.direction === 'host-write') await x.write(this.stream, Uint8Array.of(0xad, 0xde, 0, 0));
    const status = await this.device.command(this.device.fifoDeallocateCommand(this.id));
    if (status !== 0) throw new MvncError(NcStatus.ERROR, `BUFFER_DEALLOCATE: status ${status}`, status);
    await x.closeStream(this.stream).catch(() => false);
  }
}
