/* The open VSC firmware: what its parts share. */
#ifndef FIRMWARE_H
#define FIRMWARE_H
#include <stdint.h>
#include "soc.h"

#ifndef XLINK_NAME_LEN
#define XLINK_NAME_LEN 64 /* 84-byte headers (OpenVINO 2019 R2 on); 16 gives NCSDK2's 36 bytes */
#endif

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

/* The DDR heap (heap.c): 64-byte aligned blocks. */
void heap_reset(void);
void *heap_alloc(uint32_t size);
void heap_free(void *data);
void heap_shrink(void *data, uint32_t size);
uint32_t heap_used(void);
uint32_t heap_capacity(void);

/* XLink device side (xlink.c). */
void xlink_reset_state(void);
void xlink_poll(void);
int xlink_find_stream(const char *name);
const char *xlink_stream_name(int index);
/* Finds or creates a stream by name and declares our write size for it; -1 if it cannot. */
int xlink_open_stream(const char *name, uint32_t write_size);
/* Queues a write of ours on a stream; `data` must stay as it is until the write is out. 0 if the
 * stream has too many writes waiting already. */
int xlink_write(int index, const void *data, uint32_t length);
int xlink_write_pending(int index);
int xlink_write_room(int index);
/* The host's packet held on a stream (its size in *size), or 0. */
const uint8_t *xlink_packet(int index, uint32_t *size);
/* The host's packet on a stream has been used: give the host its credit back. */
void xlink_release(int index);
/* The host's packet's buffer becomes the caller's (heap_free it); the packet is released. */
uint8_t *xlink_take_buffer(int index);

/* The services behind the streams (mvnc.c): a packet for stream `index` arrived. Returns 1 if
 * a service takes it (and releases it later), 0 to have it echoed. */
int service_packet(int index, const char *name, uint8_t *data, uint32_t size);
void service_reset(void);
void service_poll(void);
void watchdog_arm(void);

void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
#endif
