/*
 * mvnc's device side (myriad-facts.md 4a): the deviceMonitor, graphMonitor, graphBuffer<id> and
 * FIFO<id> streams, as OpenVINO 2021.4's host library drives them (84-byte XLink headers) or, in
 * the 36-byte build, as NCSDK2's does. Both flavours share the graphs, the FIFOs and the queue
 * of inferences; they differ in how commands and replies are laid out.
 *
 * Every command is answered, whatever it holds: an unknown graph or FIFO, a bad blob, an element
 * of the wrong size, no memory, all get a status and the firmware goes on serving. A command
 * whose replies cannot be queued yet (the host has not read earlier ones, or the graph it
 * deallocates is still running) stays on its stream, unreleased, and is tried again from the
 * main loop; the host's next write waits behind it, as on the real stick.
 */
#include "firmware.h"
#include "graph.h"

#if XLINK_NAME_LEN == 16
#define NCSDK2 1
#else
#define NCSDK2 0
#endif

#define MAX_GRAPHS 10
#define MAX_FIFOS 20
#define MAX_EXECUTORS 2
#define QUEUE_LENGTH 16
#define DEBUG_BYTES 120

/* mvnc's device status codes (OpenVINO's ncMvNCIErrorCode_t): what graphMonitor answers. */
enum {
  MVNCI_SUCCESS = 0,
  MVNCI_NULL_PARAM = 1,
  MVNCI_UNSUPPORTED_NETWORK_ELEMENT = 3,
  MVNCI_INVALID_HANDLE = 4,
  MVNCI_OUT_OF_RESOURCES = 5,
  MVNCI_NOT_IMPLEMENTED = 6,
  MVNCI_INTERNAL_ERROR = 9,
  MVNCI_OUT_OF_MEMORY = 10,
};
/* NCSDK2's graph status, first on graphBuffer after ALLOCATE. */
enum { NC_GRAPH_OK = 0, NC_GRAPH_WRONG_INPUT_FORMAT = 1, NC_GRAPH_MYRIAD_ERROR = 2 };

typedef enum { SLOT_FREE, SLOT_VERIFYING, SLOT_ALLOCATING, SLOT_READY } slot_state_t;

typedef struct {
  slot_state_t state;
  uint32_t id;
  char stream[XLINK_NAME_LEN]; /* graphBuffer<id> */
  int load_status;
  graph_t graph;
  /* Replies that must outlive the command: descriptors, timings, the debug text. */
  uint32_t descriptors[2][8];
  uint32_t nstages;
  uint32_t blob_version[2];
  uint32_t graph_status;
  float *timings; /* nstages + 2: per stage, receiving the input, the whole inference (ms) */
  char debug[DEBUG_BYTES];
  uint32_t queued; /* inferences queued or running */
  uint32_t started_low; /* TIM0 at the start of the running inference */
} graph_slot_t;

typedef struct {
  int used;
  uint32_t id;
  char name[XLINK_NAME_LEN];
  uint32_t elements, element_size;
  int host_writes; /* 1: the host writes elements (input), 0: it reads them (output) */
  int stream;
  uint8_t *element; /* output FIFOs: where the result is written, then sent from */
  uint32_t queued;
  int stopped; /* the host wrote 0xdead: no more elements */
} fifo_t;

typedef struct {
  graph_slot_t *graph;
  fifo_t *in, *out;
} inference_t;

static graph_slot_t graphs[MAX_GRAPHS];
static fifo_t fifos[MAX_FIFOS];
static inference_t queue[QUEUE_LENGTH];
static unsigned queue_head, queue_tail;
static inference_t *running;
static int32_t statuses[32];
static unsigned next_status;
static int deferred[4]; /* streams whose packet waits to be handled again, +1 (0: none) */

/* ---- small helpers */

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static int starts_with(const char *name, const char *prefix) {
  while (*prefix) if (*name++ != *prefix++) return 0;
  return 1;
}

static int same(const char *a, const char *b, int n) {
  for (int i = 0; i < n; i++) {
    if (a[i] != b[i]) return 0;
    if (!a[i]) return 1;
  }
  return 1;
}

