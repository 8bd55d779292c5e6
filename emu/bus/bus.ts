import type { Initiator } from '../events/event.js';
import type { EventLog } from '../events/log.js';
import type { RamRegion, SharedMemory } from '../memory/shared-memory.js';

/** A device on the SoC bus: registers reached by offset from its base address. */
export interface BusTarget {
  readonly name: string;
  readonly size: number;
  /** `size` is 1, 2 or 4 and the offset is aligned to it. Returns the value (unsigned). */
  read(offset: number, size: number): number;
  write(offset: number, size: number, value: number): void;
}

/** The `size` bytes at `offset` (little-endian byte lanes) of the 32-bit register `word` holding them. */
export function registerBytes(word: number, offset: number, size: number): number {
  if (size === 4) return word >>> 0;
  return (word >>> ((offset & 3) * 8)) & (size === 2 ? 0xffff : 0xff);
}

/** The 32-bit register `word` with its `size` bytes at `offset` replaced by the low bytes of `value`. */
export function mergeRegisterBytes(word: number, offset: number, size: number, value: number): number {
  if (size === 4) return value >>> 0;
  const shift = (offset & 3) * 8;
  const mask = (size === 2 ? 0xffff : 0xff) << shift;
  return ((word & ~mask) | ((value << shift) & mask)) >>> 0;
}

interface Mapping {
  readonly base: number;
  readonly end: number;
  /** For RAM: the region, reached at `region.offset + (addr - base)`. */
  readonly region: RamRegion | null;
  readonly target: BusTarget | null;
}

/** What `read` returns for a bus error (every real value is an unsigned 32-bit number). */
export const BUS_ERROR = -1;

/**
 * Routes physical addresses to RAM (the shared WebAssembly memory, little-endian) or to device
 * registers. Device accesses and bus errors are events; RAM traffic is not. Nothing here
 * throws for a bad address: the initiator gets BUS_ERROR / false and the log says why.
 */
export class Bus {
  private mappings: Mapping[] = [];

  constructor(
    readonly memory: SharedMemory,
    private readonly log: EventLog,
  ) {
    for (const region of memory.regions) {
      for (const base of [region.base, ...region.aliases]) this.add({ base, end: base + region.size, region, target: null });
    }
  }

  attach(base: number, target: BusTarget): void {
    this.add({ base, end: base + target.size, region: null, target });
  }

  /** The device or RAM name at an address, or null. */
  describe(addr: number): string | null {
    const mapping = this.find(addr);
    return mapping ? (mapping.region?.name ?? mapping.target!.name) : null;
  }

  read(addr: number, size: 1 | 2 | 4, initiator: Initiator): number {
    const mapping = this.check(addr, size, 'read', initiator);
    if (!mapping) return BUS_ERROR;
    if (mapping.region) {
      const offset = mapping.region.offset + (addr - mapping.base);
      if (offset + size > this.memory.committedEnd) return 0;
      const view = this.memory.view;
      return size === 4 ? view.getUint32(offset, true) : size === 2 ? view.getUint16(offset, true) : view.getUint8(offset);
    }
    const target = mapping.target!;
    const value = target.read(addr - mapping.base, size) >>> 0;
    this.log.append({ kind: 'bus.read', initiator, target: target.name, addr, size, value });
    return value;
  }

  write(addr: number, size: 1 | 2 | 4, value: number, initiator: Initiator): boolean {
    const mapping = this.check(addr, size, 'write', initiator);
    if (!mapping) return false;
    if (mapping.region) {
      const offset = mapping.region.offset + (addr - mapping.base);
      this.memory.commit(offset, size);
      const view = this.memory.view;
      if (size === 4) view.setUint32(offset, value, true);
      else if (size === 2) view.setUint16(offset, value, true);
      else view.setUint8(offset, value);
      return true;
    }
    const target = mapping.target!;
    const masked = size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff);
    this.log.append({ kind: 'bus.write', initiator, target: target.name, addr, size, value: masked });
    target.write(addr - mapping.base, size, masked);
    return true;
  }

  /** Copies bytes into RAM. The whole block must lie inside one RAM region. */
  writeBlock(addr: number, data: Uint8Array, initiator: Initiator): boolean {
    const offset = this.ramOffset(addr, data.length, 'write', initiator);
    if (offset < 0) return false;
    this.memory.commit(offset, data.length);
    this.memory.bytes.set(data, offset);
    return true;
  }

  /** Copies bytes out of RAM. The whole block must lie inside one RAM region. */
  readBlock(addr: number, length: number, initiator: Initiator): Uint8Array | null {
    const offset = this.ramOffset(addr, length, 'read', initiator);
    return offset < 0 ? null : this.memory.read(offset, length);
  }

  /**
   * Checks a block access in advance (a boot-ROM load block is checked at its header).
   * Returns the offset in the WebAssembly memory, or -1 after logging the bus error.
   */
  ramOffset(addr: number, length: number, access: 'read' | 'write', initiator: Initiator): number {
    const mapping = this.find(addr);
    if (!mapping) return this.fault(initiator, access, addr, length, 'unmapped address');
    if (!mapping.region) return this.fault(initiator, access, addr, length, `block access to ${mapping.target!.name} registers`);
    if (addr + length > mapping.end) return this.fault(initiator, access, addr, length, `block runs past the end of ${mapping.region.name}`);
    return mapping.region.offset + (addr - mapping.base);
  }

  /** RAM contents for a debugger (seek): no event; null unless [addr, addr + length) is all RAM. */
  peek(addr: number, length: number): Uint8Array | null {
    const mapping = this.find(addr);
    if (!mapping?.region || addr + length > mapping.end) return null;
    return this.memory.read(mapping.region.offset + (addr - mapping.base), length);
  }

  private check(addr: number, size: number, access: 'read' | 'write', initiator: Initiator): Mapping | null {
    if (addr % size !== 0) {
      this.fault(initiator, access, addr, size, 'misaligned');
      return null;
    }
    const mapping = this.find(addr);
    if (!mapping) {
      this.fault(initiator, access, addr, size, 'unmapped address');
      return null;
    }
    return mapping;
  }

  private fault(initiator: Initiator, access: 'read' | 'write', addr: number, size: number, reason: string): -1 {
    this.log.append({ kind: 'bus.error', initiator, access, addr, size, reason });
    return -1;
  }

  private find(addr: number): Mapping | undefined {
    const mappings = this.mappings;
    for (let i = 0; i < mappings.length; i++) {
      const m = mappings[i]!;
      if (addr >= m.base && addr < m.end) return m;
    }
    return undefined;
  }

  private add(mapping: Mapping): void {
    for (const other of this.mappings) {
      if (mapping.base < other.end && other.base < mapping.end) {
        throw new Error(`bus mapping at 0x${mapping.base.toString(16)} overlaps 0x${other.base.toString(16)}`);
      }
    }
    this.mappings.push(mapping);
    this.mappings.sort((a, b) => a.base - b.base);
  }
}
