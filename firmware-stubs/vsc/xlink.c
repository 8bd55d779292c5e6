/*
 * The XLink device side (myriad-facts.md section 4), as OpenVINO's host library expects it.
 *
 * A packet the host writes goes to the stream's service (mvnc.c): mvnc's streams are served
 * there; every other stream echoes its data back. Packets wait in their stream's ring, in
 * order, until the service releases them; the ring is twice the stream's size, so whatever a
 * host may leave unreleased by XLink's credit always fits, and a payload that does not fit was
 * sent without credit: it is taken off the bus and refused (NACK, bufferFull), so no stream
 * can stop the bus for the others. The device declares twice the stream's size (or what a
 * service asks for) as the host's buffer for its own writes.
 */
#include "firmware.h"


enum {
  WRITE_REQ, READ_REQ, READ_REL_REQ, CREATE_STREAM_REQ, CLOSE_STREAM_REQ, PING_REQ, RESET_REQ,
  REQUEST_LAST,
  WRITE_RESP, READ_RESP, READ_REL_RESP, CREATE_STREAM_RESP, CLOSE_STREAM_RESP, PING_RESP, RESET_RESP,
};
#define F_ACK 0x01u
#define F_NACK 0x02u
#define F_SIZE_TOO_BIG 0x40u
#define F_NO_SUCH_STREAM 0x80u

typedef struct {
  int32_t id;
  int32_t type;
  char name[XLINK_NAME_LEN];
  uint32_t stream_id;
  uint32_t size;
  uint32_t flags;
} header_t;
_Static_assert(sizeof(header_t) == 20 + XLINK_NAME_LEN, "XLink header layout");

/* Streams larger than this get sizeTooBig; so do payloads that do not fit their stream. */
#define MAX_STREAM_SIZE (64u << 20)
#define MAX_STREAMS 40 /* mvnc: 2 monitors, a graphBuffer per graph, FIFOs, console */
#define OUT_SLOTS 8 /* device writes a stream may have waiting for credit */
#define MAX_PACKETS 64 /* a host keeps fewer than 64 packets unreleased (myriad-facts.md 4) */
#define F_BUFFER_FULL 0x20u

typedef struct {
  const uint8_t *data;
  uint32_t length;
  int release; /* release the host's packet once this is out (an echo) */
} device_write_t;

typedef struct {
  int used;
  int closing;
  char name[XLINK_NAME_LEN];
  uint32_t read_size;   /* the host's declared write size: the largest packet it may send */
  uint8_t *buffer;      /* a ring of the packets the host wrote and nobody has released yet */
  uint32_t capacity;    /* twice read_size: whatever the host may have unreleased always fits */
  uint32_t write_size;  /* the host's buffer for our writes, as we declared it */
  uint32_t remote_fill; /* our bytes the host has not released yet */
  struct { uint32_t at, size; } packets[MAX_PACKETS]; /* in arrival order */
  unsigned first, count; /* packets[first] is the one its service has */
  device_write_t out[OUT_SLOTS];
  unsigned out_head, out_tail; /* out[] waiting for credit or queue room */
  unsigned in_flight;   /* of those, queued for the wire */
} stream_t;

static stream_t streams[MAX_STREAMS];
static int32_t next_id = 1;

/* ---- sending: a queue of headers, each with an optional payload */

typedef struct {
  header_t header;
  const uint8_t *payload;
  uint32_t length;
  int stream_after; /* stream whose oldest device write is out once the payload is, or -1 */
  int reset_after;
} outgoing_t;

#define QUEUE 16
static outgoing_t queue[QUEUE];
static unsigned queue_head, queue_tail;
static int sending_payload; /* the head's header is out; its payload is going */
static int reset_requested;

static int queue_room(void) { return queue_tail - queue_head < QUEUE; }