static void copy_name(char *to, const uint8_t *from, int n) {
  for (int i = 0; i < n; i++) to[i] = (char)from[i];
  to[n - 1] = 0;
}

static void text(char *to, const char *a, uint32_t value) {
  int i = 0;
  memset(to, 0, DEBUG_BYTES);
  while (*a && i < DEBUG_BYTES - 12) to[i++] = *a++;
  for (int shift = 28; shift >= 0; shift -= 4) to[i++] = "0123456789abcdef"[(value >> shift) & 15];
}

/* Queues an int32 status on a stream (its storage lives in a ring long enough for any host). */
static void reply_status(int stream, int32_t status) {
  int32_t *slot = &statuses[next_status++ % (sizeof statuses / sizeof statuses[0])];
  *slot = status;
  xlink_write(stream, slot, 4);
}

static graph_slot_t *graph_by_id(uint32_t id) {
  for (int i = 0; i < MAX_GRAPHS; i++) if (graphs[i].state != SLOT_FREE && graphs[i].id == id) return &graphs[i];
  return 0;
}

static fifo_t *fifo_by_id(uint32_t id) {
  for (int i = 0; i < MAX_FIFOS; i++) if (fifos[i].used && fifos[i].id == id) return &fifos[i];
  return 0;
}

static int status_of(int graph_status) {
  switch (graph_status) {
    case GRAPH_OK: return MVNCI_SUCCESS;
    case GRAPH_NO_MEMORY: return MVNCI_OUT_OF_MEMORY;
    case GRAPH_KERNEL_FAILED: return MVNCI_INTERNAL_ERROR;
    default: return MVNCI_UNSUPPORTED_NETWORK_ELEMENT;
  }
}

static const char *why(int graph_status) {
  switch (graph_status) {
    case GRAPH_OK: return "ok";
    case GRAPH_BAD_HEADER: return "not a myriad-emu graph (bad header or version) ";
    case GRAPH_OPENVINO_BLOB: return "an OpenVINO compiled blob (magic 9709): not supported ";
    case GRAPH_BAD_LAYOUT: return "graph layout: an offset or size outside the file ";
    case GRAPH_UNSUPPORTED: return "graph: a stage type or shape this firmware cannot run ";
    case GRAPH_NO_MEMORY: return "out of memory for the graph ";
    case GRAPH_BAD_INPUT: return "an input element of another size than the graph's input, bytes ";
    default: return "a SHAVE kernel failed in stage ";
  }
}

/* ---- deviceMonitor */

typedef struct {
  uint32_t max_graphs, max_fifos, max_memory;
#if NCSDK2
  uint32_t max_device_opt_class, max_graph_opt_class;
#endif
  uint32_t max_executors;
  uint32_t fw_version[4];
  uint32_t mv_tensor_version[2];
} capabilities_t;
_Static_assert(sizeof(capabilities_t) == (NCSDK2 ? 48 : 40), "mvnc CAPABILITIES reply");

#if defined(MA2450)
#define FW_PLATFORM 0x2450u
#else
#define FW_PLATFORM 0x2480u
#endif
static capabilities_t capabilities;
static uint32_t thermal[26]; /* the throttling level, then 100 bytes of temperatures */
static uint32_t used_memory;

#define WATCHDOG_SECONDS 2u

void watchdog_arm(void) {
  TIM0_SAFE_KEY = SAFE_KEY;
  TIM0_WATCHDOG_COUNT = WATCHDOG_SECONDS * CLOCK_HZ;
  TIM0_SAFE_KEY = SAFE_KEY;
  TIM0_WATCHDOG_ENABLE = 1;
}

static void device_command(int stream, const uint8_t *data, uint32_t size) {
#if NCSDK2
  enum { THERMAL = 1, CAPABILITIES = 2, USED_MEMORY = 3 };
  if (size < 12 || rd32(data + 4) != 0) return; /* only class 0 has queries */
#else
  enum { THERMAL = 0, CAPABILITIES = 1, USED_MEMORY = 2, WATCHDOG_PING = 4 };
  if (size < 8) return;
#endif
  switch (rd32(data)) {
    case CAPABILITIES:
      capabilities.max_memory = heap_capacity();
      xlink_write(stream, &capabilities, sizeof capabilities);
      return;
    case THERMAL:
      xlink_write(stream, thermal, 104);
      return;
    case USED_MEMORY:
      used_memory = heap_used();
      xlink_write(stream, &used_memory, 4);
      return;
#if !NCSDK2
    case WATCHDOG_PING:
      if (WATCHDOG_FLAG) watchdog_arm();
      return;
#endif
    default:
      return; /* SET_POWER_CONFIG, ENABLE_ASYNC_DMA, stdio redirection: nothing to answer */
  }
}

