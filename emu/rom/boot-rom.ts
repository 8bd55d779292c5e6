import type { Bus } from '../bus/bus.js';
import type { RomPhase } from '../events/event.js';
import type { EventLog } from '../events/log.js';
import type { ChipModel } from '../models/model.js';
import type { Scheduler, Task } from '../time/scheduler.js';
import type { UsbController, UsbFunction } from '../usb/controller.js';
import type { ControlCore } from '../core/control-core.js';
import { MvcmdParser, type MvcmdParserState, type MvcmdSink } from './mvcmd.js';

export const ROM_OUT_ENDPOINT = 0x01;
export const ROM_IN_ENDPOINT = 0x81;
const INITIATOR = 'rom';
const TARGET = 'rom';

export interface BootRomSnapshot {
  readonly phase: RomPhase;
  readonly parser: MvcmdParserState;
  readonly jumpTo: number;
}

/**
 * The boot ROM of the LEON OS core, modelled at the level of what it does on the bus: it
 * shows the ROM USB identity, reads an MA2x stream from bulk OUT 0x01 across any transfer
 * boundaries, performs each record through the SoC bus, and hands over to the LEON.
 *
 * A send record blocks the stream (OUT 0x01 NAKs) until the host has read the data from IN
 * 0x81. Errors (bad magic, unknown opcode, a bus error, a block that does not fit) put it in the
 * error phase: the log says why, OUT 0x01 is halted and every further OUT transfer STALLs,
 * until a USB bus reset starts a new stream.
 */
export class BootRom implements UsbFunction, MvcmdSink {
  phase: RomPhase = 'awaiting-magic';
  private readonly parser = new MvcmdParser(this);
  private jumpTo = 0;

  constructor(
    private readonly model: ChipModel,
    private readonly bus: Bus,
    private readonly usb: UsbController,
    private readonly log: EventLog,
    private readonly scheduler: Scheduler,
    private readonly core: () => ControlCore | null,
  ) {}

  powerOn(): void {
    this.parser.reset();
    this.phase = 'awaiting-magic';
    this.usb.connect(this.model.usb.rom, this);
  }

  /** Power goes away; a stream that had not reached its jump record is reported cut off. */
  powerOff(): void {
    if (this.phase === 'jumped' || this.phase === 'error') return;
    if (this.phase === 'awaiting-magic' && this.parser.atRecordBoundary) return;
    const missing = this.parser.atRecordBoundary ? 'the rest of the stream up to its jump record' : this.parser.missing;
    this.log.append({ kind: 'rom.error', offset: this.parser.offset, reason: `stream cut off by detach after ${this.parser.offset} bytes, missing ${missing}` });
    this.setPhase('error');
  }

  // ---- UsbFunction

  receive(endpoint: number, data: Uint8Array): number {
    if (endpoint !== ROM_OUT_ENDPOINT) return data.length;
    switch (this.phase) {
      case 'error':
        this.usb.halt(ROM_OUT_ENDPOINT);
        return 0;
      case 'calling':
      case 'sending':
        return 0; // NAK until the core returns or the host has read
      case 'jumped':
        return data.length; // acknowledged, no longer parsed
    }
    const taken = this.parser.feed(data);
    // After the jump record the controller still acknowledges the rest of the transfer.
    return (this.phase as RomPhase) === 'jumped' ? data.length : taken;
  }

  busReset(): void {
    if (this.phase === 'jumped' || this.phase === 'calling') return;
    this.parser.reset();
    this.setPhase('awaiting-magic');
  }

  sent(endpoint: number): void {
    if (endpoint === ROM_IN_ENDPOINT && this.phase === 'sending') {
      this.setPhase('parsing');
      this.usb.resumeOut(ROM_OUT_ENDPOINT);
    }
  }

  // ---- MvcmdSink: each record, performed

  magic(offset: number): boolean {
    this.record(offset, 'magic', 0, 0, 0);
    if (this.phase === 'awaiting-magic') this.setPhase('parsing');
    return true;
  }

  name(offset: number, text: string): boolean {
    this.record(offset, 'name', 0, 0, text.length, text);
    return true;
  }

  write8(offset: number, addr: number, value: number): boolean {
    this.record(offset, 'write8', addr, value, 1);
    return this.bus.write(addr, 1, value, INITIATOR) || this.fail(`write8 to 0x${hex(addr)} failed with a bus error`);
  }

