/*
 * The DDR heap: stream buffers, graphs, their intermediate tensors and FIFO elements. First fit
 * over an address-ordered list of blocks, each with a 64-byte head so that every block's data
 * is 64-byte aligned (the graph format aligns its sections and constants to 64). Freed
 * neighbours merge, so a host that allocates and frees graphs for ever does not run the heap
 * out.
 */
#include "firmware.h"

#define HEAP_START 0x80300000u /* above OpenVINO's watchdog flag byte at 0x80200000 */
#define HEAP_END 0x9ff00000u
#define HEAD 64u

typedef struct block {
  uint32_t size; /* bytes of data after the head */
  uint32_t free;
  struct block *next;
} block_t;

static block_t *first;

void heap_reset(void) {
  first = (block_t *)HEAP_START;
  first->size = HEAP_END - HEAP_START - HEAD;
  first->free = 1;
  first->next = 0;
}

void *heap_alloc(uint32_t size) {
  if (size == 0 || size > HEAP_END - HEAP_START) return 0;
  size = (size + 63) & ~63u;
  for (block_t *b = first; b; b = b->next) {
    if (!b->free || b->size < size) continue;
    if (b->size >= size + HEAD + 64) { /* split: the rest stays free */
      block_t *rest = (block_t *)((uint8_t *)b + HEAD + size);
      rest->size = b->size - size - HEAD;
      rest->free = 1;
      rest->next = b->next;
      b->next = rest;
      b->size = size;
    }
    b->free = 0;
    return (uint8_t *)b + HEAD;
  }
  return 0;
}

/* Gives back the end of a block past its first `size` bytes. */
void heap_shrink(void *data, uint32_t size) {
  if (!data) return;
  block_t *b = (block_t *)((uint8_t *)data - HEAD);
  size = (size + 63) & ~63u;
  if (b->size < size + HEAD + 64) return;
  block_t *rest = (block_t *)((uint8_t *)b + HEAD + size);
  rest->size = b->size - size - HEAD;
  rest->free = 0;
  rest->next = b->next;
  b->next = rest;
  b->size = size;
  heap_free((uint8_t *)rest + HEAD);
}

void heap_free(void *data) {
  if (!data) return;
  block_t *b = (block_t *)((uint8_t *)data - HEAD);
  b->free = 1;
  for (block_t *p = first; p; p = p->next) {
    while (p->free && p->next && p->next->free) {
      p->size += HEAD + p->next->size;
      p->next = p->next->next;
    }
  }
}

/* Bytes in use, heads included: what NCSDK2's used-memory query reports. */
uint32_t heap_used(void) {
  uint32_t used = 0;
  for (block_t *b = first; b; b = b->next) if (!b->free) used += b->size + HEAD;
  return used;
}

uint32_t heap_capacity(void) { return HEAP_END - HEAP_START; }
