/* Loads and stores of every size and sign, doublewords, atomics, alternate spaces, and the
   traps for misaligned and odd-register accesses. */
#include "rt.h"

static unsigned char buf[64] __attribute__((aligned(8)));

static unsigned ld_asi_b(void *p) {
  unsigned v;
  __asm__ volatile("lda [%1] 0xb, %0" : "=r"(v) : "r"(p));
  return v;
}

int main(void) {
  volatile unsigned *w = (volatile unsigned *)buf;
  w[0] = 0x11223344;
  w[1] = 0x8899aabb;
  for (int i = 0; i < 8; i++) {
    unsigned u, s;
    __asm__ volatile("ldub [%2], %0\n\tldsb [%2], %1" : "=r"(u), "=r"(s) : "r"(buf + i));
    put_hex(u);
    put_char(' ');
    put_hex(s);
    put_char('\n');
  }
  for (int i = 0; i < 8; i += 2) {
    unsigned u, s;
    __asm__ volatile("lduh [%2], %0\n\tldsh [%2], %1" : "=r"(u), "=r"(s) : "r"(buf + i));
    put_hex(u);
    put_char(' ');
    put_hex(s);
    put_char('\n');
  }
  __asm__ volatile("stb %1, [%0 + 1]\n\tsth %1, [%0 + 6]" : : "r"(buf), "r"(0xcafef00d) : "memory");
  put_line("after stb/sth", w[0]);
  put_line("after stb/sth", w[1]);
  {
    unsigned hi, lo;
    __asm__ volatile("set 0x01020304, %%o2\n\tset 0x05060708, %%o3\n\tstd %%o2, [%2 + 8]\n\tldd [%2 + 8], %%o4\n\tmov %%o4, %0\n\tmov %%o5, %1"
                     : "=r"(hi), "=r"(lo) : "r"(buf) : "o2", "o3", "o4", "o5", "memory");
    put_line("ldd hi", hi);
    put_line("ldd lo", lo);
    put_line("std word 2", w[2]);
    put_line("std word 3", w[3]);
  }
  {
    unsigned old;
    __asm__ volatile("ldstub [%1 + 16], %0" : "=r"(old) : "r"(buf) : "memory");
    put_line("ldstub old", old);
    put_line("ldstub new", w[4]);
    unsigned v = 0x77777777;
    __asm__ volatile("swap [%1 + 8], %0" : "+r"(v) : "r"(buf) : "memory");
    put_line("swap old", v);
    put_line("swap new", w[2]);
  }
  {
    unsigned expect = 0x77777777, value = 0xabcdef01;
    __asm__ volatile("casa [%2] 0xb, %1, %0" : "+r"(value) : "r"(expect), "r"(buf + 8) : "memory");
    put_line("casa equal old", value);
    put_line("casa equal mem", w[2]);
    value = 0x12121212;
    __asm__ volatile("casa [%2] 0xb, %1, %0" : "+r"(value) : "r"(expect), "r"(buf + 8) : "memory");
    put_line("casa unequal old", value);
    put_line("casa unequal mem", w[2]);
  }
  {
    __asm__ volatile("sta %0, [%1] 0xb" : : "r"(0x31415926), "r"(buf + 20) : "memory");
    put_line("lda/sta 0xb", ld_asi_b(buf + 20));
    unsigned b;
    __asm__ volatile("lduba [%1] 0xa, %0" : "=r"(b) : "r"(buf + 20));
    put_line("lduba 0xa", b);
  }
  /* Misaligned accesses trap (mem_address_not_aligned) and leave the target register alone. */
  {
    unsigned v = 0x5a5a5a5a;
    __asm__ volatile("ld [%1 + 1], %0" : "+r"(v) : "r"(buf));
    put_line("misaligned ld keeps", v);
    __asm__ volatile("lduh [%1 + 1], %0" : "+r"(v) : "r"(buf));
    __asm__ volatile("st %0, [%1 + 2]" : : "r"(v), "r"(buf) : "memory");
    __asm__ volatile("ldd [%0 + 4], %%o4" : : "r"(buf) : "o4", "o5");
    __asm__ volatile("std %%o4, [%0 + 12]" : : "r"(buf) : "memory");
    __asm__ volatile("sth %0, [%1 + 3]" : : "r"(v), "r"(buf) : "memory");
    print_traps();
  }
  /* ldd with an odd destination register is illegal. */
  __asm__ volatile("mov %0, %%o0\n\t.word 0xd21a2000" : : "r"(buf) : "o0", "o1");
  print_traps();
  for (int i = 0; i < 6; i++) put_line("word", w[i]);
  return 0;
}
