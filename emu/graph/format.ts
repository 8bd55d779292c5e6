/**
 * The myriad-emu graph file, version 1.0, as data: every number of the layout stated once, for
 * the writer, the reader, their tests and docs/graph-format.md. The LEON firmware's C parser
 * implements the same layout (all words little-endian u32 unless said otherwise).
 */

export const GRAPH_MAGIC = 0x4745_594d; // the bytes "MYEG"
/** What OpenVINO's compiled blobs have in the magic word, so that a reader can name them. */
export const OPENVINO_MAGIC = 9709;
export const GRAPH_VERSION = { major: 1, minor: 0 } as const;

/** Sections start at multiples of this; so do constants (from the constant section) and bss tensors. */
export const SECTION_ALIGN = 64;
export const CONSTANT_ALIGN = 64;
export const BSS_ALIGN = 64;

/**
 * Bytes 0-51: an ELF32 header that names no machine and no entry, as OpenVINO's blobs start with
 * one (mvnc's VERIFY sends the first HEADER_BYTES). Every byte is fixed; fields not listed are 0.
 */
export const ELF_HEADER_BYTES = 52;
export const ELF_FIELDS: readonly { readonly name: string; readonly at: number; readonly bytes: number; readonly value: number }[] = [
  { name: 'e_ident magic', at: 0, bytes: 4, value: 0x464c_457f }, // 7f 'E' 'L' 'F'
  { name: 'EI_CLASS', at: 4, bytes: 1, value: 1 }, // 32-bit
  { name: 'EI_DATA', at: 5, bytes: 1, value: 1 }, // little-endian
  { name: 'EI_VERSION', at: 6, bytes: 1, value: 1 },
  { name: 'EI_OSABI', at: 7, bytes: 1, value: 0 },
  { name: 'EI_ABIVERSION', at: 8, bytes: 1, value: 0 },
  { name: 'EI_PAD', at: 9, bytes: 7, value: 0 },
  { name: 'e_type', at: 16, bytes: 2, value: 0 }, // ET_NONE
  { name: 'e_machine', at: 18, bytes: 2, value: 0 },
  { name: 'e_version', at: 20, bytes: 4, value: 1 },
  { name: 'e_entry', at: 24, bytes: 4, value: 0 },
  { name: 'e_phoff', at: 28, bytes: 4, value: 0 },
  { name: 'e_shoff', at: 32, bytes: 4, value: 0 },
  { name: 'e_flags', at: 36, bytes: 4, value: 0 },
  { name: 'e_ehsize', at: 40, bytes: 2, value: ELF_HEADER_BYTES },
  { name: 'e_phentsize', at: 42, bytes: 2, value: 0 },
  { name: 'e_phnum', at: 44, bytes: 2, value: 0 },
  { name: 'e_shentsize', at: 46, bytes: 2, value: 0 },
  { name: 'e_shnum', at: 48, bytes: 2, value: 0 },
  { name: 'e_shstrndx', at: 50, bytes: 2, value: 0 },
];

/** The header's words after the ELF header (OpenVINO's mv_blob_header), in order, named as in the C header. */
export const HEADER_FIELDS = [
  'magic',
  'file_size',
  'ver_major',
  'ver_minor',
  'inputs_count',
  'outputs_count',
  'stages_count',
  'inputs_size',
  'outputs_size',
  'batch_size',
  'bss_mem_size',
  'cmx_slices', // our meaning: CMX scratch bytes per SHAVE, the max over the stages (OpenVINO's counts slices)
  'shaves',
  'has_hw_stage',
  'has_shave_stage',
  'has_dma_stage',
  'input_info_offset',
  'output_info_offset',
  'stage_offset',
  'const_offset',
] as const;
export type HeaderField = (typeof HEADER_FIELDS)[number];
/** Byte offset of each header word in the file. */
export const HEADER_AT = Object.fromEntries(HEADER_FIELDS.map((name, k) => [name, ELF_HEADER_BYTES + 4 * k])) as Readonly<Record<HeaderField, number>>;
export const HEADER_BYTES = ELF_HEADER_BYTES + 4 * HEADER_FIELDS.length; // 132

/** Header words whose value this version fixes. */
export const HEADER_FIXED: Readonly<Partial<Record<HeaderField, number>>> = {
  inputs_count: 1,
  outputs_count: 1,
  batch_size: 1,
  has_hw_stage: 0,
  has_shave_stage: 1,
  has_dma_stage: 0,
};
export const MAX_SHAVES = 16;

/** Where a tensor reference points: the host's input element, its output element, the intermediate area. */
export const LOCATION = { none: 0, input: 1, output: 2, bss: 3 } as const;
export type Location = Exclude<keyof typeof LOCATION, 'none'>;
/** The header word that gives each location's size. */
export const LOCATION_SIZE: Readonly<Record<Location, HeaderField>> = { input: 'inputs_size', output: 'outputs_size', bss: 'bss_mem_size' };

/** A tensor reference: 8 words. */
export const TENSOR_REF_FIELDS = ['location', 'offset', 'c', 'h', 'w', 'cStride', 'yStride', 'xStride'] as const;
export const TENSOR_REF_BYTES = 4 * TENSOR_REF_FIELDS.length; // 32

/** A tensor info: a tensor reference and a NUL-padded UTF-8 name with at least one NUL. */
export const TENSOR_NAME_BYTES = 32;
export const TENSOR_INFO_BYTES = TENSOR_REF_BYTES + TENSOR_NAME_BYTES; // 64

/** A constant reference: offset from const_offset (a multiple of CONSTANT_ALIGN), size (0: absent, offset 0). */
export const CONSTANT_REF_BYTES = 8;

/** The head of a stage record: these words, then the operand and constant references. */
export const STAGE_FIELDS = ['type', 'record_size', 'split', 'scratch_bytes', 'n_inputs', 'n_params', 'name_length', 'reserved'] as const;
export type StageField = (typeof STAGE_FIELDS)[number];
/** Byte offsets inside a stage record. */
export const STAGE_AT = {
  ...(Object.fromEntries(STAGE_FIELDS.map((name, k) => [name, 4 * k])) as Record<StageField, number>),
  in0: 32,
  in1: 64,
  out: 96,
  weights: 128,
  bias: 136,
  params: 144, // n_params words, then the name padded with zeros to a multiple of 4
} as const;
export const STAGE_HEAD_BYTES = STAGE_AT.params; // 144
export const MAX_STAGE_NAME_BYTES = 64;

export const pad4 = (n: number) => n + (-n & 3);
export const alignUp = (n: number, to: number) => Math.ceil(n / to) * to;
/** A stage record's size for its parameter count and name length. */
export const stageRecordBytes = (nParams: number, nameBytes: number) => STAGE_HEAD_BYTES + 4 * nParams + pad4(nameBytes);
