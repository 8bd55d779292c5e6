/**
 * A chip model is data: everything that differs between the NCS (ma2450) and the NCS2
 * (ma2485) is a number or a string in one of these records, never a code path.
 * Facts and their sources: ../shared/docs/myriad-facts.md (sections 1 and 5).
 */

/** One bulk endpoint as it appears in the configuration descriptor. */
export interface EndpointSpec {
  /** bEndpointAddress: bit 7 set for IN. */
  readonly address: number;
  readonly type: 'bulk';
  readonly maxPacketSize: number;
}

export interface InterfaceSpec {
  readonly number: number;
  readonly alternate: number;
  readonly class: number;
  readonly subclass: number;
  readonly protocol: number;
  /** String descriptor text for iInterface, or null for index 0. */
  readonly name: string | null;
  readonly endpoints: readonly EndpointSpec[];
}

export interface ConfigurationSpec {
  readonly value: number;
  /** bmAttributes: 0x80 bus powered, 0x40 self powered. */
  readonly attributes: number;
  /** bMaxPower in 2 mA units. */
  readonly maxPower: number;
  readonly interfaces: readonly InterfaceSpec[];
}

/**
 * What the host sees on the bus: one USB identity of the stick. The ROM has one, the booted
 * firmware another (that one will come from the firmware's own descriptors).
 */
export interface UsbPersonality {
  readonly vendorId: number;
  readonly productId: number;
  readonly bcdUSB: number;
  readonly bcdDevice: number;
  readonly deviceClass: number;
  readonly deviceSubclass: number;
  readonly deviceProtocol: number;
  readonly maxPacketSize0: number;
  readonly manufacturer: string;
  readonly product: string;
  readonly serial: string;
  readonly speed: 'high' | 'super';
  readonly configurations: readonly ConfigurationSpec[];
}

export type MemoryKind = 'cmx' | 'ddr';

/** A RAM that lives in the shared WebAssembly memory. */
export interface MemorySpec {
  readonly name: MemoryKind;
  readonly base: number;
  readonly size: number;
  /** Other bus addresses that reach the same bytes (CMX alias, DDR uncached view). */
  readonly aliases: readonly number[];
}

/**
 * A block of 32-bit registers at a fixed address. Until a block gets a behavioural model of
 * its own, it keeps what is written and returns it on reads (reset values below), and every
 * access is an event in the log.
 */
export interface RegisterBlockSpec {
  readonly kind: 'registers';
  readonly name: string;
  readonly base: number;
  readonly size: number;
  /** Reset values by offset from base. */
  readonly resetValues?: Readonly<Record<number, number>>;
}

/** A device with behaviour of its own (emu/soc/); `irq` is its line on the interrupt controller. */
export interface DeviceSpec {
  readonly kind: 'cpr' | 'timer' | 'icb' | 'uart' | 'usb-device';
  readonly name: string;
  readonly base: number;
  readonly size: number;
  readonly irq?: number;
}

/** An interrupt line of the interrupt controller and the SPARC interrupt level it raises. */
export interface InterruptLineSpec {
  readonly line: number;
  readonly source: string;
  readonly level: number;
}

export interface ShaveSpec {
  readonly count: number;
  /** Control block of SHAVE n is at controlBase + n * controlStride. */
  readonly controlBase: number;
  readonly controlStride: number;
  /** The interrupt line the cluster raises for halted cores that ask for it (CONTROL bit 0). */
  readonly irq?: number;
}

export interface ChipModel {
  /** The name used on the command line: ma2450 or ma2485. */
  readonly name: string;
  readonly chip: string;
  readonly stick: string;
  readonly usb: {
    readonly rom: UsbPersonality;
    /** The booted identity the host libraries look for after boot. */
    readonly bootedVendorId: number;
    readonly bootedProductId: number;
  };
  readonly clocks: {
    /** System clock in Hz; `confirmed: false` where no public source states it. */
    readonly systemHz: number;
    readonly confirmed: boolean;
  };
  readonly memory: readonly MemorySpec[];
  /** Everything on the SoC bus besides RAM, as a datasheet table. */
  readonly devices: readonly (RegisterBlockSpec | DeviceSpec)[];
  readonly interrupts: readonly InterruptLineSpec[];
  readonly shave: ShaveSpec;
  readonly leon: {
    readonly cores: readonly string[];
    /** What RDASR %asr17 returns on the LEON OS; its low 5 bits are NWINDOWS - 1. */
    readonly asr17: number;
    readonly fpu: boolean;
  };
  /** The LEON OS mask ROM. Its contents are not public, so it is not mapped on the bus. */
  readonly rom: { readonly base: number; readonly size: number };
}

export const KiB = 1024;
export const MiB = 1024 * KiB;