static void enqueue(int type, int id, const char *name, uint32_t stream_id, uint32_t size, uint32_t flags, const uint8_t *payload, uint32_t length, int stream_after, int reset_after) {
  outgoing_t *o = &queue[queue_tail++ % QUEUE];
  memset(&o->header, 0, sizeof o->header);
  o->header.id = id;
  o->header.type = type;
  int name_length = 0;
  if (name) for (; name_length < XLINK_NAME_LEN && name[name_length]; name_length++) o->header.name[name_length] = name[name_length];
#if XLINK_NAME_LEN == 64
  /* Luxonis's 84-byte header has a 52-byte name, then when the header was made: nanoseconds,
   * seconds low, seconds high (of TIM0's counter: our time base). OpenVINO's 64-byte name ends
   * at its NUL, so the time goes there only after a name that ends in the first 52 bytes. */
  if (name_length < 52) {
    uint32_t when[3];
    clock_now(&when[1], &when[2], &when[0]);
    memcpy(&o->header.name[52], when, sizeof when);
  }
#endif
  o->header.stream_id = stream_id;
  o->header.size = size;
  o->header.flags = flags;
  o->payload = payload;
  o->length = length;
  o->stream_after = stream_after;
  o->reset_after = reset_after;
}

static void reply(const header_t *request, int type, uint32_t stream_id, uint32_t flags) {
  enqueue(type, request->id, request->name, stream_id, request->size, flags, 0, 0, -1, 0);
}

static void reset_chip(void) {
  /* The only reset the firmware has: let the watchdog expire at once. */
  TIM0_SAFE_KEY = SAFE_KEY;
  TIM0_WATCHDOG_COUNT = 1;
  TIM0_SAFE_KEY = SAFE_KEY;
  TIM0_WATCHDOG_ENABLE = 1;
  for (;;) idle();
}

static void write_done(int index);

static void pump_queue(void) {
  if (usb_sending()) return;
  if (queue_head == queue_tail) return;
  outgoing_t *o = &queue[queue_head % QUEUE];
  if (!sending_payload) {
    usb_send(&o->header, sizeof o->header);
    if (o->length) sending_payload = 1;
    else {
      queue_head++;
      if (o->stream_after >= 0) write_done(o->stream_after);
      if (o->reset_after) reset_requested = 1;
    }
    return;
  }
  usb_send(o->payload, o->length);
  sending_payload = 0;
  int after = o->stream_after;
  queue_head++;
  if (after >= 0) write_done(after);
}

/* ---- streams */

static int same_name(const char *a, const char *b) {
  for (int k = 0; k < XLINK_NAME_LEN; k++) {
    if (a[k] != b[k]) return 0;
    if (!a[k]) return 1;
  }
  return 1;
}

int xlink_find_stream(const char *name) {
  for (int i = 0; i < MAX_STREAMS; i++) if (streams[i].used && same_name(streams[i].name, name)) return i;
  return -1;
}

const char *xlink_stream_name(int index) { return streams[index].name; }

static int terminated(const char *name) {
  for (int i = 0; i < XLINK_NAME_LEN; i++) if (!name[i]) return 1;
  return 0;
}

/* A stream by name, created if need be; -1 if the table is full. */
static int stream_named(const char *name) {
  int i = xlink_find_stream(name);
  if (i >= 0) return i;
  for (i = 0; i < MAX_STREAMS && streams[i].used; i++) {}
  if (i == MAX_STREAMS) return -1;
  memset(&streams[i], 0, sizeof streams[i]);
  for (int k = 0; k < XLINK_NAME_LEN && name[k]; k++) streams[i].name[k] = name[k];
  streams[i].used = 1;
  return i;
}

/* Our side of a stream: the host's buffer for what we write. Announced once it grows. */
static void declare_write_size(int i, uint32_t size) {
  stream_t *s = &streams[i];
  if (size <= s->write_size) return;
  s->write_size = size;
  enqueue(CREATE_STREAM_REQ, next_id++, s->name, (uint32_t)i, s->write_size, 0, 0, 0, -1, 0);
}

int xlink_open_stream(const char *name, uint32_t write_size) {
  int i = stream_named(name);
  if (i < 0 || !queue_room()) return -1;
  streams[i].closing = 0;
  declare_write_size(i, (write_size + 63) & ~63u);
  return i;
}