  write32(offset: number, addr: number, value: number): boolean {
    this.record(offset, 'write32', addr, value, 4);
    return this.bus.write(addr, 4, value, INITIATOR) || this.fail(`write32 to 0x${hex(addr)} failed with a bus error`);
  }

  loadStart(offset: number, addr: number, length: number): boolean {
    this.record(offset, 'load', addr, 0, length);
    if (addr % 4 !== 0) return this.fail(`load block address 0x${hex(addr)} is not word aligned`);
    if (this.bus.ramOffset(addr, length, 'write', INITIATOR) < 0) {
      return this.fail(`load block of ${length} bytes at 0x${hex(addr)} does not fit in memory`);
    }
    return true;
  }

  loadData(addr: number, data: Uint8Array): void {
    this.bus.writeBlock(addr, data, INITIATOR);
  }

  call(offset: number, addr: number): boolean {
    this.record(offset, 'call', addr, 0, 0);
    const core = this.core();
    if (!core) return this.fail(`call to 0x${hex(addr)}: this machine has no LEON core to run it`);
    this.setPhase('calling');
    this.log.append({ kind: 'core.start', core: core.name, pc: addr, mode: 'call' });
    core.start(addr, 'call');
    return this.phase === 'parsing'; // a core may return at once
  }

  send(offset: number, addr: number, length: number): boolean {
    this.record(offset, 'send', addr, 0, length);
    const data = this.bus.readBlock(addr, length, INITIATOR);
    if (!data) return this.fail(`send of ${length} bytes from 0x${hex(addr)} failed with a bus error`);
    if (length === 0) return true;
    // Like a ROM's blocking send: parsing waits until the host has read the whole message,
    // so a jump right after a send cannot take the data off the bus with it.
    this.usb.sendIn(ROM_IN_ENDPOINT, data);
    this.setPhase('sending');
    return false;
  }

  jump(offset: number, addr: number): boolean {
    this.record(offset, 'jump', addr, 0, 0);
    this.jumpTo = addr;
    this.setPhase('jumped');
    // The transfer that carried the jump completes first; then the ROM's USB goes away.
    this.scheduler.after(0, TARGET, 'handover', 0);
    return false;
  }

  error(offset: number, reason: string): void {
    this.log.append({ kind: 'rom.error', offset, reason });
    this.setPhase('error');
    this.usb.halt(ROM_OUT_ENDPOINT);
  }

  // ---- the core and the scheduler

  /** The core returned from a call record: parsing goes on. */
  returnFromCall(coreName: string): void {
    if (this.phase !== 'calling') return;
    this.log.append({ kind: 'core.return', core: coreName });
    this.setPhase('parsing');
    this.usb.resumeOut(ROM_OUT_ENDPOINT);
  }

  handle(task: Task): void {
    if (task.action !== 'handover') return;
    this.usb.disconnect('boot ROM jumped to the firmware');
    const core = this.core();
    if (core) {
      this.log.append({ kind: 'core.start', core: core.name, pc: this.jumpTo, mode: 'jump' });
      core.start(this.jumpTo, 'jump');
    } else {
      this.log.append({ kind: 'core.halt', core: this.model.leon.cores[0]!, pc: this.jumpTo, reason: 'this machine has no LEON core to run the firmware' });
    }
  }

  snapshot(): BootRomSnapshot {
    return { phase: this.phase, parser: this.parser.snapshot(), jumpTo: this.jumpTo };
  }

  restore(s: BootRomSnapshot): void {
    this.phase = s.phase;
    this.parser.restore(s.parser);
    this.jumpTo = s.jumpTo;
  }

  private fail(reason: string): false {
    this.parser.fail(0, reason);
    return false;
  }

  private record(offset: number, op: 'magic' | 'name' | 'write8' | 'write32' | 'load' | 'call' | 'send' | 'jump', addr: number, value: number, length: number, text = ''): void {
    this.log.append({ kind: 'rom.record', offset, op, addr, value, length, text });
  }

  private setPhase(phase: RomPhase): void {
    if (this.phase === phase) return;
    this.phase = phase;
    this.log.append({ kind: 'rom.phase', phase });
  }
}

function hex(value: number): string {
  return (value >>> 0).toString(16);
}
