/*
 * The graph runtime of the open firmware. A graph (docs/graph-format.md) is checked once, when it
 * is loaded: every section, record, tensor and constant must lie inside the file or inside the
 * memory it names, so that no stage can make a SHAVE write outside its output tensor. Shapes
 * and parameters beyond that are the compiler's (and the host-side reader's) business.
 *
 * An inference runs stage after stage. Each stage's output is split into shares (rows, groups of
 * 8 channels, or 8-lane vectors, as the stage says), one per SHAVE, as evenly as possible with
 * the larger shares first (emu/graph/stage-runner.ts shares() does the same). Each SHAVE gets a
 * job block in CMX (emu/graph/job.ts), starts at its kernel, and raises the SHAVE interrupt when
 * it halts; the main loop polls the runtime, which starts the next stage once every share is in.
 * A stage's time is its longest share's cycle count.
 */
#include "firmware.h"
#include "graph.h"

#define SHAVE_REG(n, offset) REG(SHAVE_BASE + (uint32_t)(n) * 0x10000u + (offset))
#define SHAVE_RESET 0x0000u
#define SHAVE_CONTROL 0x0004u
#define SHAVE_WINDOW(k) (0x0010u + 4u * (k))
#define SHAVE_OCR 0x1000u
#define SHAVE_OSR 0x1004u
#define SHAVE_PC 0x1024u
#define SHAVE_SWIH_CODE 0x1030u
#define SHAVE_CYCLES 0x1034u
#define SHAVE_BUNDLES 0x1038u
#define SHAVE_STALLS 0x103cu
#define SHAVE_UNIT_OPS 0x1040u
#define SHAVE_DDR_READ 0x1060u
#define SHAVE_CMX_READ 0x1068u
#define OCR_STOP (1u << 2)
#define OSR_SWIH (1u << 3)
#define OSR_ERROR (1u << 4)
#define CODE_WINDOW 0x1d000000u /* window B: kernels are assembled to run there */

#define MAX_STAGES 1024

static uint32_t jobs[SHAVE_COUNT][JOB_WORDS_TOTAL] __attribute__((aligned(64))); /* in CMX, with the firmware */

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static const shave_kernel_t *kernel_for(uint32_t type) {
  for (unsigned i = 0; i < shave_kernel_count; i++) if (shave_kernels[i].type == type) return &shave_kernels[i];
  return 0;
}

int graph_check_header(const uint8_t *b, uint32_t length) {
  if (length < GRAPH_HEADER_BYTES) return GRAPH_BAD_HEADER;
  const uint8_t *w = b + GRAPH_ELF_BYTES;
  if (rd32(w) == GRAPH_OPENVINO_MAGIC) return GRAPH_OPENVINO_BLOB;
  if (b[0] != 0x7f || b[1] != 'E' || b[2] != 'L' || b[3] != 'F' || b[4] != 1 || b[5] != 1) return GRAPH_BAD_HEADER;
  if (rd32(w) != GRAPH_MAGIC || rd32(w + 4 * GH_VER_MAJOR) != GRAPH_VERSION_MAJOR) return GRAPH_BAD_HEADER;
  if (rd32(w + 4 * GH_INPUTS_COUNT) != 1 || rd32(w + 4 * GH_OUTPUTS_COUNT) != 1 || rd32(w + 4 * GH_BATCH_SIZE) != 1) return GRAPH_UNSUPPORTED;
  uint32_t shaves = rd32(w + 4 * GH_SHAVES);
  if (shaves < 1 || shaves > 16) return GRAPH_UNSUPPORTED;
  if (rd32(w + 4 * GH_CMX_BYTES) > SHAVE_SCRATCH_BYTES) return GRAPH_NO_MEMORY;
  return GRAPH_OK;
}

/* a * b + c, or 0x80000000 (too large for any memory here) if it passes 2^31. */
static uint32_t mul_add(uint32_t a, uint32_t b, uint32_t c) {
  if (a && b > 0x7fffffffu / a) return 0x80000000u;
  uint32_t p = a * b;
  return p > 0x7fffffffu - c ? 0x80000000u : p + c;
}

/* Bytes from a tensor's first element to just past its last, or 0 if that passes 2^31. */
static uint32_t span(const tensor_ref_t *t) {
  uint32_t c8 = (t->c + 7) & ~7u;
  uint32_t last_channel = t->c_stride == 2 && t->x_stride == 2 * c8 ? c8 - 1 : t->c - 1;
  uint32_t s = mul_add(last_channel, t->c_stride, mul_add(t->h - 1, t->y_stride, mul_add(t->w - 1, t->x_stride, 2)));
  return s >= 0x80000000u ? 0 : s;
}