static void create_stream(const header_t *h) {
  if (!terminated(h->name) || !h->name[0]) return reply(h, CREATE_STREAM_RESP, 0, F_NACK);
  uint32_t size = (h->size + 63) & ~63u;
  if (size == 0 || size > MAX_STREAM_SIZE) return reply(h, CREATE_STREAM_RESP, 0, F_SIZE_TOO_BIG);
  int i = stream_named(h->name);
  if (i < 0) return reply(h, CREATE_STREAM_RESP, 0, F_SIZE_TOO_BIG);
  stream_t *s = &streams[i];
  if (s->capacity < 2 * size && !s->count) {
    uint8_t *buffer = heap_alloc(2 * size);
    if (!buffer) {
      if (!s->capacity && !s->write_size) s->used = 0;
      return reply(h, CREATE_STREAM_RESP, 0, F_SIZE_TOO_BIG);
    }
    heap_free(s->buffer);
    s->buffer = buffer;
    s->capacity = 2 * size;
  }
  s->closing = 0;
  s->read_size = 2 * size <= s->capacity ? size : s->capacity / 2;
  reply(h, CREATE_STREAM_RESP, (uint32_t)i, F_ACK);
  declare_write_size(i, 2 * size);
}

static void send_release(int index, uint32_t size) {
  enqueue(READ_REL_REQ, next_id++, streams[index].name, (uint32_t)index, size, 0, 0, 0, -1, 0);
}

/* Puts a stream's waiting writes on the wire as far as the host's credit goes. */
static void try_send(int index) {
  stream_t *s = &streams[index];
  while (s->out_head + s->in_flight != s->out_tail && queue_room()) {
    device_write_t *w = &s->out[(s->out_head + s->in_flight) % OUT_SLOTS];
    if (s->remote_fill + w->length > s->write_size) return; /* wait for the host to release */
    s->remote_fill += w->length;
    s->in_flight++;
    enqueue(WRITE_REQ, next_id++, s->name, (uint32_t)index, w->length, 0, w->data, w->length, index, 0);
  }
}

int xlink_write(int index, const void *data, uint32_t length) {
  stream_t *s = &streams[index];
  if (s->out_tail - s->out_head == OUT_SLOTS) return 0;
  if (length > s->write_size) declare_write_size(index, (length + 63) & ~63u);
  device_write_t *w = &s->out[s->out_tail++ % OUT_SLOTS];
  w->data = data;
  w->length = length;
  w->release = 0;
  try_send(index);
  return 1;
}

int xlink_write_pending(int index) { return streams[index].out_tail != streams[index].out_head; }
int xlink_write_room(int index) { return OUT_SLOTS - (int)(streams[index].out_tail - streams[index].out_head); }

const uint8_t *xlink_packet(int index, uint32_t *size) {
  stream_t *s = &streams[index];
  if (!s->count) return 0;
  *size = s->packets[s->first].size;
  return s->buffer + s->packets[s->first].at;
}

static void deliver(int index);

/* A stream the host closed while packets or our writes were still on it goes once they are gone. */
static void close_if_drained(int index) {
  stream_t *s = &streams[index];
  if (!s->closing || s->count || xlink_write_pending(index)) return;
  heap_free(s->buffer);
  s->used = 0;
}

void xlink_release(int index) {
  stream_t *s = &streams[index];
  if (!s->count) return;
  send_release(index, s->packets[s->first].size);
  s->first = (s->first + 1) % MAX_PACKETS;
  s->count--;
  if (s->count) return deliver(index);
  close_if_drained(index);
}

uint8_t *xlink_take_buffer(int index) {
  stream_t *s = &streams[index];
  if (s->count != 1 || s->packets[s->first].at != 0) return 0; /* only a buffer that holds nothing else */
  uint8_t *buffer = s->buffer;
  s->buffer = 0;
  s->capacity = 0;
  xlink_release(index);
  return buffer;
}

/* A write's payload is out. */
static void write_done(int index) {
  stream_t *s = &streams[index];
  device_write_t *w = &s->out[s->out_head++ % OUT_SLOTS];
  s->in_flight--;
  if (w->release) xlink_release(index);
  try_send(index);
  close_if_drained(index);
}