/* ---- graphs */

static void describe_tensor(uint32_t *d, const tensor_ref_t *t, uint32_t total) {
  d[0] = 1; /* n */
  d[1] = t->c;
  d[2] = t->w;
  d[3] = t->h;
  d[4] = total;
  d[5] = t->x_stride; /* NCSDK2's widthStride, heightStride, channelsStride */
  d[6] = t->y_stride;
  d[7] = t->c_stride;
}

static void free_slot(graph_slot_t *s) {
  graph_unload(&s->graph);
  heap_free(s->timings);
  memset(s, 0, sizeof *s);
}

/* The blob has arrived on graphBuffer: load it and tell the host what it holds. */
static void graph_arrived(graph_slot_t *s, int stream, uint32_t size) {
  uint8_t *blob = xlink_take_buffer(stream);
  heap_shrink(blob, size); /* the stream's ring was twice the blob */
  int status = blob ? graph_load(&s->graph, blob, size) : GRAPH_NO_MEMORY;
  if (status == GRAPH_OK) {
    s->timings = heap_alloc(4 * (s->graph.stage_count + 2));
    if (!s->timings) {
      graph_unload(&s->graph);
      blob = 0;
      status = GRAPH_NO_MEMORY;
    }
  }
  if (status != GRAPH_OK) heap_free(blob);
#if NCSDK2
  if (status == GRAPH_OK) status = graph_prepare(&s->graph); /* NCSDK2 has no ALLOCATION_VERIFY */
#endif
  s->load_status = status;
  s->state = status == GRAPH_OK ? SLOT_READY : SLOT_ALLOCATING;
  text(s->debug, why(status), 0);
  if (status == GRAPH_OK) {
    memset(s->timings, 0, 4 * (s->graph.stage_count + 2));
    describe_tensor(s->descriptors[0], graph_input(&s->graph), graph_input_size(&s->graph));
    describe_tensor(s->descriptors[1], graph_output(&s->graph), graph_output_size(&s->graph));
    s->nstages = s->graph.stage_count;
    s->blob_version[0] = GRAPH_VERSION_MAJOR;
    s->blob_version[1] = s->graph.header[GH_VER_MINOR];
  }
  int monitor = xlink_find_stream("graphMonitor");
#if NCSDK2
  s->graph_status = status == GRAPH_OK ? NC_GRAPH_OK : status == GRAPH_NO_MEMORY ? NC_GRAPH_MYRIAD_ERROR : NC_GRAPH_WRONG_INPUT_FORMAT;
  xlink_write(stream, &s->graph_status, 4);
  if (status == GRAPH_OK) {
    xlink_write(stream, s->descriptors[0], 32);
    xlink_write(stream, s->descriptors[1], 32);
    xlink_write(stream, &s->nstages, 4);
    xlink_write(stream, s->blob_version, 8);
  }
#else
  /* OpenVINO reads three packets whatever happened. */
  if (status != GRAPH_OK) memset(s->descriptors, 0, sizeof s->descriptors); /* read as "no graph" */
  xlink_write(stream, s->descriptors[0], 20);
  xlink_write(stream, s->descriptors[1], 20);
  xlink_write(stream, &s->nstages, 4);
#endif
  if (monitor >= 0) reply_status(monitor, status_of(status));
}

