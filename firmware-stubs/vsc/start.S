/*
 * Start-up and traps of the open VSC firmware (little-endian SPARC on the LEON OS core).
 * The boot ROM jumps to _start with traps disabled. We set the trap table, one invalid window
 * above the current one, a stack at the top of our CMX area, clear .bss and call main.
 *
 * Interrupts: the handler does no work; it returns with PIL 15 so that the main loop polls the
 * devices with interrupts masked, and lowers PIL again only in idle(), right before power-down.
 * An interrupt that arrives between the two would make us sleep on a handled interrupt, so the
 * handler then resumes after the power-down instead.
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
  ENTRY reset                    /* 0x00 */
  .rept 4
  ENTRY fatal                    /* 0x01 - 0x04 */
  .endr
  ENTRY window_overflow          /* 0x05 */
  ENTRY window_underflow         /* 0x06 */
  .rept 0x11 - 0x07
  ENTRY fatal                    /* 0x07 - 0x10 */
  .endr
  .rept 15
  ENTRY interrupt                /* 0x11 - 0x1f: interrupt levels 1 - 15 */
  .endr
  .rept 0x100 - 0x20
  ENTRY fatal
  .endr

  .text
reset:
  set _start, %g1
  wr %g1, %tbr
  wr %g0, 2, %wim                /* window 1 (above window 0) is the invalid one */
  wr %g0, 0x1fe0, %psr           /* EF, S, PS, ET; PIL 15; CWP 0 (the runtime times stages in floats) */
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
  ta 0                           /* main never returns; if it does, stop */

/* Any other trap is a firmware bug: report the trap type and stop in error mode. */
fatal:
  rd %tbr, %o0
  srl %o0, 4, %o0
  and %o0, 0xff, %o0
  call firmware_fault            /* prints; then ta 0 with traps disabled */
  mov %l1, %o1

interrupt:
  or %l0, 0xf00, %l0             /* back in the main loop with PIL 15 */
  set idle_lower_pil, %l4
  set idle_sleep, %l5
  cmp %l1, %l4
  blu 1f
  nop
  cmp %l1, %l5
  bgu 1f
  nop
  add %l5, 4, %l1                /* between lowering PIL and sleeping: do not sleep */
  add %l5, 8, %l2
1:wr %l0, %psr
  nop; nop; nop
  jmp %l1
  rett %l2

#include "sparc-windows.S"

/* Sleeps until an interrupt; returns with PIL 15 (see the header comment). */
  .global idle
idle:
  rd %psr, %o0
idle_lower_pil:
  andn %o0, 0xf00, %o0
  wr %o0, %psr
  nop; nop; nop
idle_sleep:
  wr %g0, %asr19
  retl
  nop

/* Stops the core for good: error mode, which the emulator reports. */
  .global halt
halt:
  rd %psr, %o0
  andn %o0, 0x20, %o0
  wr %o0, %psr
  nop; nop; nop
  ta 0
  nop
