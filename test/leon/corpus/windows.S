/*
 * Register windows in plain assembly: a chain of SAVEs ten deep (past NWINDOWS = 8, so the
 * window overflow handler runs) puts distinct values in each window's locals and ins, then
 * the RESTOREs walk back (window underflow) and check every value. Prints each depth's
 * checksum, the WIM seen at the bottom, and how many windows came back intact.
 */
  .text
  .global main
main:
  save %sp, -96, %sp
  mov 10, %o0                  /* depth */
  call descend
  mov 0x100, %o1               /* seed */
  mov %o0, %l0                 /* intact count */
  set label_intact, %o0
  call put_line
  mov %l0, %o1
  ret
  restore

/* descend(depth, seed): fills this window, recurses, then checks the window came back. */
descend:
  save %sp, -96, %sp
  add %i1, 1, %l0
  add %i1, 2, %l1
  add %i1, 3, %l2
  add %i1, 4, %l3
  add %i1, 5, %l4
  add %i1, 6, %l5
  add %i1, 7, %l6
  add %i1, 8, %l7
  subcc %i0, 1, %o0
  be bottom
  add %i1, 0x10, %o1
  call descend
  nop
  mov %o0, %i2                 /* windows intact below */
  ba check
  nop
bottom:
  rd %wim, %o1
  set label_wim, %o0
  call put_line
  nop
  mov 0, %i2
check:
  add %i1, 1, %o2
  cmp %l0, %o2
  bne broken
  add %i1, 8, %o2
  cmp %l7, %o2
  bne broken
  xor %l1, %l2, %o3
  xor %o3, %l3, %o3
  xor %o3, %l4, %o3
  xor %o3, %l5, %o3
  xor %o3, %l6, %o3
  set label_sum, %o0
  call put_line
  mov %o3, %o1
  add %i2, 1, %i0
  ret
  restore
broken:
  set label_broken, %o0
  call put_line
  mov %i1, %o1
  mov %i2, %i0
  ret
  restore

  .section .rodata
label_intact: .asciz "windows intact"
label_wim:    .asciz "wim at the bottom"
label_sum:    .asciz "window checksum"
label_broken: .asciz "window BROKEN, seed"
