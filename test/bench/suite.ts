/** What the benchmark processes share: where results go, a row of the summary, and a benny suite that saves its details. */
import b from 'benny';
import { join } from 'node:path';
import { packageRoot } from '../../emu/package-root.js';

export const root = packageRoot();
export const folder = join(root, 'test', 'bench', 'results');

/** A row of test/bench/RESULTS.md. */
export type Summary = { name: string; value: number; unit: string; target: string; pass: boolean | null };

/** Runs the cases as one benny suite; its details (medians) are saved as results/<name>.json. */
export async function suite(name: string, ...cases: ReturnType<typeof b.add>[]) {
  let result: { results: { name: string; ops: number; margin: number }[] } | undefined;
  await b.suite(name, ...cases, b.cycle(), b.complete((r) => void (result = r as never)), b.save({ file: name, folder, format: 'json', details: true }));
  return result!.results;
}