/* Where in the ring a packet of `size` bytes goes, or -1 if the host has sent more than its
 * credit allows. Packets lie whole, in arrival order, wrapping to the start at most once. */
static int ring_place(const stream_t *s, uint32_t size) {
  if (s->count == MAX_PACKETS) return -1;
  if (!s->count) return size <= s->capacity ? 0 : -1;
  uint32_t first = s->packets[s->first].at;
  unsigned last = (s->first + s->count - 1) % MAX_PACKETS;
  uint32_t end = s->packets[last].at + s->packets[last].size;
  if (s->packets[last].at >= first) { /* not wrapped: room after the last, or before the first */
    if (s->capacity - end >= size) return (int)end;
    return first >= size ? 0 : -1;
  }
  return first - end >= size ? (int)end : -1;
}

/* ---- the packet a host write brought */

/* The oldest packet goes to its stream's service, or is echoed. */
static void deliver(int index) {
  stream_t *s = &streams[index];
  uint32_t size = 0;
  uint8_t *data = (uint8_t *)xlink_packet(index, &size);
  if (service_packet(index, s->name, data, size)) return;
  /* Not a service's: echo it, and release it once the echo is out. */
  if (s->out_tail - s->out_head == OUT_SLOTS) return xlink_release(index);
  device_write_t *w = &s->out[s->out_tail++ % OUT_SLOTS];
  w->data = data;
  w->length = size;
  w->release = 1;
  try_send(index);
}

static void packet(int index, uint32_t at, uint32_t size) {
  stream_t *s = &streams[index];
  unsigned slot = (s->first + s->count) % MAX_PACKETS;
  s->packets[slot].at = at;
  s->packets[slot].size = size;
  if (s->count++ == 0) deliver(index);
}

/* ---- receiving */

enum { RX_HEADER, RX_PAYLOAD, RX_DISCARD, RX_GARBAGE };
static int rx_state;
static header_t rx;
static uint32_t rx_got, rx_left, rx_nack_flags, rx_at;
static int rx_stream;
static uint8_t scratch[4096];
static int armed;

static void arm(void) {
  if (armed) return;
  switch (rx_state) {
    case RX_HEADER: usb_receive(&rx, sizeof rx); break;
    case RX_PAYLOAD: usb_receive(streams[rx_stream].buffer + rx_at + rx_got, rx.size - rx_got); break;
    case RX_DISCARD: usb_receive(scratch, rx_left < sizeof scratch ? rx_left : sizeof scratch); break;
    case RX_GARBAGE: usb_receive(scratch, sizeof scratch); break;
    default: return;
  }
  armed = 1;
}

static void discard(const header_t *h, uint32_t flags) {
  rx_nack_flags = flags;
  rx_left = h->size;
  rx_state = h->size ? RX_DISCARD : RX_HEADER;
  if (!h->size) reply(h, WRITE_RESP, h->stream_id, flags);
}

/* A payload goes into its stream's ring; one the ring has no room for was sent without credit,
 * and is taken and thrown away (NACK, bufferFull), so that no stream can hold up the others. */
static void start_payload(void) {
  stream_t *s = &streams[rx_stream];
  if (!s->buffer) { /* a service took the last one */
    s->buffer = heap_alloc(2 * s->read_size);
    if (!s->buffer) return discard(&rx, F_NACK | F_SIZE_TOO_BIG);
    s->capacity = 2 * s->read_size;
  }
  int at = ring_place(s, rx.size);
  if (at < 0) return discard(&rx, F_NACK | F_BUFFER_FULL);
  rx_at = (uint32_t)at;
  rx_got = 0;
  rx_state = RX_PAYLOAD;
  if (rx.size == 0) {
    rx_state = RX_HEADER;
    reply(&rx, WRITE_RESP, rx.stream_id, F_ACK);
    packet(rx_stream, rx_at, 0);
  }
}

