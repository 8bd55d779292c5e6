/* Every ALU instruction over a table of edge values: result, icc, and Y where it applies. */
#include "rt.h"

static const unsigned values[] = {0, 1, 2, 3, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0xfffffffe, 0x12345678, 0x55555555, 0xdeadbeef};
#define N (sizeof values / sizeof values[0])

/* result = a OP b with the carry flag preset to cin; icc and Y afterwards. */
#define DEFINE_OP(op)                                                                      \
  static unsigned do_##op(unsigned a, unsigned b, unsigned cin, unsigned *icc, unsigned *y) { \
    unsigned r, psr, yv;                                                                   \
    __asm__ volatile("subcc %5, 1, %%g0\n\t" #op " %3, %4, %0\n\trd %%psr, %1\n\trd %%y, %2" \
                     : "=r"(r), "=r"(psr), "=r"(yv)                                        \
                     : "r"(a), "r"(b), "r"(cin ? 0 : 1)                                   \
                     : "cc");                                                              \
    *icc = (psr >> 20) & 15;                                                               \
    *y = yv;                                                                               \
    return r;                                                                              \
  }

DEFINE_OP(add) DEFINE_OP(addcc) DEFINE_OP(addx) DEFINE_OP(addxcc)
DEFINE_OP(sub) DEFINE_OP(subcc) DEFINE_OP(subx) DEFINE_OP(subxcc)
DEFINE_OP(and) DEFINE_OP(andcc) DEFINE_OP(andn) DEFINE_OP(andncc)
DEFINE_OP(or) DEFINE_OP(orcc) DEFINE_OP(orn) DEFINE_OP(orncc)
DEFINE_OP(xor) DEFINE_OP(xorcc) DEFINE_OP(xnor) DEFINE_OP(xnorcc)
DEFINE_OP(sll) DEFINE_OP(srl) DEFINE_OP(sra)
DEFINE_OP(taddcc) DEFINE_OP(tsubcc)
DEFINE_OP(umul) DEFINE_OP(umulcc) DEFINE_OP(smul) DEFINE_OP(smulcc)

typedef unsigned (*op_fn)(unsigned, unsigned, unsigned, unsigned *, unsigned *);
static const struct { const char *name; op_fn fn; } ops[] = {
    {"add", do_add}, {"addcc", do_addcc}, {"addx", do_addx}, {"addxcc", do_addxcc},
    {"sub", do_sub}, {"subcc", do_subcc}, {"subx", do_subx}, {"subxcc", do_subxcc},
    {"and", do_and}, {"andcc", do_andcc}, {"andn", do_andn}, {"andncc", do_andncc},
    {"or", do_or}, {"orcc", do_orcc}, {"orn", do_orn}, {"orncc", do_orncc},
    {"xor", do_xor}, {"xorcc", do_xorcc}, {"xnor", do_xnor}, {"xnorcc", do_xnorcc},
    {"sll", do_sll}, {"srl", do_srl}, {"sra", do_sra},
    {"taddcc", do_taddcc}, {"tsubcc", do_tsubcc},
    {"umul", do_umul}, {"umulcc", do_umulcc}, {"smul", do_smul}, {"smulcc", do_smulcc},
};

/* Division reads Y as the high word of the dividend. */
#define DEFINE_DIV(op)                                                                     \
  static unsigned do_##op(unsigned yin, unsigned a, unsigned b, unsigned *icc) {          \
    unsigned r, psr;                                                                       \
    __asm__ volatile("cmp %%g0, 1\n\twr %2, %%y\n\tnop\n\tnop\n\tnop\n\t" #op " %3, %4, %0\n\trd %%psr, %1" \
                     : "=r"(r), "=r"(psr)                                                  \
                     : "r"(yin), "r"(a), "r"(b)                                            \
                     : "cc");                                                              \
    *icc = (psr >> 20) & 15;                                                               \
    return r;                                                                              \
  }
DEFINE_DIV(udiv) DEFINE_DIV(udivcc) DEFINE_DIV(sdiv) DEFINE_DIV(sdivcc)

static unsigned mulscc_product(unsigned a, unsigned b, unsigned *high) {
  /* The V8 manual's 32-step multiply: Y = multiplier, rs1 accumulates. */
  unsigned lo, hi;
  __asm__ volatile(
      "wr %2, %%y\n\tnop\n\tnop\n\tnop\n\t"
      "andcc %%g0, %%g0, %%o4\n\t"
      ".rept 32\n\tmulscc %%o4, %3, %%o4\n\t.endr\n\t"
      "mulscc %%o4, %%g0, %%o4\n\t"
      "rd %%y, %0\n\tmov %%o4, %1"
      : "=r"(lo), "=r"(hi)
      : "r"(a), "r"(b)
      : "o4", "cc");
  *high = hi;
  return lo;
}

int main(void) {
  unsigned icc, y;
  for (unsigned o = 0; o < sizeof ops / sizeof ops[0]; o++) {
    for (unsigned i = 0; i < N; i++) {
      for (unsigned j = 0; j < N; j++) {
        for (unsigned cin = 0; cin < 2; cin++) {
          unsigned r = ops[o].fn(values[i], values[j], cin, &icc, &y);
          put_string(ops[o].name);
          put_char(' ');
          put_hex(values[i]);
          put_char(' ');
          put_hex(values[j]);
          put_char(' ');
          put_char('0' + cin);
          put_char(' ');
          put_hex(r);
          put_char(' ');
          put_char("0123456789abcdef"[icc]);
          put_char(' ');
          put_hex(y);
          put_char('\n');
        }
      }
    }
  }
  static const unsigned ys[] = {0, 1, 0x7fffffff, 0xffffffff, 0x80000000};
  static const char *const divs[] = {"udiv", "udivcc", "sdiv", "sdivcc"};
  unsigned (*const divfns[])(unsigned, unsigned, unsigned, unsigned *) = {do_udiv, do_udivcc, do_sdiv, do_sdivcc};
  for (unsigned d = 0; d < 4; d++)
    for (unsigned k = 0; k < sizeof ys / sizeof ys[0]; k++)
      for (unsigned i = 0; i < N; i++)
        for (unsigned j = 0; j < N; j++) {
          if (values[j] == 0) continue;
          unsigned r = divfns[d](ys[k], values[i], values[j], &icc);
          put_string(divs[d]);
          put_char(' ');
          put_hex(ys[k]);
          put_hex(values[i]);
          put_char(' ');
          put_hex(values[j]);
          put_char(' ');
          put_hex(r);
          put_char(' ');
          put_char("0123456789abcdef"[icc]);
          put_char('\n');
        }
  for (unsigned i = 0; i < N; i++)
    for (unsigned j = 0; j < N; j++) {
      unsigned hi, lo = mulscc_product(values[i], values[j], &hi);
      put_string("mulscc ");
      put_hex(values[i]);
      put_char(' ');
      put_hex(values[j]);
      put_char(' ');
      put_hex(hi);
      put_hex(lo);
      put_char('\n');
    }
  return 0;
}
