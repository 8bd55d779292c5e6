/* The open VSC firmware: what its parts share. */
#ifndef FIRMWARE_H
#define FIRMWARE_H
#include <stdint.h>
#include "soc.h"

void console_put(const char *s);
void console_hex(uint32_t v);
void console_line(const char *label, uint32_t value);
void firmware_fault(uint32_t tt, uint32_t pc) __attribute__((noreturn));

uint64_t now_ticks(void);

/* USB device: bulk endpoint 1 carries XLink. */
void usb_start(void);
/* Arms endpoint 1 OUT to receive up to `size` bytes at `buffer`. */
void usb_receive(void *buffer, uint32_t size);
/* Sends `length` bytes on endpoint 1 IN; usb_sending() is true until the host has read them. */
void usb_send(const void *data, uint32_t length);
int usb_sending(void);
/* Polls the controller: returns the bytes of a completed OUT transfer piece, or -1. Sets *ended. */
int usb_poll_received(int *ended);
int usb_poll_bus_reset(void);

/* XLink device side. */
void xlink_reset_state(void);
void xlink_poll(void);
int xlink_watchdog_due(void);

void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
#endif
