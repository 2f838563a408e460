// Where the check time of one file goes: tree-sitter parse, plain-tree conversion, the
// front end's syntax conversion and the interpreter with its rules, each as the median of
// the runs after warm-up. Figures, not pass/fail.
// `edit` is the re-check after a comment typed at the end of a statement in the middle (typicalEdit), parsed
// incrementally; `--only edit` runs that alone (for `node --cpu-prof`).
//   node out/bench/check-breakdown.js FILE... [--runs 30] [--plain-heap] [--only edit]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { analyzeDocument, defaultAnalysisOptions } from '../src/core/analysis';
import { registerBuiltinCheckers } from '../src/core/checkers';
import { Grammars, grammarFor } from '../src/core/parse/grammars';
import { toSyntaxTree } from '../src/core/parse/syntaxTree';
import { directCursorEnabled, withPublicCursor } from '../src/core/parse/cursor';
import { DocumentTrees } from '../src/core/parse/documentTrees';
import { grammarsDir } from '../test/support/paths';
import { typicalEdit } from '../test/support/typicalEdit';
import { processFlagsLine, rerunWithServerFlags } from './check-process';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  if (rerunWithServerFlags()) return;
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string', default: '30' }, only: { type: 'string' }, 'plain-heap': { type: 'boolean' } } });
  const runs = Number(values.runs);
  registerBuiltinCheckers();
  const grammars = await Grammars.load(grammarsDir);
  console.log(`load ${loadavg()[0]!.toFixed(1)}, direct cursor ${directCursorEnabled() ? 'on' : 'off'}, ${processFlagsLine()}`);
  for (const file of positionals) {
    const text = readFileSync(file, 'utf8');
    const grammar = grammarFor(file) ?? 'python';
    const phases: Record<string, number[]> = { parse: [], syntaxTree: [], 'syntaxTree (public cursor)': [], total: [], edit: [] };
    const trees = new DocumentTrees();
    const edited = typicalEdit(text, grammar === 'python');
    const options = { ...defaultAnalysisOptions, budgetMs: 10_000 };
    for (let i = 0; i < runs + 5; i++) {
      let t = performance.now();
      analyzeDocument({ uri: file, grammar, text: i % 2 ? text : edited }, grammars, options, trees);
      const edit = performance.now() - t;
      if (values.only === 'edit') continue;
      t = performance.now();
      const tree = grammars.parse(grammar, text);
      const parse = performance.now() - t;
      t = performance.now();
      toSyntaxTree(tree, text, grammar);
      const syntax = performance.now() - t;
      t = performance.now();
      withPublicCursor(() => toSyntaxTree(tree, text, grammar));
      const publicSyntax = performance.now() - t;
      tree.delete();
      t = performance.now();
      analyzeDocument({ uri: file, grammar, text }, grammars, options);
      const total = performance.now() - t;
      if (i < 5) continue;
      phases.parse!.push(parse);
      phases.syntaxTree!.push(syntax);
      phases['syntaxTree (public cursor)']!.push(publicSyntax);
      phases.total!.push(total);
      phases.edit!.push(edit);
    }
    trees.clear();
    if (values.only === 'edit') continue;
    console.log(`${file}: ${Object.entries(phases).map(([k, v]) => `${k} ${median(v).toFixed(2)}`).join(', ')} ms`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
