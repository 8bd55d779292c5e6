/* The traps of the integer unit and their order; interrupts forced through the IRQMP. */
#include "rt.h"

#define IRQMP_MASK ((volatile unsigned *)0x80000240)
#define IRQMP_FORCE ((volatile unsigned *)0x80000208)

static void set_pil(unsigned pil) {
  unsigned psr;
  __asm__ volatile("rd %%psr, %0" : "=r"(psr));
  psr = (psr & ~0xf00u) | (pil << 8);
  __asm__ volatile("wr %0, %%psr\n\tnop\n\tnop\n\tnop" : : "r"(psr) : "cc");
}

int main(void) {
  __asm__ volatile("unimp 0x1234");
  __asm__ volatile(".word 0x81680000"); /* op=2 op3=0x2d: not an instruction */
  __asm__ volatile(".word 0x00400000"); /* op=0 op2=1: not an instruction */
  print_traps();

  unsigned q = 7;
  __asm__ volatile("wr %%g0, %%y\n\tnop\n\tnop\n\tnop\n\tudiv %0, %%g0, %0" : "+r"(q));
  __asm__ volatile("sdivcc %0, 0, %0" : "+r"(q) : : "cc");
  put_line("quotient kept", q);
  print_traps();

  unsigned t = 1;
  __asm__ volatile("taddcctv %0, 4, %0" : "+r"(t) : : "cc");
  put_line("taddcctv kept", t);
  t = 8;
  __asm__ volatile("tsubcctv %0, 4, %0" : "+r"(t) : : "cc");
  __asm__ volatile("set 0x7ffffffc, %%o4\n\ttaddcctv %%o4, 4, %%o4" : : : "o4", "cc");
  print_traps();

  /* FPU and coprocessor are disabled: fp_disabled and cp_disabled. */
  __asm__ volatile(".word 0x81a00020"); /* fmovs %f0, %f0 */
  __asm__ volatile(".word 0x01800002"); /* fba +8 */
  __asm__ volatile("nop");
  __asm__ volatile(".word 0xc1000000"); /* ld [%g0], %f0 */
  __asm__ volatile(".word 0x81b00000"); /* cpop1 */
  print_traps();

  /* rett with traps enabled is illegal in supervisor mode; wrpsr with CWP >= NWINDOWS too. */
  __asm__ volatile("rett %%g0 + 0" : : : "cc");
  __asm__ volatile("rd %%psr, %%o4\n\tor %%o4, 31, %%o4\n\twr %%o4, %%psr\n\tnop\n\tnop\n\tnop" : : : "o4", "cc");
  print_traps();

  /* Ticc numbers come from rs1 + rs2/simm, modulo 128. */
  __asm__ volatile("mov 0x7f, %%o4\n\tmov 0x9, %%o5\n\tta %%o4 + %%o5" : : : "o4", "o5");
  __asm__ volatile("ta 0x15");
  __asm__ volatile("mov -1, %%o4\n\tta %%o4 + 0x11" : : : "o4");
  print_traps();

  /* jmpl to a misaligned address. */
  __asm__ volatile("set 1f + 2, %%o4\n\tjmpl %%o4, %%g0\n\tnop\n1:" : : : "o4");
  print_traps();

  /* User mode: privileged instructions trap; ta 2 goes back to supervisor. */
  __asm__ volatile(
      "rd %%psr, %%o4\n\tandn %%o4, 0x80, %%o4\n\twr %%o4, %%psr\n\tnop\n\tnop\n\tnop\n\t"
      "rd %%psr, %%o5\n\twr %%o5, %%psr\n\trd %%wim, %%o5\n\twr %%g0, %%tbr\n\trd %%tbr, %%o5\n\t"
      "lda [%%g0] 0xb, %%o5\n\trett %%g0\n\tta 2\n\tnop"
      : : : "o4", "o5", "cc");
  print_traps();

  /* Interrupts: a forced level 5 is held while PIL >= 5 and taken once PIL drops. */
  *IRQMP_MASK = 0xfffe;
  set_pil(15);
  *IRQMP_FORCE = 1 << 5;
  put_line("held with PIL 15", trap_count);
  set_pil(5);
  put_line("held with PIL 5", trap_count);
  set_pil(4);
  put_line("forced after PIL 4", *IRQMP_FORCE);
  set_pil(0);
  print_traps();
  *IRQMP_FORCE = (1 << 3) | (1 << 12);
  __asm__ volatile("nop");
  print_traps();
  *IRQMP_MASK = 0;

  /* save/restore: the sum uses the old window, lands in the new one. */
  unsigned s;
  __asm__ volatile("mov 40, %%o4\n\tsave %%o4, 2, %%l5\n\tmov %%l5, %%i5\n\trestore %%i5, 1, %%o5\n\tmov %%o5, %0"
                   : "=r"(s) : : "o4", "o5", "cc");
  put_line("save/restore sum", s);
  __asm__ volatile("stbar\n\tflush %0" : : "r"(&s));
  print_traps();
  return 0;
}
