import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findRepoRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json')) || !readFileSync(join(dir, 'package.json'), 'utf8').includes('"name": "residual-lens"')) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no residual-lens package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

/** Tests run from bundles under out/; these point back into the checkout. */
export const repoRoot = findRepoRoot(__dirname);
export const distDir = join(repoRoot, 'dist');
export const grammarsDir = join(distDir, 'grammars');
export const fixturesDir = join(repoRoot, 'test', 'fixtures');
export const examplesDir = join(repoRoot, 'examples');
export const testResultsDir = join(repoRoot, 'test-results');
