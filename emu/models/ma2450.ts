import { KiB, MiB, type ChipModel } from './model.js';
import { romPersonality } from './rom-usb.js';

/** Myriad 2, the chip of the Neural Compute Stick (NCS1). */
export const ma2450: ChipModel = {
  name: 'ma2450',
  chip: 'Myriad 2',
  stick: 'Neural Compute Stick',
  usb: {
    rom: romPersonality({ productId: 0x2150, product: 'Movidius MA2X5X', serial: '03e72150' }),
    bootedVendorId: 0x03e7,
    bootedProductId: 0xf63b,
  },
  clocks: { systemHz: 600_000_000, confirmed: true },
  memory: [
    { name: 'cmx', base: 0x7000_0000, size: 16 * 128 * KiB, aliases: [0x7800_0000] },
    { name: 'ddr', base: 0x8000_0000, size: 512 * MiB, aliases: [0xc000_0000] },
  ],
  devices: [
    // Clock and power reset: chip-id registers at +0x164 and +0x16C.
    { kind: 'cpr', name: 'cpr', base: 0x10f0_0000, size: 0x1000 },
    // TIM0: free-running counter, and the watchdog (+0x9C counter, +0xA4 enable, +0xA8 safe key).
    { kind: 'timer', name: 'tim0', base: 0x10f2_0000, size: 0x1000 },
    { kind: 'registers', name: 'cmx-ctrl', base: 0x20fc_0000, size: 0x1000 },
    { kind: 'registers', name: 'l2c', base: 0x20fd_0000, size: 0x1000 },
    // The emulator's own devices: their real counterparts' registers are not public, so these
    // are designed and documented in docs/soc-devices.md (addresses chosen clear of known blocks).
    { kind: 'icb', name: 'icb', base: 0x2041_0000, size: 0x100 },
    { kind: 'uart', name: 'uart', base: 0x2042_0000, size: 0x100 },
    { kind: 'usb-device', name: 'udc', base: 0x2040_0000, size: 0x1000, irq: 1 },
  ],
  interrupts: [
    { line: 1, source: 'udc', level: 10 },
    { line: 2, source: 'shave', level: 9 },
  ],
  shave: { count: 12, controlBase: 0x20f0_0000, controlStride: 0x1_0000, irq: 2 },
  // LEON4-class cores with an FPU; %asr17 (configuration) as read on the LEON OS: 8 windows.
  leon: { cores: ['leon-os', 'leon-rt'], asr17: 0x0000_4587, fpu: true },
  rom: { base: 0x7ff0_0000, size: 64 * KiB },
};