/* A tensor reference is sound: its location is one of `allowed` (bits), and it lies inside. */
static int tensor_ok(const tensor_ref_t *t, uint32_t allowed, const uint32_t *h) {
  if (t->location > TENSOR_BSS || !(allowed & (1u << t->location))) return 0;
  if (t->location == TENSOR_NONE) return t->offset == 0 && t->c == 0 && t->h == 0 && t->w == 0;
  if (!t->c || !t->h || !t->w || (t->offset | t->c_stride | t->y_stride | t->x_stride) & 1) return 0;
  uint32_t limit = t->location == TENSOR_INPUT ? h[GH_INPUTS_SIZE] : t->location == TENSOR_OUTPUT ? h[GH_OUTPUTS_SIZE] : h[GH_BSS_SIZE];
  /* Its elements fit their memory (so no count can wrap a span round), as the host's reader checks. */
  if (mul_add(mul_add(t->c, t->h, 0), t->w, 0) > limit / 2) return 0;
  if (t->location == TENSOR_BSS && (t->offset & 63)) return 0;
  uint32_t s = span(t);
  return s && t->offset <= limit && s <= limit - t->offset;
}

/* HWC8: what stages split by elements need of every operand (they treat it as dense vectors). */
static int hwc8(const tensor_ref_t *t) {
  uint32_t c8 = (t->c + 7) & ~7u;
  return t->location == TENSOR_NONE || (t->c_stride == 2 && t->x_stride == 2 * c8 && t->y_stride == t->w * t->x_stride);
}

static int const_ok(const const_ref_t *c, uint32_t const_bytes) {
  if (!c->size) return c->offset == 0;
  return !(c->offset & 63) && c->offset <= const_bytes && c->size <= const_bytes - c->offset;
}

static int section_ok(uint32_t offset, uint32_t bytes, uint32_t size) {
  return !(offset & 63) && offset >= GRAPH_HEADER_BYTES && offset <= size && bytes <= size - offset;
}

int graph_load(graph_t *g, uint8_t *blob, uint32_t size) {
  int status = graph_check_header(blob, size);
  if (status) return status;
  const uint32_t *h = (const uint32_t *)(blob + GRAPH_ELF_BYTES);
  if (h[GH_FILE_SIZE] != size) return GRAPH_BAD_LAYOUT;
  uint32_t stage_count = h[GH_STAGES_COUNT];
  if (stage_count < 1 || stage_count > MAX_STAGES) return GRAPH_UNSUPPORTED;
  if (!section_ok(h[GH_INPUT_INFO], INFO_BYTES, size) || !section_ok(h[GH_OUTPUT_INFO], INFO_BYTES, size) ||
      !section_ok(h[GH_STAGE_SECTION], STAGE_HEAD_BYTES, size) || !section_ok(h[GH_CONST_SECTION], 0, size) || (h[GH_BSS_SIZE] & 63))
    return GRAPH_BAD_LAYOUT;
  const tensor_ref_t *input = (const tensor_ref_t *)(blob + h[GH_INPUT_INFO]);
  const tensor_ref_t *output = (const tensor_ref_t *)(blob + h[GH_OUTPUT_INFO]);
  if (!tensor_ok(input, 1u << TENSOR_INPUT, h) || !tensor_ok(output, 1u << TENSOR_OUTPUT, h)) return GRAPH_BAD_LAYOUT;
  uint32_t const_bytes = size - h[GH_CONST_SECTION];

  const stage_t **stages = heap_alloc(stage_count * sizeof *stages);
  stage_profile_t *profile = heap_alloc(stage_count * sizeof *profile);
  if (!stages || !profile) {
    heap_free(stages);
    heap_free(profile);
    return GRAPH_NO_MEMORY;
  }
  uint32_t at = h[GH_STAGE_SECTION];
  status = GRAPH_OK;
  for (uint32_t i = 0; i < stage_count && !status; i++) {
    const stage_t *s = (const stage_t *)(blob + at);
    const shave_kernel_t *k;
    if (at > size || size - at < STAGE_HEAD_BYTES || s->record_size < STAGE_HEAD_BYTES || s->record_size > size - at || (s->record_size & 3))
      status = GRAPH_BAD_LAYOUT;
    else if (s->n_params > MAX_PARAMS || s->name_length < 1 || s->name_length > 64 ||
             STAGE_HEAD_BYTES + 4 * s->n_params + ((s->name_length + 3) & ~3u) != s->record_size)
      status = GRAPH_BAD_LAYOUT;
    else if (!(k = kernel_for(s->type)) || s->split > SPLIT_ELEMENTS || !(k->splits & (1u << s->split)) || s->n_inputs != k->inputs)
      status = GRAPH_UNSUPPORTED;
    else if (s->scratch_bytes > h[GH_CMX_BYTES])
      status = GRAPH_BAD_LAYOUT;
    else if (!tensor_ok(&s->in0, 1u << TENSOR_INPUT | 1u << TENSOR_BSS, h) ||
             !tensor_ok(&s->in1, s->n_inputs == 2 ? (1u << TENSOR_INPUT | 1u << TENSOR_BSS) : 1u << TENSOR_NONE, h) ||
             !tensor_ok(&s->out, 1u << TENSOR_OUTPUT | 1u << TENSOR_BSS, h) || !const_ok(&s->weights, const_bytes) || !const_ok(&s->bias, const_bytes))
      status = GRAPH_BAD_LAYOUT;
    else if (s->split == SPLIT_ELEMENTS && (!hwc8(&s->in0) || !hwc8(&s->in1) || !hwc8(&s->out)))
      status = GRAPH_BAD_LAYOUT;
    stages[i] = s;
    at += s->record_size;
  }
  if (status) {
    heap_free(stages);
    heap_free(profile);
    return status;
  }
  memset(profile, 0, stage_count * sizeof *profile);
  g->used = 1;
  g->blob = blob;
  g->size = size;
  g->header = h;
  g->stages = stages;
  g->profile = profile;
  g->bss = 0;
  g->stage_count = stage_count;
  g->shaves = h[GH_SHAVES] < SHAVE_COUNT ? h[GH_SHAVES] : SHAVE_COUNT;
  g->last_error = 0;
  return GRAPH_OK;
}

