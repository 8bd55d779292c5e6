/*
 * The XLink device side (myriad-facts.md section 4), as OpenVINO's host library expects it.
 *
 * Every stream the host writes to echoes its data back, except mvnc's "deviceMonitor", which
 * answers GET_CAPABILITIES and takes WATCHDOG_PING. A stream holds one packet at a time: the
 * host's next payload is NAKed until the previous packet has been echoed and released. The
 * device declares twice the stream's size as the host's buffer for its own writes, so a release
 * the host queued behind a NAKed payload can never hold up the echo that frees the buffer.
 */
#include "firmware.h"

#ifndef XLINK_NAME_LEN
#define XLINK_NAME_LEN 64 /* 84-byte headers (OpenVINO 2019 R2 on); 16 gives NCSDK2's 36 bytes */
#endif

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

#define MAX_STREAMS 16
/* Streams larger than this get sizeTooBig; so do payloads that do not fit their stream. */
#define MAX_STREAM_SIZE (64u << 20)
#define HEAP_START 0x80300000u /* above OpenVINO's watchdog flag byte at 0x80200000 */
#define HEAP_END 0x9ff00000u

typedef struct {
  int used;
  int monitor;
  int closing;
  char name[XLINK_NAME_LEN];
  uint32_t read_size;   /* the host's declared write size: our receive buffer */
  uint8_t *buffer;
  uint32_t capacity;
  uint32_t write_size;  /* the host's buffer for our writes, as we declared it */
  uint32_t remote_fill; /* our bytes the host has not released yet */
  uint32_t packet;      /* bytes of the packet being echoed, 0 when the buffer is free */
  int echo_pending;     /* waiting for credit to echo */
} stream_t;

static stream_t streams[MAX_STREAMS];
static uint32_t heap;
static int32_t next_id = 1;

/* ---- sending: a queue of headers, each with an optional payload */

typedef struct {
  header_t header;
  const uint8_t *payload;
  uint32_t length;
  int release_after; /* stream index whose packet is released once the payload is out, or -1 */
  int reset_after;
} outgoing_t;

#define QUEUE 16
static outgoing_t queue[QUEUE];
static unsigned queue_head, queue_tail;
static int sending_payload; /* the head's header is out; its payload is going */
static int reset_requested;

static int queue_room(void) { return queue_tail - queue_head < QUEUE; }

