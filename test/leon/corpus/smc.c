/* Self-modifying code: a hot function is patched while it runs in a loop, and a store into
   the very block that executes it. The new code must run from the next call on. */
#include "rt.h"

unsigned patchme(void);
/* On a page of its own, so that the loops that patch it get hot (translated) themselves. */
__asm__(
    "  .text\n  .align 4096\n  .global patchme\n"
    "patchme:\n"
    "  retl\n"
    "  mov 1, %o0\n"
    "  .skip 4088\n");

/* The encodings of `mov 2, %o0` and `mov 3, %o0` (or %g0, simm13, %o0). */
#define MOV_O0(n) (0x90102000u | (n))

int main(void) {
  volatile unsigned *code = (volatile unsigned *)patchme;
  unsigned sum = 0;
  for (int i = 0; i < 100; i++) {
    if (i == 40) {
      code[1] = MOV_O0(2);
      __asm__ volatile("flush %0" : : "r"(code + 1) : "memory");
    }
    sum = sum * 3 + patchme();
  }
  /* The store is in the hot loop itself, so it runs in translated code; no flush. */
  for (int i = 0; i < 100; i++) {
    code[1] = MOV_O0(3 + i / 30);
    sum = sum * 3 + patchme();
  }
  put_line("sum", sum);
  return 0;
}