int graph_prepare(graph_t *g) {
  if (g->bss || !g->header[GH_BSS_SIZE]) return GRAPH_OK;
  g->bss = heap_alloc(g->header[GH_BSS_SIZE]);
  return g->bss ? GRAPH_OK : GRAPH_NO_MEMORY;
}

void graph_unload(graph_t *g) {
  if (!g->used) return;
  heap_free(g->stages);
  heap_free(g->profile);
  heap_free(g->bss);
  heap_free(g->blob);
  memset(g, 0, sizeof *g);
}

const tensor_ref_t *graph_input(const graph_t *g) { return (const tensor_ref_t *)(g->blob + g->header[GH_INPUT_INFO]); }
const tensor_ref_t *graph_output(const graph_t *g) { return (const tensor_ref_t *)(g->blob + g->header[GH_OUTPUT_INFO]); }
uint32_t graph_input_size(const graph_t *g) { return g->header[GH_INPUTS_SIZE]; }
uint32_t graph_output_size(const graph_t *g) { return g->header[GH_OUTPUTS_SIZE]; }

/* ---- running */

static struct {
  graph_t *graph;
  const uint8_t *input;
  uint8_t *output;
  uint32_t stage;
  uint32_t shares; /* SHAVEs running the current stage */
  uint32_t waiting; /* bit n: SHAVE n has not halted yet */
  int status;
  int profiling;
} run;

void runtime_profiling(int on) { run.profiling = on; }
int runtime_busy(void) { return run.graph != 0; }

static uint32_t units_of(const stage_t *s) {
  uint32_t c8 = (s->out.c + 7) & ~7u;
  switch (s->split) {
    case SPLIT_ROWS: return s->out.h;
    case SPLIT_CHANNELS: return c8 / 8;
    default: return c8 / 8 * s->out.h * s->out.w;
  }
}

static uint32_t resolve(const graph_t *g, const tensor_ref_t *t) {
  switch (t->location) {
    case TENSOR_INPUT: return (uint32_t)run.input + t->offset;
    case TENSOR_OUTPUT: return (uint32_t)run.output + t->offset;
    case TENSOR_BSS: return (uint32_t)g->bss + t->offset;
    default: return 0;
  }
}

static void describe(uint32_t *job, const graph_t *g, const tensor_ref_t *t) {
  job[TENSOR_ADDRESS] = resolve(g, t);
  job[TENSOR_C] = t->c;
  job[TENSOR_H] = t->h;
  job[TENSOR_W] = t->w;
  job[TENSOR_C_STRIDE] = t->c_stride;
  job[TENSOR_Y_STRIDE] = t->y_stride;
  job[TENSOR_X_STRIDE] = t->x_stride;
  job[7] = 0;
}

