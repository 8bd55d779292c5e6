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

/* ---- the MX ID */

/* Waits for the fuse port. Each status read is a bus transaction (an event in a trace), so it
 * pauses a few microseconds between reads instead of reading back to back. */
static void fuse_wait(void) {
  while (CPR_FUSE_STATUS & (CPR_FUSE_ENABLE & 3u))
    for (int i = 0; i < 1000; i++) __asm__ volatile("");
}

static char mx_id_text[MX_ID_DIGITS + 1];

const char *mx_id(void) {
  if (mx_id_text[0]) return mx_id_text;
  uint8_t id[12];
  CPR_FUSE_ENABLE = 3;
  fuse_wait();
  for (uint32_t w = 0; w < 3; w++) {
    CPR_FUSE_COMMAND = FUSE_READ_WORD0 + w;
    fuse_wait();
    uint32_t word = CPR_FUSE_DATA;
    for (int b = 0; b < 4; b++) id[4 * w + b] = (uint8_t)(word >> (8 * b));
  }
  CPR_FUSE_ENABLE = 0;
  id[8] &= 0xf0; /* as host libraries print it */
  for (int i = 0; i < MX_ID_DIGITS; i++) mx_id_text[i] = "0123456789ABCDEF"[(id[i / 2] >> (i & 1 ? 0 : 4)) & 15];
  mx_id_text[MX_ID_DIGITS] = 0;
  return mx_id_text;
}

/* ---- time */

/* (high:low) / divisor by the V8 udiv, which divides %y:rs1; high must be below divisor. */
static uint32_t divide_wide(uint32_t high, uint32_t low, uint32_t divisor) {
  uint32_t quotient;
  __asm__("wr %1, 0, %%y\n\tnop\n\tnop\n\tnop\n\tudiv %2, %3, %0" : "=r"(quotient) : "r"(high), "r"(low), "r"(divisor));
  return quotient;
}

void clock_now(uint32_t *seconds_low, uint32_t *seconds_high, uint32_t *nanoseconds) {
  uint64_t ticks = now_ticks();
  uint32_t high = (uint32_t)(ticks >> 32), low = (uint32_t)ticks;
  /* Long division by the clock, 32 bits at a time (no 64-bit division without a runtime). */
  *seconds_high = high / CLOCK_HZ;
  uint32_t seconds = divide_wide(high % CLOCK_HZ, low, CLOCK_HZ);
  *seconds_low = seconds;
  uint32_t left = low - seconds * CLOCK_HZ; /* the remainder, below CLOCK_HZ */
  uint64_t scaled = (uint64_t)left * 1000000000u;
  *nanoseconds = divide_wide((uint32_t)(scaled >> 32), (uint32_t)scaled, CLOCK_HZ);
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