/* A packet on graphBuffer<id>: VERIFY's header, or ALLOCATE's blob. */
static int graph_buffer_packet(int stream, const char *name, const uint8_t *data, uint32_t size) {
  graph_slot_t *s = 0;
  for (int i = 0; i < MAX_GRAPHS; i++)
    if ((graphs[i].state == SLOT_VERIFYING || graphs[i].state == SLOT_ALLOCATING) && same(graphs[i].stream, name, XLINK_NAME_LEN)) s = &graphs[i];
  int monitor = xlink_find_stream("graphMonitor");
  if (!s || monitor < 0) {
    xlink_release(stream); /* nobody asked for it */
    return 1;
  }
  if (xlink_write_room(stream) < 5 || xlink_write_room(monitor) < 1) return 0; /* NCSDK2 answers with five packets */
  if (s->state == SLOT_VERIFYING) {
    int status = graph_check_header(data, size);
    text(s->debug, why(status), 0);
    xlink_release(stream);
    reply_status(monitor, status_of(status));
    s->state = SLOT_ALLOCATING; /* the blob comes next, after ALLOCATE */
    s->load_status = -1;
    return 1;
  }
  if (s->load_status != -1) { /* a second blob for an allocated slot: refuse it */
    xlink_release(stream);
    return 1;
  }
  graph_arrived(s, stream, size);
  return 1;
}

static graph_slot_t *new_slot(uint32_t id, const uint8_t *stream_name, int name_bytes) {
  graph_slot_t *s = graph_by_id(id);
  if (s && s->state == SLOT_READY) return 0; /* already allocated */
  if (!s) for (int i = 0; i < MAX_GRAPHS && !s; i++) if (graphs[i].state == SLOT_FREE) s = &graphs[i];
  /* A slot whose allocation failed is the host's to deallocate, but a host that never does must
   * not run the table out: reuse the oldest such slot. */
  if (!s) for (int i = 0; i < MAX_GRAPHS && !s; i++) if (graphs[i].state == SLOT_ALLOCATING && graphs[i].load_status > 0) s = &graphs[i];
  if (!s) return 0;
  free_slot(s);
  s->id = id;
  copy_name(s->stream, stream_name, name_bytes);
  s->state = SLOT_VERIFYING;
  s->load_status = -1;
  return s;
}

/* TRIGGER: queue an inference of graph `id` from FIFO `in` into FIFO `out`. */
static int32_t trigger(uint32_t id, uint32_t in_id, uint32_t out_id) {
  graph_slot_t *g = graph_by_id(id);
  fifo_t *in = fifo_by_id(in_id), *out = fifo_by_id(out_id);
  if (!g || g->state != SLOT_READY || !in || !out || !in->host_writes || out->host_writes) return MVNCI_INVALID_HANDLE;
  if (queue_tail - queue_head == QUEUE_LENGTH) return MVNCI_OUT_OF_RESOURCES;
  if (in->element_size != graph_input_size(&g->graph) || out->element_size < graph_output_size(&g->graph)) return MVNCI_UNSUPPORTED_NETWORK_ELEMENT;
  if (g->graph.header[GH_BSS_SIZE] && !g->graph.bss) return MVNCI_OUT_OF_MEMORY;
  uint32_t size;
  if (in->stream >= 0 && xlink_packet(in->stream, &size) && size != in->element_size && !in->queued) {
    text(g->debug, why(GRAPH_BAD_INPUT), size);
    xlink_release(in->stream); /* dropped: no inference will take it */
    return MVNCI_UNSUPPORTED_NETWORK_ELEMENT;
  }
  queue[queue_tail++ % QUEUE_LENGTH] = (inference_t){g, in, out};
  g->queued++;
  in->queued++;
  out->queued++;
  return MVNCI_SUCCESS;
}

static void fifo_allocate(int monitor, uint32_t id, const uint8_t *name, int name_bytes, uint32_t elements, uint32_t total, int host_writes) {
  fifo_t *f = fifo_by_id(id);
  if (f || !elements || !total || elements > 64) return reply_status(monitor, f ? MVNCI_INVALID_HANDLE : MVNCI_NULL_PARAM);
  for (int i = 0; i < MAX_FIFOS && !f; i++) if (!fifos[i].used) f = &fifos[i];
  if (!f) return reply_status(monitor, MVNCI_OUT_OF_RESOURCES);
  memset(f, 0, sizeof *f);
  copy_name(f->name, name, name_bytes);
  f->id = id;
  f->elements = elements;
  f->element_size = total;
  f->host_writes = host_writes;
  f->stream = xlink_find_stream(f->name);
  if (!host_writes) {
    f->element = heap_alloc(total);
    f->stream = xlink_open_stream(f->name, elements * ((total + 63) & ~63u));
    if (!f->element || f->stream < 0) {
      heap_free(f->element);
      f->used = 0;
      return reply_status(monitor, MVNCI_OUT_OF_MEMORY);
    }
  }
  f->used = 1;
  reply_status(monitor, MVNCI_SUCCESS);
}