static void start_stage(void) {
  graph_t *g = run.graph;
  const stage_t *s = g->stages[run.stage];
  const shave_kernel_t *k = kernel_for(s->type);
  uint32_t units = units_of(s);
  uint32_t n = g->shaves < units ? g->shaves : units;
  uint32_t base = units / n, extra = units % n, first = 0;
  const uint8_t *constants = g->blob + g->header[GH_CONST_SECTION];
  stage_profile_t *p = &g->profile[run.stage];
  memset(p, 0, sizeof *p);
  p->shaves = n;
  run.shares = n;
  run.waiting = 0;
  for (uint32_t core = 0; core < n; core++) {
    uint32_t count = base + (core < extra ? 1 : 0);
    uint32_t *job = jobs[core];
    memset(job, 0, sizeof jobs[core]);
    describe(job + JOB_IN0, g, &s->in0);
    describe(job + JOB_IN1, g, &s->in1);
    describe(job + JOB_OUT, g, &s->out);
    job[JOB_WEIGHTS] = s->weights.size ? (uint32_t)(constants + s->weights.offset) : 0;
    job[JOB_BIAS] = s->bias.size ? (uint32_t)(constants + s->bias.offset) : 0;
    job[JOB_FIRST] = first;
    job[JOB_COUNT] = count;
    job[JOB_SCRATCH] = SHAVE_SCRATCH_BASE + core * SHAVE_SCRATCH_BYTES;
    job[JOB_SCRATCH_BYTES] = SHAVE_SCRATCH_BYTES;
    for (uint32_t i = 0; i < s->n_params; i++) job[JOB_PARAMS + i] = s->params[i];
    first += count;
    SHAVE_REG(core, SHAVE_RESET) = 1;
    SHAVE_REG(core, SHAVE_WINDOW(0)) = job[JOB_SCRATCH];
    SHAVE_REG(core, SHAVE_WINDOW(1)) = (uint32_t)(shave_code + k->offset);
    SHAVE_REG(core, 0x1180u + 4u * 18) = (uint32_t)job;
    SHAVE_REG(core, SHAVE_PC) = CODE_WINDOW;
    SHAVE_REG(core, SHAVE_CONTROL) = 1; /* the interrupt when it halts */
    SHAVE_REG(core, SHAVE_OCR) = 0;     /* go */
    run.waiting |= 1u << core;
  }
}

int runtime_start(graph_t *g, const uint8_t *input, uint8_t *output) {
  if (run.graph || (g->header[GH_BSS_SIZE] && !g->bss)) return 0;
  run.graph = g;
  run.input = input;
  run.output = output;
  run.stage = 0;
  run.status = GRAPH_OK;
  start_stage();
  return 1;
}

/* Takes in a halted share; returns 0 if it failed. */
static int collect(uint32_t core, stage_profile_t *p) {
  uint32_t osr = SHAVE_REG(core, SHAVE_OSR);
  int ok = !(osr & OSR_ERROR) && SHAVE_REG(core, SHAVE_SWIH_CODE) == 0;
  uint32_t cycles = SHAVE_REG(core, SHAVE_CYCLES);
  if (cycles > p->cycles) p->cycles = cycles;
  if (run.profiling) {
    p->bundles += SHAVE_REG(core, SHAVE_BUNDLES);
    p->stalls += SHAVE_REG(core, SHAVE_STALLS);
    for (int u = 0; u < 8; u++) p->unit_ops[u] += SHAVE_REG(core, SHAVE_UNIT_OPS + 4u * u);
    p->ddr_bytes += SHAVE_REG(core, SHAVE_DDR_READ) + SHAVE_REG(core, SHAVE_DDR_READ + 4);
    p->cmx_bytes += SHAVE_REG(core, SHAVE_CMX_READ) + SHAVE_REG(core, SHAVE_CMX_READ + 4);
  }
  SHAVE_REG(core, SHAVE_OSR) = OSR_SWIH | OSR_ERROR; /* acknowledged: its interrupt drops */
  return ok;
}

int runtime_poll(int *status) {
  graph_t *g = run.graph;
  if (!g) return 0;
  stage_profile_t *p = &g->profile[run.stage];
  for (uint32_t core = 0; core < run.shares; core++) {
    if (!(run.waiting & (1u << core))) continue;
    if (!(SHAVE_REG(core, SHAVE_OSR) & (OSR_SWIH | OSR_ERROR))) continue;
    run.waiting &= ~(1u << core);
    if (!collect(core, p)) run.status = GRAPH_KERNEL_FAILED;
  }
  if (run.waiting) return 1;
  if (run.status == GRAPH_OK && ++run.stage < g->stage_count) {
    start_stage();
    return 1;
  }
  if (run.status) g->last_error = run.stage;
  *status = run.status;
  run.graph = 0;
  return 0;
}

void runtime_reset(void) {
  for (uint32_t core = 0; core < SHAVE_COUNT; core++) if (run.waiting & (1u << core)) SHAVE_REG(core, SHAVE_OCR) = OCR_STOP;
  int profiling = run.profiling;
  memset(&run, 0, sizeof run);
  run.profiling = profiling;
}
