/* The graph runtime: checks a myriad-emu graph (docs/graph-format.md) and runs it on the SHAVEs. */
#ifndef GRAPH_H
#define GRAPH_H
#include <stdint.h>
#include "graph_abi.h"

typedef struct {
  uint32_t location, offset, c, h, w, c_stride, y_stride, x_stride;
} tensor_ref_t;

typedef struct {
  uint32_t offset, size;
} const_ref_t;

typedef struct {
  uint32_t type, record_size, split, scratch_bytes, n_inputs, n_params, name_length, reserved;
  tensor_ref_t in0, in1, out;
  const_ref_t weights, bias;
  uint32_t params[];
} stage_t;
_Static_assert(sizeof(stage_t) == STAGE_HEAD_BYTES, "stage record head");

/* What a stage cost on its last run, summed over its shares (cycles: the longest share). */
typedef struct {
  uint32_t cycles, shaves, bundles, stalls, ddr_bytes, cmx_bytes;
  uint32_t unit_ops[8];
} stage_profile_t;

typedef struct {
  int used;
  uint8_t *blob;
  uint32_t size;
  const uint32_t *header; /* the 20 words of mv_blob_header */
  const stage_t **stages;
  stage_profile_t *profile;
  uint8_t *bss;
  uint32_t stage_count;
  uint32_t shaves;
  uint32_t last_error; /* the stage the last failed inference stopped in */
} graph_t;

/* Why a graph or an inference failed: the status codes the host sees (mvnc.c maps them). */
enum {
  GRAPH_OK = 0,
  GRAPH_BAD_HEADER,    /* not a graph, or not one this firmware reads */
  GRAPH_OPENVINO_BLOB, /* an OpenVINO compiled blob (magic 9709): not ours */
  GRAPH_BAD_LAYOUT,    /* an offset, count or size outside the file */
  GRAPH_UNSUPPORTED,   /* a stage type this firmware has no kernel for, or too many SHAVEs */
  GRAPH_NO_MEMORY,
  GRAPH_KERNEL_FAILED, /* a SHAVE stopped with an exception or an error code */
  GRAPH_BAD_INPUT,     /* an input element of another size than the graph's input */
};

/* Checks the first 132 bytes (what mvnc's VERIFY sends). */
int graph_check_header(const uint8_t *bytes, uint32_t length);
/* Checks a whole blob; on success the blob (a heap block) becomes the graph's, in place. */
int graph_load(graph_t *g, uint8_t *blob, uint32_t size);
/* Allocates the graph's intermediate tensors: GRAPH_NO_MEMORY if they do not fit. */
int graph_prepare(graph_t *g);
void graph_unload(graph_t *g);
const tensor_ref_t *graph_input(const graph_t *g);
const tensor_ref_t *graph_output(const graph_t *g);
uint32_t graph_input_size(const graph_t *g);
uint32_t graph_output_size(const graph_t *g);

/* One inference at a time: started, then polled from the main loop until it is done. */
int runtime_start(graph_t *g, const uint8_t *input, uint8_t *output);
/* 1 while the inference runs; 0 once done, with *status set. */
int runtime_poll(int *status);
int runtime_busy(void);
/* Whether the SHAVEs' detailed counters are read after every stage (more bus traffic). */
void runtime_profiling(int on);
/* Stops the SHAVEs and forgets the inference (a chip-level reset of the runtime). */
void runtime_reset(void);
#endif
