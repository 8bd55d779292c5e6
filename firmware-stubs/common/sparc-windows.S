/*
 * The classic SPARC V8 register-window trap handlers (manual appendix D), shared by the open
 * firmware and the LEON test runtime. Included where the trap table's ENTRY macros jump to
 * `window_overflow` and `window_underflow`; NWINDOWS must be defined.
 */
window_overflow:
  mov %wim, %l3
  mov %g1, %l7
  srl %l3, 1, %g1
  sll %l3, NWINDOWS - 1, %l4
  or %l4, %g1, %g1
  save
  mov %g1, %wim
  nop; nop; nop
  std %l0, [%sp + 0]
  std %l2, [%sp + 8]
  std %l4, [%sp + 16]
  std %l6, [%sp + 24]
  std %i0, [%sp + 32]
  std %i2, [%sp + 40]
  std %i4, [%sp + 48]
  std %i6, [%sp + 56]
  restore
  mov %l7, %g1
  jmp %l1
  rett %l2

window_underflow:
  mov %wim, %l3
  sll %l3, 1, %l4
  srl %l3, NWINDOWS - 1, %l5
  or %l5, %l4, %l5
  mov %l5, %wim
  nop; nop; nop
  restore
  restore
  ldd [%sp + 0], %l0
  ldd [%sp + 8], %l2
  ldd [%sp + 16], %l4
  ldd [%sp + 24], %l6
  ldd [%sp + 32], %i0
  ldd [%sp + 40], %i2
  ldd [%sp + 48], %i4
  ldd [%sp + 56], %i6
  save
  save
  jmp %l1
  rett %l2
