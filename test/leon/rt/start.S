/*
 * Start-up and traps for the test corpus. The trap table sits at the entry point; every trap
 * is logged (trap_log, trap_count). Window overflow and underflow are handled the classic way;
 * interrupts return to the interrupted instruction; any other trap skips the instruction that
 * caused it. `ta 1` captures every register into `dump_area` and goes on in dump_and_exit (C),
 * which prints them and ends the program with `ta 0` and traps disabled (error mode).
 */
#define NWINDOWS 8

  .macro ENTRY handler
  rd %psr, %l0
  sethi %hi(\handler), %l3
  jmp %l3 + %lo(\handler)
  nop
  .endm

  .section .text.traptable
  .global _start
_start:
  ENTRY reset                  /* 0x00 */
  .rept 4
  ENTRY generic_trap           /* 0x01 - 0x04 */
  .endr
  ENTRY window_overflow        /* 0x05 */
  ENTRY window_underflow       /* 0x06 */
  .rept 0x81 - 0x07
  ENTRY generic_trap           /* 0x07 - 0x80 */
  .endr
  ENTRY capture_registers      /* 0x81: ta 1 */
  ENTRY enter_supervisor       /* 0x82: ta 2 */
  .rept 0x100 - 0x83
  ENTRY generic_trap
  .endr

  .section .text.start
reset:
  set _start, %g1
  wr %g1, %tbr
  wr %g0, 2, %wim              /* window 1 (above window 0) is the invalid one */
  wr %g0, 0xe0, %psr           /* S, PS, ET; PIL 0; CWP 0 */
  nop; nop; nop
  set __stack_top - 96, %sp
  mov 0, %fp
  set __bss_start, %g1
  set __bss_end, %g2
1:cmp %g1, %g2
  bgeu 2f
  nop
  st %g0, [%g1]
  ba 1b
  add %g1, 4, %g1
2:call main
  nop
  ta 1                         /* capture the registers as main left them */
  nop

generic_trap:
  rd %tbr, %l3
  srl %l3, 4, %l3
  and %l3, 0xff, %l3
  set trap_count, %l4
  ld [%l4], %l5
  cmp %l5, 64
  bge 1f
  nop
  set trap_log, %l6
  sll %l5, 2, %l7
  st %l3, [%l6 + %l7]
1:add %l5, 1, %l5
  st %l5, [%l4]
  cmp %l3, 0x10
  ble 2f
  nop
  cmp %l3, 0x1f
  bg 2f
  nop
  wr %l0, %psr                 /* an interrupt: back to the interrupted instruction */
  nop; nop; nop
  jmp %l1
  rett %l2
2:wr %l0, %psr                 /* anything else: skip the instruction that trapped */
  nop; nop; nop
  jmp %l2
  rett %l2 + 4

#include "sparc-windows.S"

/* ta 2: back to supervisor mode (PS=1 before the rett), skipping the ta. */
enter_supervisor:
  or %l0, 0x40, %l0
  wr %l0, %psr
  nop; nop; nop
  jmp %l2
  rett %l2 + 4

/* In the trap window: the trapped window's %o are our %i; its %l and %i need a restore. */
capture_registers:
  set dump_area, %l3
  st %g1, [%l3 + 4]
  st %g2, [%l3 + 8]
  st %g3, [%l3 + 12]
  st %g4, [%l3 + 16]
  st %g5, [%l3 + 20]
  st %g6, [%l3 + 24]
  st %g7, [%l3 + 28]
  rd %y, %l4
  st %l4, [%l3 + 128]
  st %l0, [%l3 + 132]          /* PSR as the trap left it */
  rd %wim, %l4
  st %l4, [%l3 + 136]
  rd %tbr, %l4
  st %l4, [%l3 + 140]
  mov %l3, %g1
  restore                      /* back in the trapped window (it is valid: we ran in it) */
  st %o0, [%g1 + 32]
  st %o1, [%g1 + 36]
  st %o2, [%g1 + 40]
  st %o3, [%g1 + 44]
  st %o4, [%g1 + 48]
  st %o5, [%g1 + 52]
  st %o6, [%g1 + 56]
  st %o7, [%g1 + 60]
  st %l0, [%g1 + 64]
  st %l1, [%g1 + 68]
  st %l2, [%g1 + 72]
  st %l3, [%g1 + 76]
  st %l4, [%g1 + 80]
  st %l5, [%g1 + 84]
  st %l6, [%g1 + 88]
  st %l7, [%g1 + 92]
  st %i0, [%g1 + 96]
  st %i1, [%g1 + 100]
  st %i2, [%g1 + 104]
  st %i3, [%g1 + 108]
  st %i4, [%g1 + 112]
  st %i5, [%g1 + 116]
  st %i6, [%g1 + 120]
  st %i7, [%g1 + 124]
  save                         /* the trap window again */
  set dump_and_exit, %l1
  jmp %l1
  rett %l1 + 4

  .global exit_error_mode
exit_error_mode:
  rd %psr, %g1
  andn %g1, 0x20, %g1
  wr %g1, %psr
  nop; nop; nop
  ta 0
  nop
