import { spawnSync } from 'node:child_process';

/**
 * Whether a command-line tool is installed. Locally a missing tool makes its tests skip with a
 * loud message; in CI (CI or MYRIAD_REQUIRE_TOOLS set) it is an error, so a skip cannot hide.
 */
export function haveTools(...tools: string[]): boolean {
  const missing = tools.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  if (missing.length === 0) return true;
  const message = `missing ${missing.join(', ')}: install them (see .ci/run) to run these tests`;
  if (process.env.CI || process.env.MYRIAD_REQUIRE_TOOLS) throw new Error(message);
  console.warn(`\n*** SKIPPING: ${message} ***\n`);
  return false;
}
