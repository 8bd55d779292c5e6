/** The command line was wrong (exit 2). */
export class UsageError extends Error {}
/** An input file cannot be read or is malformed (exit 3). */
export class InputError extends Error {}

export const EXIT = { ok: 0, failed: 1, usage: 2, badInput: 3 } as const;

export type Print = (line?: string) => void;
