// `npm run bench [name…]`: builds, then runs every benchmark under bench/ (or the named
// ones) one after the other so they do not compete for the cores. Each prints figures.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const build = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(1);
const dir = join(root, 'out', 'bench');
const wanted = process.argv.slice(2);
const benches = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.js') && (!wanted.length || wanted.some((w) => f.startsWith(w)))) : [];
if (benches.length === 0) {
  console.error('bench: no benchmarks found under out/bench');
  process.exit(2);
}
let failed = 0;
for (const bench of benches.sort()) {
  console.log(`\n=== ${bench.replace(/\.js$/, '')} ===`);
  const run = spawnSync(process.execPath, ['--expose-gc', join(dir, bench)], { stdio: 'inherit', cwd: root });
  if (run.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
