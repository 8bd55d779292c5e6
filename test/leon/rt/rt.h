/* The test corpus runtime: UART output and the trap log (rt.c, start.S). */
#ifndef RT_H
#define RT_H
void put_char(int c);
void put_string(const char *s);
void put_hex(unsigned value);
void put_dec(int value);
void put_line(const char *label, unsigned value);
extern volatile unsigned trap_count;
extern volatile unsigned trap_log[64];
void print_traps(void);
#endif