/* Returns 0 if the command must wait (an inference still uses what it frees). */
static int fifo_deallocate(int monitor, uint32_t id) {
  fifo_t *f = fifo_by_id(id);
  if (!f) {
    reply_status(monitor, MVNCI_INVALID_HANDLE);
    return 1;
  }
  if (f->queued || (!f->host_writes && f->stream >= 0 && xlink_write_pending(f->stream))) return 0;
  if (f->host_writes && f->stream >= 0) xlink_release(f->stream); /* an element nobody triggered */
  heap_free(f->element);
  memset(f, 0, sizeof *f);
  reply_status(monitor, MVNCI_SUCCESS);
  return 1;
}

static int graph_deallocate(int monitor, uint32_t id) {
  graph_slot_t *g = graph_by_id(id);
  if (!g) {
    reply_status(monitor, MVNCI_INVALID_HANDLE);
    return 1;
  }
  if (g->queued) return 0;
  free_slot(g);
  reply_status(monitor, MVNCI_SUCCESS);
  return 1;
}

/* Ours, beyond mvnc: what each stage cost on the last run (graph.h stage_profile_t), and whether
 * the runtime reads the detailed counters at all (they cost bus reads, so they are off until a
 * host asks). Real hosts never send these. */
#define PROFILE_COMMAND 100u
#define SET_PROFILING_COMMAND 101u

static void graph_query(int monitor, uint32_t id, int what) {
  enum { TIMING, DEBUG, STATE, PROFILE = PROFILE_COMMAND };
  graph_slot_t *g = graph_by_id(id);
  static uint32_t state;
  if (!g) return reply_status(monitor, MVNCI_INVALID_HANDLE);
  switch (what) {
    case TIMING:
      if (g->state != SLOT_READY) return reply_status(monitor, MVNCI_INVALID_HANDLE);
      xlink_write(monitor, g->timings, 4 * (g->graph.stage_count + (NCSDK2 ? 0 : 2)));
      break;
    case DEBUG:
      xlink_write(monitor, g->debug, DEBUG_BYTES);
      break;
    case PROFILE:
      if (g->state != SLOT_READY) return reply_status(monitor, MVNCI_INVALID_HANDLE);
      xlink_write(monitor, g->graph.profile, g->graph.stage_count * sizeof(stage_profile_t));
      break;
    default:
      state = g->queued ? 1 : 0;
      xlink_write(monitor, &state, 4);
      break;
  }
  reply_status(monitor, MVNCI_SUCCESS);
}

