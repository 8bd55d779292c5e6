/** SPARC V8 trap types (manual table 7-1) and the names reports use. */
export const Trap = {
  INSTRUCTION_ACCESS_EXCEPTION: 0x01,
  ILLEGAL_INSTRUCTION: 0x02,
  PRIVILEGED_INSTRUCTION: 0x03,
  FP_DISABLED: 0x04,
  WINDOW_OVERFLOW: 0x05,
  WINDOW_UNDERFLOW: 0x06,
  MEM_ADDRESS_NOT_ALIGNED: 0x07,
  FP_EXCEPTION: 0x08,
  DATA_ACCESS_EXCEPTION: 0x09,
  TAG_OVERFLOW: 0x0a,
  WATCHPOINT_DETECTED: 0x0b,
  R_REGISTER_ACCESS_ERROR: 0x20,
  INSTRUCTION_ACCESS_ERROR: 0x21,
  CP_DISABLED: 0x24,
  UNIMPLEMENTED_FLUSH: 0x25,
  CP_EXCEPTION: 0x28,
  DATA_ACCESS_ERROR: 0x29,
  DIVISION_BY_ZERO: 0x2a,
  DATA_STORE_ERROR: 0x2b,
  /** interrupt_level_n is 0x10 + n. */
  INTERRUPT_LEVEL_0: 0x10,
  /** trap_instruction (Ticc) n is 0x80 + n. */
  TRAP_INSTRUCTION_0: 0x80,
} as const;

export function trapName(tt: number): string {
  if (tt >= 0x80) return `trap_instruction ${tt - 0x80}`;
  if (tt > 0x10 && tt < 0x20) return `interrupt_level_${tt - 0x10}`;
  const entry = Object.entries(Trap).find(([, value]) => value === tt);
  return entry ? entry[0].toLowerCase() : `trap 0x${tt.toString(16)}`;
}
