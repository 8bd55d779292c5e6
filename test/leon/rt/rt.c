#include "rt.h"

#define UART_DATA ((volatile unsigned *)0x80000100)

volatile unsigned trap_count;
volatile unsigned trap_log[64];
unsigned dump_area[36];
void exit_error_mode(void) __attribute__((noreturn));

void put_char(int c) { *UART_DATA = (unsigned)c; }

void put_string(const char *s) {
  while (*s) put_char(*s++);
}

void put_hex(unsigned value) {
  for (int shift = 28; shift >= 0; shift -= 4) put_char("0123456789abcdef"[(value >> shift) & 15]);
}

void put_dec(int value) {
  char digits[12];
  int n = 0;
  unsigned u = value < 0 ? -(unsigned)value : (unsigned)value;
  if (value < 0) put_char('-');
  do {
    digits[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  while (n) put_char(digits[--n]);
}

void put_line(const char *label, unsigned value) {
  put_string(label);
  put_char(' ');
  put_hex(value);
  put_char('\n');
}

void print_traps(void) {
  put_string("traps");
  for (unsigned i = 0; i < trap_count && i < 64; i++) {
    put_char(' ');
    put_hex(trap_log[i]);
  }
  put_char('\n');
  trap_count = 0;
}

/* Reached from the `ta 1` handler with the registers of main's window in dump_area. */
void dump_and_exit(void) {
  static const char *const names[32] = {
      "g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7", "o0", "o1", "o2", "o3", "o4", "o5", "o6", "o7",
      "l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7", "i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"};
  put_string("--- registers\n");
  for (int r = 0; r < 32; r++) put_line(names[r], dump_area[r]);
  put_line("y", dump_area[32]);
  put_line("psr", dump_area[33]);
  put_line("wim", dump_area[34]);
  put_line("tbr", dump_area[35]);
  print_traps();
  exit_error_mode();
}
