import { readFileSync } from 'node:fs';

/** The command line was wrong (exit 2). */
export class UsageError extends Error {}
/** An input file cannot be read or is malformed (exit 3). */
export class InputError extends Error {}

export const EXIT = { ok: 0, failed: 1, usage: 2, badInput: 3 } as const;

export type Print = (line?: string) => void;

/** A file the user named, or an InputError saying why it cannot be read (exit 3). */
export function readInput(path: string | undefined, what: string): Uint8Array {
  if (!path) throw new UsageError(`${what} file missing`);
  try {
    return readFileSync(path);
  } catch (error) {
    throw new InputError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
