/* Larger programs: CRC32, integer matrix multiply, deep and call-heavy recursion, a sieve
   and a sort. Also the LEON benchmark's workload (test/bench/leon.ts runs the same code). */
#include "rt.h"

static unsigned crc_table[256];
static unsigned char data[16384];
static int a[24][24], b[24][24], c[24][24];
static unsigned char sieve[20000];
static int sortme[512];

static unsigned crc32(const unsigned char *p, unsigned n) {
  unsigned crc = 0xffffffff;
  while (n--) crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static int ackermann(int m, int n) {
  if (m == 0) return n + 1;
  if (n == 0) return ackermann(m - 1, 1);
  return ackermann(m - 1, ackermann(m, n - 1));
}

static int many_args(int a1, int a2, int a3, int a4, int a5, int a6, int a7, int a8, int a9) {
  return a1 - a2 + a3 * a4 - a5 + a6 * a7 - a8 + a9;
}

static void sort(int *v, int n) {
  for (int gap = n / 2; gap > 0; gap /= 2)
    for (int i = gap; i < n; i++)
      for (int j = i; j >= gap && v[j - gap] > v[j]; j -= gap) {
        int t = v[j];
        v[j] = v[j - gap];
        v[j - gap] = t;
      }
}

int main(void) {
  for (unsigned i = 0; i < 256; i++) {
    unsigned c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
  for (unsigned i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 31 + (i >> 7));
  put_line("crc32", crc32(data, sizeof data));

  for (int i = 0; i < 24; i++)
    for (int j = 0; j < 24; j++) {
      a[i][j] = i * 7 - j * 3;
      b[i][j] = (i ^ j) - 11;
    }
  for (int i = 0; i < 24; i++)
    for (int j = 0; j < 24; j++) {
      int s = 0;
      for (int k = 0; k < 24; k++) s += a[i][k] * b[k][j];
      c[i][j] = s;
    }
  unsigned sum = 0;
  for (int i = 0; i < 24; i++)
    for (int j = 0; j < 24; j++) sum = sum * 33 + (unsigned)c[i][j];
  put_line("matmul", sum);

  put_line("fib(20)", fib(20));
  put_line("ackermann(2,5)", ackermann(2, 5));
  put_line("many args", many_args(1, 2, 3, 4, 5, 6, 7, 8, 9));

  unsigned primes = 0;
  for (unsigned i = 2; i < sizeof sieve; i++)
    if (!sieve[i]) {
      primes++;
      for (unsigned j = i * 2; j < sizeof sieve; j += i) sieve[j] = 1;
    }
  put_line("primes", primes);

  unsigned x = 12345;
  for (int i = 0; i < 512; i++) {
    x = x * 1103515245 + 12345;
    sortme[i] = (int)(x >> 8) - 0x400000;
  }
  sort(sortme, 512);
  unsigned sorted = 1;
  for (int i = 1; i < 512; i++) sorted &= sortme[i - 1] <= sortme[i];
  put_line("sorted", sorted);
  put_line("sort min", (unsigned)sortme[0]);
  put_line("sort max", (unsigned)sortme[511]);
  long long big = (long long)sortme[3] * 1000003;
  put_line("i64 hi", (unsigned)(big >> 32));
  put_line("i64 lo", (unsigned)big);
  return 0;
}
