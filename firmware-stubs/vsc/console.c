#include "firmware.h"

void console_put(const char *s) {
  while (*s) UART_TX = (uint8_t)*s++;
}

void console_hex(uint32_t v) {
  for (int shift = 28; shift >= 0; shift -= 4) UART_TX = (uint8_t)"0123456789abcdef"[(v >> shift) & 15];
}

void console_line(const char *label, uint32_t value) {
  console_put(label);
  console_put(" 0x");
  console_hex(value);
  console_put("\n");
}

void firmware_fault(uint32_t tt, uint32_t pc) {
  console_put("firmware fault: trap 0x");
  console_hex(tt);
  console_put(" at 0x");
  console_hex(pc);
  console_put("\n");
  halt();
}

uint64_t now_ticks(void) {
  uint32_t high, low;
  do {
    high = TIM0_FREE_HIGH;
    low = TIM0_FREE_LOW;
  } while (high != TIM0_FREE_HIGH);
  return ((uint64_t)high << 32) | low;
}

/* clang may call these for struct copies and initialisers. */
void *memset(void *d, int c, unsigned long n) {
  uint8_t *p = d;
  while (n--) *p++ = (uint8_t)c;
  return d;
}

void *memcpy(void *d, const void *s, unsigned long n) {
  uint8_t *p = d;
  const uint8_t *q = s;
  while (n--) *p++ = *q++;
  return d;
}
