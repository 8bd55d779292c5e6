/* Every Bicc condition against every icc value, with and without the annul bit; Ticc too. */
#include "rt.h"

/* Returns 1: taken, delay slot run; 0: taken, delay annulled; 3: not taken; 2: not taken, annulled. */
#define BRANCH(name, mnemonic)                                                       \
  static unsigned name(unsigned icc) {                                               \
    unsigned r;                                                                      \
    __asm__ volatile("rd %%psr, %%o5\n\tset 0x00f00000, %%o4\n\tandn %%o5, %%o4, %%o5\n\t" \
                     "sll %1, 20, %%o4\n\tor %%o5, %%o4, %%o5\n\twr %%o5, %%psr\n\t"  \
                     "nop\n\tnop\n\tnop\n\tmov 0, %0\n\t" mnemonic " 1f\n\t"          \
                     "add %0, 1, %0\n\tadd %0, 2, %0\n1:\n\t"                        \
                     : "=&r"(r)                                                      \
                     : "r"(icc)                                                      \
                     : "o4", "o5", "cc");                                            \
    return r;                                                                        \
  }

#define TRAP(name, mnemonic)                                                         \
  static void name(unsigned icc) {                                                   \
    __asm__ volatile("rd %%psr, %%o5\n\tset 0x00f00000, %%o4\n\tandn %%o5, %%o4, %%o5\n\t" \
                     "sll %0, 20, %%o4\n\tor %%o5, %%o4, %%o5\n\twr %%o5, %%psr\n\t"  \
                     "nop\n\tnop\n\tnop\n\t" mnemonic " 0x10\n\tnop\n\t"              \
                     :                                                               \
                     : "r"(icc)                                                      \
                     : "o4", "o5", "cc");                                            \
  }

#define CONDITIONS(X) X(a) X(n) X(ne) X(e) X(g) X(le) X(ge) X(l) X(gu) X(leu) X(cc) X(cs) X(pos) X(neg) X(vc) X(vs)
#define DEFINE(c) BRANCH(b_##c, "b" #c) BRANCH(ba_##c, "b" #c ",a") TRAP(t_##c, "t" #c)
CONDITIONS(DEFINE)

typedef unsigned (*branch_fn)(unsigned);
typedef void (*trap_fn)(unsigned);
#define ROW(c) {#c, b_##c, ba_##c, t_##c},
static const struct { const char *name; branch_fn plain, annulled; trap_fn trap; } rows[] = {CONDITIONS(ROW)};

int main(void) {
  for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    put_string(rows[i].name);
    put_char(' ');
    for (unsigned icc = 0; icc < 16; icc++) put_char('0' + rows[i].plain(icc));
    put_char(' ');
    for (unsigned icc = 0; icc < 16; icc++) put_char('0' + rows[i].annulled(icc));
    put_char('\n');
    for (unsigned icc = 0; icc < 16; icc++) rows[i].trap(icc);
    print_traps();
  }
  /* A branch in the delay slot of a taken branch (a delay-slot CTI couple, manual 5.5). */
  unsigned r;
  __asm__ volatile("mov 0, %0\n\tba 1f\n\tba 2f\n\tadd %0, 1, %0\n1:\tadd %0, 2, %0\n\tadd %0, 4, %0\n2:\tadd %0, 8, %0\n\t"
                   : "=&r"(r) : : "cc");
  put_line("couple", r);
  return 0;
}