static void enqueue(int type, int id, const char *name, uint32_t stream_id, uint32_t size, uint32_t flags, const uint8_t *payload, uint32_t length, int release_after, int reset_after) {
  outgoing_t *o = &queue[queue_tail++ % QUEUE];
  memset(&o->header, 0, sizeof o->header);
  o->header.id = id;
  o->header.type = type;
  if (name) for (int i = 0; i < XLINK_NAME_LEN && name[i]; i++) o->header.name[i] = name[i];
  o->header.stream_id = stream_id;
  o->header.size = size;
  o->header.flags = flags;
  o->payload = payload;
  o->length = length;
  o->release_after = release_after;
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

static void echo_done(int index);

static void pump_queue(void) {
  if (usb_sending()) return;
  if (queue_head == queue_tail) return;
  outgoing_t *o = &queue[queue_head % QUEUE];
  if (!sending_payload) {
    usb_send(&o->header, sizeof o->header);
    if (o->length) sending_payload = 1;
    else {
      queue_head++;
      if (o->reset_after) reset_requested = 1;
    }
    return;
  }
  usb_send(o->payload, o->length);
  sending_payload = 0;
  int release = o->release_after;
  queue_head++;
  if (release >= 0) echo_done(release);
}

/* ---- streams */

static int find_stream(const char *name) {
  for (int i = 0; i < MAX_STREAMS; i++) {
    if (!streams[i].used) continue;
    int same = 1;
    for (int k = 0; k < XLINK_NAME_LEN; k++) {
      if (streams[i].name[k] != name[k]) { same = 0; break; }
      if (!name[k]) break;
    }
    if (same) return i;
  }
  return -1;
}

static int terminated(const char *name) {
  for (int i = 0; i < XLINK_NAME_LEN; i++) if (!name[i]) return 1;
  return 0;
}

static uint8_t *allocate(uint32_t size) {
  uint32_t at = (heap + 63) & ~63u;
  if (size > HEAP_END - at) return 0;
  heap = at + size;
  return (uint8_t *)at;
}

static const char MONITOR[] = "deviceMonitor";

static void create_stream(const header_t *h) {
  if (!terminated(h->name) || !h->name[0]) return reply(h, CREATE_STREAM_RESP, 0, F_NACK);
  uint32_t size = (h->size + 63) & ~63u;
  if (size == 0 || size > MAX_STREAM_SIZE) return reply(h, CREATE_STREAM_RESP, 0, F_SIZE_TOO_BIG);
  int i = find_stream(h->name);
  if (i < 0) {
    for (i = 0; i < MAX_STREAMS && streams[i].used; i++) {}
    if (i == MAX_STREAMS) return reply(h, CREATE_STREAM_RESP, 0, F_SIZE_TOO_BIG);
    memset(&streams[i], 0, sizeof streams[i]);
    memcpy(streams[i].name, h->name, XLINK_NAME_LEN);
  }
  stream_t *s = &streams[i];
  if (s->capacity < size) {
    uint8_t *buffer = allocate(size);
    if (!buffer) return reply(h, CREATE_STREAM_RESP, 0, F_SIZE_TOO_BIG);
    s->buffer = buffer;
    s->capacity = size;
  }
  s->used = 1;
  s->closing = 0;
  s->read_size = size;
  s->write_size = 2 * size;
  int monitor = 1;
  for (int k = 0; k < (int)sizeof MONITOR; k++) if (h->name[k] != MONITOR[k]) monitor = 0;
  s->monitor = monitor;
  reply(h, CREATE_STREAM_RESP, (uint32_t)i, F_ACK);
  /* Our side of the stream, for what we write back. */
  enqueue(CREATE_STREAM_REQ, next_id++, h->name, (uint32_t)i, s->write_size, 0, 0, 0, -1, 0);
}

/* ---- the packet a host write brought */

typedef struct {
  uint32_t max_graphs, max_fifos, max_memory, max_executors;
  uint32_t fw_version[4];
  uint32_t mv_tensor_version[2];
} capabilities_t;
_Static_assert(sizeof(capabilities_t) == 40, "mvnc GET_CAPABILITIES reply");
static capabilities_t capabilities = {10, 20, 256u << 20, 1, {2, 0, 0, 0}, {1, 0}};
#define WATCHDOG_SECONDS 2u

static uint32_t watchdog_ticks(void) {
#if defined(MA2450)
  return WATCHDOG_SECONDS * 600000000u;
#else
  return WATCHDOG_SECONDS * 700000000u;
#endif
}

void xlink_watchdog_arm(void) {
  TIM0_SAFE_KEY = SAFE_KEY;
  TIM0_WATCHDOG_COUNT = watchdog_ticks();
  TIM0_SAFE_KEY = SAFE_KEY;
  TIM0_WATCHDOG_ENABLE = 1;
}

static void send_release(int index, uint32_t size) {
  enqueue(READ_REL_REQ, next_id++, streams[index].name, (uint32_t)index, size, 0, 0, 0, -1, 0);
}

static void try_echo(int index) {
  stream_t *s = &streams[index];
  if (!s->echo_pending || !queue_room()) return;
  if (s->remote_fill + s->packet > s->write_size) return; /* wait for the host to release */
  s->echo_pending = 0;
  s->remote_fill += s->packet;
  enqueue(WRITE_REQ, next_id++, s->name, (uint32_t)index, s->packet, 0, s->buffer, s->packet, index, 0);
}

static void packet(int index, uint32_t size) {
  stream_t *s = &streams[index];
  if (s->monitor) {
    uint32_t type = size >= 8 ? ((uint32_t *)s->buffer)[0] : ~0u;
    if (type == 1 && s->remote_fill + sizeof capabilities <= s->write_size) { /* GET_CAPABILITIES */
      s->remote_fill += sizeof capabilities;
      enqueue(WRITE_REQ, next_id++, s->name, (uint32_t)index, sizeof capabilities, 0, (const uint8_t *)&capabilities, sizeof capabilities, -1, 0);
    } else if (type == 4 && WATCHDOG_FLAG) { /* WATCHDOG_PING */
      xlink_watchdog_arm();
    }
    send_release(index, size);
    return;
  }
  s->packet = size;
  s->echo_pending = 1;
  try_echo(index);
}

/* The echo's payload is out: release the host's packet and free the buffer. */
static void echo_done(int index) {
  stream_t *s = &streams[index];
  send_release(index, s->packet);
  s->packet = 0;
  if (s->closing) s->used = 0;
}

/* ---- receiving */

enum { RX_HEADER, RX_PAYLOAD, RX_DISCARD, RX_GARBAGE, RX_WAIT_BUFFER };
static int rx_state;
static header_t rx;
static uint32_t rx_got, rx_left, rx_nack_flags;
static int rx_stream;
static uint8_t scratch[4096];
static int armed;

static void arm(void) {
  if (armed) return;
  switch (rx_state) {
    case RX_HEADER: usb_receive(&rx, sizeof rx); break;
    case RX_PAYLOAD: usb_receive(streams[rx_stream].buffer + rx_got, rx.size - rx_got); break;
    case RX_DISCARD: usb_receive(scratch, rx_left < sizeof scratch ? rx_left : sizeof scratch); break;
    case RX_GARBAGE: usb_receive(scratch, sizeof scratch); break;
    default: return; /* RX_WAIT_BUFFER: the payload stays NAKed */
  }
  armed = 1;
}

static void start_payload(void) {
  rx_got = 0;
  rx_state = RX_PAYLOAD;
  if (rx.size == 0) {
    rx_state = RX_HEADER;
    reply(&rx, WRITE_RESP, rx.stream_id, F_ACK);
    packet(rx_stream, 0);
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
        rx_nack_flags = flags;
        rx_left = h->size;
        rx_state = h->size ? RX_DISCARD : RX_HEADER;
        if (!h->size) reply(h, WRITE_RESP, h->stream_id, flags);
        return;
      }
      rx_stream = (int)h->stream_id;
      if (streams[rx_stream].packet) rx_state = RX_WAIT_BUFFER;
      else start_payload();
      return;
    }
    case READ_REL_REQ: {
      if (h->stream_id < MAX_STREAMS && streams[h->stream_id].used) {
        stream_t *s = &streams[h->stream_id];
        s->remote_fill -= h->size < s->remote_fill ? h->size : s->remote_fill;
        reply(h, READ_REL_RESP, h->stream_id, F_ACK);
        try_echo((int)h->stream_id);
      } else {
        reply(h, READ_REL_RESP, h->stream_id, F_NACK | F_NO_SUCH_STREAM);
      }
      return;
    }
    case CLOSE_STREAM_REQ: {
      if (h->stream_id >= MAX_STREAMS || !streams[h->stream_id].used) return reply(h, CLOSE_STREAM_RESP, h->stream_id, F_NACK | F_NO_SUCH_STREAM);
      stream_t *s = &streams[h->stream_id];
      if (s->packet) {
        s->closing = 1; /* data still queued here: nack now, close once it is gone */
        return reply(h, CLOSE_STREAM_RESP, h->stream_id, F_NACK);
      }
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
      packet(rx_stream, rx.size);
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
  heap = HEAP_START;
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
    if (rx_state == RX_WAIT_BUFFER && !streams[rx_stream].packet) start_payload();
    for (int i = 0; i < MAX_STREAMS; i++) if (streams[i].echo_pending) try_echo(i);
    /* Keep headers flowing only while there is room to answer them. */
    if (queue_tail - queue_head < QUEUE - 2) arm();
    pump_queue();
    if (reset_requested && !usb_sending()) reset_chip();
    if (count < 0) return;
  }
}