/* A graphMonitor command. Returns 0 if it must wait and be handled again. */
static int graph_command(int monitor, const uint8_t *c, uint32_t size) {
  if (xlink_write_room(monitor) < 2) return 0;
#if NCSDK2
  enum { GRAPH_CMD = 0, BUFFER_CMD = 1, GET_CLASS0 = 2, SET_CLASS0 = 6 };
  if (size < 76) return reply_status(monitor, MVNCI_NULL_PARAM), 1;
  uint32_t type = rd32(c + 4);
  switch (rd32(c)) {
    case GRAPH_CMD:
      switch (type) {
        case 0: /* ALLOCATE: the blob follows on graphBuffer; the replies go there */
          if (!new_slot(rd32(c + 8), c + 12, 16)) reply_status(monitor, MVNCI_OUT_OF_RESOURCES);
          else graph_by_id(rd32(c + 8))->state = SLOT_ALLOCATING;
          return 1;
        case 1: return graph_deallocate(monitor, rd32(c + 8));
        case 2: return reply_status(monitor, trigger(rd32(c + 8), rd32(c + 28), rd32(c + 32))), 1;
      }
      break;
    case BUFFER_CMD:
      if (type == 0) return fifo_allocate(monitor, rd32(c + 24), c + 8, 16, rd32(c + 28), rd32(c + 32 + 16), c[65]), 1;
      if (type == 1) return fifo_deallocate(monitor, rd32(c + 24));
      break;
    case GET_CLASS0:
      if (type <= 2 || type == PROFILE_COMMAND) return graph_query(monitor, rd32(c + 8), (int)type), 1;
      break;
    case SET_CLASS0:
      if (type != SET_PROFILING_COMMAND) break;
      runtime_profiling(rd32(c + 8) != 0);
      return reply_status(monitor, MVNCI_SUCCESS), 1;
  }
  reply_status(monitor, MVNCI_NOT_IMPLEMENTED);
  return 1;
#else
  enum { ALLOCATE, DEALLOCATE, TRIGGER, VERIFY, ALLOCATION_VERIFY, BUFFER_ALLOCATE, BUFFER_DEALLOCATE, GET_TIMING, GET_DEBUG };
  if (size < 8) return reply_status(monitor, MVNCI_NULL_PARAM), 1;
  uint32_t type = rd32(c), id = rd32(c + 4);
  int long_form = type == ALLOCATE || type == DEALLOCATE || type == TRIGGER || type == VERIFY || type == ALLOCATION_VERIFY;
  if ((long_form && size < 84) || (type == BUFFER_ALLOCATE && size < 98)) return reply_status(monitor, MVNCI_NULL_PARAM), 1;
  graph_slot_t *g;
  switch (type) {
    case VERIFY: /* the header follows on graphBuffer<id>; the status is answered then */
      if (!new_slot(id, c + 8, 64)) reply_status(monitor, MVNCI_OUT_OF_RESOURCES);
      return 1;
    case ALLOCATE:
      g = graph_by_id(id);
      if (!g || g->state != SLOT_ALLOCATING || g->load_status != -1) reply_status(monitor, MVNCI_INVALID_HANDLE);
      return 1; /* otherwise answered when the blob is in */
    case ALLOCATION_VERIFY:
      g = graph_by_id(id);
      if (!g || g->state != SLOT_READY) return reply_status(monitor, g ? status_of(g->load_status) : MVNCI_INVALID_HANDLE), 1;
      if (graph_prepare(&g->graph)) text(g->debug, why(GRAPH_NO_MEMORY), 0);
      return reply_status(monitor, g->graph.header[GH_BSS_SIZE] && !g->graph.bss ? MVNCI_OUT_OF_MEMORY : MVNCI_SUCCESS), 1;
    case DEALLOCATE: return graph_deallocate(monitor, id);
    case TRIGGER: return reply_status(monitor, trigger(id, rd32(c + 72), rd32(c + 76))), 1;
    case BUFFER_ALLOCATE: return fifo_allocate(monitor, id, c + 8, 64, rd32(c + 72), rd32(c + 76 + 16), c[97]), 1;
    case BUFFER_DEALLOCATE: return fifo_deallocate(monitor, id);
    case GET_TIMING: return graph_query(monitor, id, 0), 1;
    case GET_DEBUG: return graph_query(monitor, id, 1), 1;
    case PROFILE_COMMAND: return graph_query(monitor, id, PROFILE_COMMAND), 1;
    case SET_PROFILING_COMMAND:
      runtime_profiling(id != 0);
      return reply_status(monitor, MVNCI_SUCCESS), 1;
  }
  reply_status(monitor, MVNCI_NOT_IMPLEMENTED);
  return 1;
#endif
}

/* ---- FIFOs and the queue of inferences */

static int fifo_packet(int stream, const char *name, const uint8_t *data, uint32_t size) {
  fifo_t *f = 0;
  for (int i = 0; i < MAX_FIFOS; i++) if (fifos[i].used && fifos[i].host_writes && same(fifos[i].name, name, XLINK_NAME_LEN)) f = &fifos[i];
  if (!f || ((size == 4 || size == 8) && rd32(data) == 0xdead)) {
    if (f) f->stopped = 1; /* ncFifoDestroy's stop word */
    xlink_release(stream);
    return 1;
  }
  f->stream = stream;
  return 1; /* held until an inference has used it */
}

