// The "Probe This Model" fixtures for PyTorch (test/fixtures/probe-models/pytorch): each
// file carries what its graph must be in `# expect-graph:` comments, with the parameter
// count worked out from PyTorch's formulas in the file's docstring. Shared by the
// extraction test and the ground-truth test that runs the same models in real torch.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from '../../support/paths';
import { readBesides } from '../../support/pytorchFixtures';
import { pytorchModelGraph } from '../../../src/core/modelGraph/pytorch';
import type { ModelExtraction } from '../../../src/core/modelGraph/graph';
import type { Grammars } from '../../../src/core/parse/grammars';

export const probeFixturesDir = join(fixturesDir, 'probe-models', 'pytorch');

export function probeFixtures(): string[] {
  return readdirSync(probeFixturesDir).filter((f) => f.endsWith('.py') && !f.startsWith('_')).sort().map((f) => join(probeFixturesDir, f));
}

/** `key=value` pairs of every `# expect-graph:` line; a value may hold spaces inside brackets or quotes. */
export function readGraphExpectations(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^#\s*expect-graph:\s*(.*)$/.exec(line);
    if (!m) continue;
    const body = m[1]!;
    let i = 0;
    while (i < body.length) {
      while (body[i] === ' ') i++;
      const eq = body.indexOf('=', i);
      if (eq < 0) break;
      const key = body.slice(i, eq);
      let j = eq + 1;
      let value = '';
      if (body[j] === '"') {
        const end = body.indexOf('"', j + 1);
        value = body.slice(j + 1, end < 0 ? body.length : end);
        j = end < 0 ? body.length : end + 1;
      } else {
        let depth = 0;
        for (; j < body.length; j++) {
          const c = body[j]!;
          if (c === '(' || c === '[') depth++;
          else if (c === ')' || c === ']') depth--;
          else if (c === ' ' && depth === 0) break;
        }
        value = body.slice(eq + 1, j);
      }
      out.set(key, value);
      i = j;
    }
  }
  return out;
}

export function shapeOf(text: string | undefined): number[] | undefined {
  if (!text) return undefined;
  return text.replace(/[()\s]/g, '').split(',').filter(Boolean).map(Number);
}

export function extractFixture(grammars: Grammars, file: string, modelName: string, inputShape?: number[], budgetMs = 20000): ModelExtraction | { error: string } {
  const text = readFileSync(file, 'utf8');
  return pytorchModelGraph.extract(
    { document: { uri: file, grammar: 'python', text }, modelName, ...(inputShape ? { inputShape } : {}), options: { budgetMs, readWorkspaceFile: readBesides } },
    grammars,
  );
}

/** The class a fixture probes: `model=` or the callee of `build=` (`resnet20()` builds the class it returns). */
export function modelNameOf(expect: Map<string, string>): string {
  const named = expect.get('model');
  if (named) return named;
  throw new Error('fixture without model=');
}
