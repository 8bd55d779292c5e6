import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Whether a command-line tool is installed. Locally a missing tool makes its tests skip with a
 * loud message; in CI (CI or MYRIAD_REQUIRE_TOOLS set) it is an error, so a skip cannot hide.
 */
export function haveTools(...tools: string[]): boolean {
  return report(tools.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0));
}

/** The same for files a test needs (a static library, say), named with their package. */
export function haveFiles(files: Record<string, string>): boolean {
  return report(Object.entries(files).filter(([path]) => !existsSync(path)).map(([path, pkg]) => `${path} (${pkg})`));
}

function report(missing: string[]): boolean {
  if (missing.length === 0) return true;
  const message = `missing ${missing.join(', ')}: install them (see .ci/run) to run these tests`;
  if (process.env.CI || process.env.MYRIAD_REQUIRE_TOOLS) throw new Error(message);
  console.warn(`\n*** SKIPPING: ${message} ***\n`);
  return false;
}