static void header(void) {
  const header_t *h = &rx;
  switch (h->type) {
    case PING_REQ:
      return reply(h, PING_RESP, h->stream_id, F_ACK);
    case RESET_REQ:
      return enqueue(RESET_RESP, h->id, h->name, h->stream_id, h->size, F_ACK, 0, 0, -1, 1);
    case CREATE_STREAM_REQ:
      return create_stream(h);
    case WRITE_REQ: {
      uint32_t flags = 0;
      if (h->stream_id >= MAX_STREAMS || !streams[h->stream_id].used || streams[h->stream_id].closing) flags = F_NACK | F_NO_SUCH_STREAM;
      else if (h->size > streams[h->stream_id].read_size) flags = F_NACK | F_SIZE_TOO_BIG;
      if (flags) {
        if (h->size > MAX_STREAM_SIZE) return reply(h, WRITE_RESP, h->stream_id, flags); /* no payload will be read */
        return discard(h, flags);
      }
      rx_stream = (int)h->stream_id;
      start_payload();
      return;
    }
    case READ_REL_REQ: {
      if (h->stream_id < MAX_STREAMS && streams[h->stream_id].used) {
        stream_t *s = &streams[h->stream_id];
        s->remote_fill -= h->size < s->remote_fill ? h->size : s->remote_fill;
        reply(h, READ_REL_RESP, h->stream_id, F_ACK);
        try_send((int)h->stream_id);
      } else {
        reply(h, READ_REL_RESP, h->stream_id, F_NACK | F_NO_SUCH_STREAM);
      }
      return;
    }
    case CLOSE_STREAM_REQ: {
      if (h->stream_id >= MAX_STREAMS || !streams[h->stream_id].used) return reply(h, CLOSE_STREAM_RESP, h->stream_id, F_NACK | F_NO_SUCH_STREAM);
      stream_t *s = &streams[h->stream_id];
      if (s->count || xlink_write_pending((int)h->stream_id)) {
        s->closing = 1; /* data still queued here: nack now, close once it is gone */
        return reply(h, CLOSE_STREAM_RESP, h->stream_id, F_NACK);
      }
      heap_free(s->buffer);
      s->used = 0;
      return reply(h, CLOSE_STREAM_RESP, h->stream_id, F_ACK);
    }
    case WRITE_RESP:
    case READ_REL_RESP:
    case CREATE_STREAM_RESP:
    case CLOSE_STREAM_RESP:
    case PING_RESP:
      return; /* answers to our own requests */
    default:
      return reply(h, h->type >= 0 && h->type < REQUEST_LAST ? h->type + 8 : h->type, h->stream_id, F_NACK);
  }
}

static void received(uint32_t count, int ended) {
  switch (rx_state) {
    case RX_HEADER:
      if (count == sizeof rx && ended) header();
      else if (!ended) rx_state = RX_GARBAGE; /* more than a header: drain the rest */
      return;
    case RX_PAYLOAD:
      rx_got += count;
      if (rx_got < rx.size) return;
      rx_state = RX_HEADER;
      reply(&rx, WRITE_RESP, rx.stream_id, F_ACK);
      packet(rx_stream, rx_at, rx.size);
      return;
    case RX_DISCARD:
      rx_left -= count < rx_left ? count : rx_left;
      if (rx_left) return;
      rx_state = RX_HEADER;
      reply(&rx, WRITE_RESP, rx.stream_id, rx_nack_flags);
      return;
    case RX_GARBAGE:
      if (ended) rx_state = RX_HEADER;
      return;
  }
}

void xlink_reset_state(void) {
  memset(streams, 0, sizeof streams);
  heap_reset();
  service_reset();
  queue_head = queue_tail = 0;
  sending_payload = 0;
  rx_state = RX_HEADER;
  armed = 0;
}

void xlink_poll(void) {
  for (;;) {
    int ended;
    int count = usb_poll_received(&ended);
    if (count >= 0) {
      armed = 0;
      received((uint32_t)count, ended);
    }
    for (int i = 0; i < MAX_STREAMS; i++) if (streams[i].used && xlink_write_pending(i)) try_send(i);
    /* Keep headers flowing only while there is room to answer them. */
    if (queue_tail - queue_head < QUEUE - 2) arm();
    pump_queue();
    if (reset_requested && !usb_sending()) reset_chip();
    if (count < 0) return;
  }
}
