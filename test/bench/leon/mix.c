/* The LEON benchmark workload: CRC32, integer matrix multiply and call-heavy recursion (with
   window overflow and underflow traps), repeated ROUNDS times. Prints one checksum. */
#include "rt.h"

#ifndef ROUNDS
#define ROUNDS 60
#endif

static unsigned crc_table[256];
static unsigned char data[8192];
static int a[20][20], b[20][20], c[20][20];

static unsigned crc32(const unsigned char *p, unsigned n) {
  unsigned crc = 0xffffffff;
  while (n--) crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(void) {
  unsigned check = 0;
  for (unsigned i = 0; i < 256; i++) {
    unsigned c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
  for (int round = 0; round < ROUNDS; round++) {
    for (unsigned i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 31 + round);
    check ^= crc32(data, sizeof data);
    for (int i = 0; i < 20; i++)
      for (int j = 0; j < 20; j++) {
        a[i][j] = i * 7 - j * 3 + round;
        b[i][j] = (i ^ j) - 11;
      }
    for (int i = 0; i < 20; i++)
      for (int j = 0; j < 20; j++) {
        int s = 0;
        for (int k = 0; k < 20; k++) s += a[i][k] * b[k][j];
        c[i][j] = s;
      }
    for (int i = 0; i < 20; i++) check = check * 33 + (unsigned)c[i][i];
    check += (unsigned)fib(18);
  }
  put_line("check", check);
  return 0;
}
