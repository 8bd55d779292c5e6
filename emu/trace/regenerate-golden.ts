/** `npm run traces`: rewrites traces/ from emu/trace/golden.ts. */
import { join } from 'node:path';
import { main } from '../cli/main.js';
import { GOLDEN, recordArgs, tracesDir, writeMalformedImage } from './golden.js';

writeMalformedImage();
let failed = 0;
for (const golden of GOLDEN) {
  const code = await main(recordArgs(golden, join(tracesDir(), golden.file)));
  if (code !== golden.exit) {
    process.stderr.write(`${golden.file}: record exited ${code}, expected ${golden.exit}\n`);
    failed++;
  }
}
process.exitCode = failed ? 1 : 0;
