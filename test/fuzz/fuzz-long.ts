import { mkdirSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Grammars } from '../../src/core/parse/grammars';
import { examplesDir, fixturesDir, grammarsDir } from '../support/paths';
import { loadSeeds, makeCase, runCase } from '../support/fuzz';

// `npm run fuzz -- --minutes N [--from SEED]`: mutates the fixtures and examples until
// the time is up. Inputs that break something are written to test/fixtures/fuzz-regressions/.
async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const value = (name: string, fallback: number) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const minutes = value('--minutes', 1);
  let seed = value('--from', 1_000_000);
  const grammars = await Grammars.load(grammarsDir);
  const seeds = loadSeeds([fixturesDir, examplesDir]);
  const deadline = Date.now() + minutes * 60_000;
  let cases = 0;
  let failures = 0;
  let slowest = 0;
  while (Date.now() < deadline) {
    const fuzzCase = makeCase(seeds, seed);
    const outcome = runCase(grammars, fuzzCase);
    cases++;
    slowest = Math.max(slowest, outcome.durationMs);
    if (outcome.failure) {
      failures++;
      const dir = join(fixturesDir, 'fuzz-regressions');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `seed-${seed}${extname(fuzzCase.source)}`);
      writeFileSync(file, fuzzCase.text);
      console.log(`FAIL seed ${seed} (${fuzzCase.source}, ${fuzzCase.mutations.join('+')}): ${outcome.failure.split('\n')[0]} -> ${file}`);
    }
    seed++;
  }
  console.log(`slowest case: ${slowest.toFixed(1)} ms over ${seeds.length} seed files`);
  console.log(`fuzz: ${cases} cases, ${failures} failures`);
  process.exitCode = failures ? 1 : 0;
}

void main();