static void finish(int status) {
  inference_t *r = running;
  graph_slot_t *g = r->graph;
  uint32_t size = 0;
  xlink_packet(r->in->stream, &size);
  float per_ms = 1000.0f / (float)CLOCK_HZ;
  for (uint32_t i = 0; i < g->graph.stage_count; i++) g->timings[i] = (float)g->graph.profile[i].cycles * per_ms;
#if !NCSDK2
  float stages_ms = 0;
  for (uint32_t i = 0; i < g->graph.stage_count; i++) stages_ms += g->timings[i];
  float total = (float)(TIM0_FREE_LOW - g->started_low) * per_ms;
  g->timings[g->graph.stage_count] = total > stages_ms ? total - stages_ms : 0; /* the runtime's own time */
  g->timings[g->graph.stage_count + 1] = total;
#endif
  if (status == GRAPH_BAD_INPUT) text(g->debug, why(status), size);
  else if (status) text(g->debug, why(status), g->graph.last_error);
  xlink_release(r->in->stream);
  xlink_write(r->out->stream, r->out->element, graph_output_size(&g->graph));
  g->queued--;
  r->in->queued--;
  r->out->queued--;
  running = 0;
}

/* Starts the oldest queued inference once its input is in and its output element is free. */
static void start_next(void) {
  if (running || queue_head == queue_tail) return;
  inference_t *r = &queue[queue_head % QUEUE_LENGTH];
  uint32_t size = 0;
  const uint8_t *input = r->in->stream >= 0 ? xlink_packet(r->in->stream, &size) : 0;
  if (!input || xlink_write_pending(r->out->stream) || xlink_write_room(r->out->stream) < 1) return;
  queue_head++;
  running = r;
  r->graph->started_low = TIM0_FREE_LOW;
  if (size != r->in->element_size) return finish(GRAPH_BAD_INPUT);
  if (!runtime_start(&r->graph->graph, input, r->out->element)) finish(GRAPH_NO_MEMORY);
}

/* ---- the service entry points xlink.c calls */

static int handle(int index, const char *name, uint8_t *data, uint32_t size) {
  if (same(name, "deviceMonitor", XLINK_NAME_LEN)) {
    if (xlink_write_room(index) < 1) return 0;
    device_command(index, data, size);
    xlink_release(index);
    return 1;
  }
  if (same(name, "graphMonitor", XLINK_NAME_LEN)) {
    if (!graph_command(index, data, size)) return 0;
    xlink_release(index);
    return 1;
  }
  if (starts_with(name, "graphBuffer")) return graph_buffer_packet(index, name, data, size);
  if (starts_with(name, "FIFO")) return fifo_packet(index, name, data, size);
  return -1; /* not mvnc's: echo */
}

int service_packet(int index, const char *name, uint8_t *data, uint32_t size) {
  int done = handle(index, name, data, size);
  if (done < 0) return 0;
  if (!done)
    for (unsigned i = 0; i < sizeof deferred / sizeof deferred[0]; i++)
      if (!deferred[i]) {
        deferred[i] = index + 1;
        break;
      }
  return 1;
}

void service_poll(void) {
  for (unsigned i = 0; i < sizeof deferred / sizeof deferred[0]; i++) {
    if (!deferred[i]) continue;
    int index = deferred[i] - 1;
    uint32_t size = 0;
    uint8_t *data = (uint8_t *)xlink_packet(index, &size);
    if (!data) { /* gone with a reset or a close */
      deferred[i] = 0;
      continue;
    }
    if (handle(index, xlink_stream_name(index), data, size)) deferred[i] = 0;
  }
  int status;
  if (running && !runtime_poll(&status)) finish(status);
  start_next();
}

void service_reset(void) {
  runtime_reset();
  memset(graphs, 0, sizeof graphs);
  memset(fifos, 0, sizeof fifos);
  memset(deferred, 0, sizeof deferred);
  queue_head = queue_tail = 0;
  running = 0;
  capabilities = (capabilities_t){
    .max_graphs = MAX_GRAPHS,
    .max_fifos = MAX_FIFOS,
#if NCSDK2
    .max_device_opt_class = 0,
    .max_graph_opt_class = 0,
#endif
    .max_executors = MAX_EXECUTORS,
    .fw_version = {1, FW_PLATFORM, 0, 0},
    .mv_tensor_version = {1, 0},
  };
}
