// Ground truth for the TF.js fixtures: each one is compiled (esbuild) and run against
// the real @tensorflow/tfjs, which builds the layers symbolically. Every Add layer call
// is recorded with its input shapes and whether TF.js accepted it (a rejected one is
// answered with its first input so the rest of the file still builds). Then:
//   - a call TF.js rejects must carry an expected error on its line, an accepted call
//     with equal shapes must carry nothing, and one that stretches a size-1 axis the
//     silent-broadcast warning;
//   - the shapes the checker inferred at each line are exactly the shapes TF.js saw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import * as esbuild from 'esbuild';
import * as tf from '@tensorflow/tfjs';
import { fixturesDir, repoRoot } from '../../support/paths';
import { grammarFor } from '../../../src/core/parse/grammars';
import { interpretProgram } from '../../../src/core/keras/interpreter';
import { formatLayersShape } from '../../../src/core/keras/residualSites';
import { scriptProgram } from '../../../src/core/tfjs/scriptSyntax';
import { toSyntaxTree } from '../../../src/core/parse/syntaxTree';
import { listFixtures, loadLayersGrammars, readLayersExpectations } from '../keras/layersFixtures';

interface AddCall {
  line: number;
  shapes: string[];
  accepted: boolean;
}

const tfjsFixtures = listFixtures(join(fixturesDir, 'tfjs'), ['.ts', '.js', '.mjs', '.mts', '.tsx']);
const compiledDir = join(repoRoot, 'out', 'test', 'tfjs-ground-truth');

function formatRealShape(shape: (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? 'null' : String(d))).join(', ')}]`;
}

const vlqChars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Source line (0-based) of a generated position, from a source map's `mappings`. */
function originalLine(mappings: string, generatedLine: number, generatedColumn: number): number | undefined {
  let sourceLine = 0;
  let found: number | undefined;
  const lines = mappings.split(';');
  for (let g = 0; g <= generatedLine && g < lines.length; g++) {
    let column = 0;
    for (const segment of lines[g]!.split(',')) {
      if (!segment) continue;
      const values: number[] = [];
      let value = 0;
      let shift = 0;
      for (const ch of segment) {
        const digit = vlqChars.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          values.push(value & 1 ? -(value >> 1) : value >> 1);
          value = 0;
          shift = 0;
        }
      }
      column += values[0] ?? 0;
      if (values.length >= 4) sourceLine += values[2]!;
      if (g === generatedLine && column <= generatedColumn && values.length >= 4) found = sourceLine;
    }
  }
  return found;
}

const addPrototype = Object.getPrototypeOf(tf.layers.add()) as { apply: (this: unknown, inputs: unknown, kwargs?: unknown) => unknown };
const originalApply = addPrototype.apply;

/** Runs one compiled fixture with Add.apply recording its calls. */
function runWithRecordedAdds(compiledPath: string, mappings: string): AddCall[] {
  const calls: AddCall[] = [];
  addPrototype.apply = function (this: unknown, inputs: unknown, kwargs?: unknown) {
    const frame = (new Error().stack ?? '').split('\n').find((l) => l.includes(compiledPath));
    const m = frame ? /:(\d+):(\d+)\)?$/.exec(frame) : null;
    const line = m ? originalLine(mappings, Number(m[1]) - 1, Number(m[2]) - 1) : undefined;
    const list = Array.isArray(inputs) ? (inputs as tf.SymbolicTensor[]) : [];
    const shapes = list.map((t) => formatRealShape(t.shape));
    try {
      const out = originalApply.call(this, inputs, kwargs);
      if (line !== undefined) calls.push({ line, shapes, accepted: true });
      return out;
    } catch (err) {
      if (!/broadcast/i.test(String(err))) throw err;
      if (line !== undefined) calls.push({ line, shapes, accepted: false });
      return tf.layers.activation({ activation: 'linear' }).apply(list[0]!);
    }
  };
  try {
    createRequire(compiledPath)(compiledPath);
  } finally {
    addPrototype.apply = originalApply;
  }
  return calls;
}

async function compile(file: string): Promise<{ path: string; mappings: string } | undefined> {
  const source = readFileSync(file, 'utf8').replace(/@tensorflow\/tfjs-node(?:-gpu)?/g, '@tensorflow/tfjs');
  const loader = file.endsWith('.tsx') ? 'tsx' : /\.m?ts$/.test(file) ? 'ts' : 'js';
  let result: esbuild.TransformResult;
  try {
    result = await esbuild.transform(source, { loader, format: 'cjs', sourcemap: 'external', sourcefile: file, target: 'node20', jsx: 'transform' });
  } catch {
    return undefined;
  }
  mkdirSync(compiledDir, { recursive: true });
  const path = join(compiledDir, `${basename(file)}.cjs`);
  writeFileSync(path, result.code);
  return { path, mappings: (JSON.parse(result.map) as { mappings: string }).mappings };
}

test('TF.js fixtures agree with the real @tensorflow/tfjs', async () => {
  const grammars = await loadLayersGrammars();
  let executed = 0;
  let checkedCalls = 0;
  for (const file of tfjsFixtures) {
    const text = readFileSync(file, 'utf8');
    if (/from '\.\//.test(text)) continue; // imports a workspace file the test does not have
    const compiled = await compile(file);
    if (!compiled) continue; // a deliberately broken file
    const recorded = runWithRecordedAdds(compiled.path, compiled.mappings);
    // After the first rejected call the real program has stopped; what follows is built on a stand-in.
    const firstRejected = recorded.findIndex((c) => !c.accepted);
    const calls = firstRejected < 0 ? recorded : recorded.slice(0, firstRejected + 1);
    executed++;
    const expectations = readLayersExpectations(text);
    const byLine = new Map<number, AddCall[]>();
    for (const call of calls) byLine.set(call.line, [...(byLine.get(call.line) ?? []), call]);
    for (const [line, lineCalls] of byLine) {
      const expected = expectations.filter((e) => e.line === line);
      const where = `${basename(file)}:${line + 1}`;
      if (lineCalls.some((c) => !c.accepted)) {
        assert.ok(expected.some((e) => e.severity === 'error' && e.rule === 'residual-shape-mismatch'), `${where}: TF.js rejects ${JSON.stringify(lineCalls)}, no error expected`);
      } else if (lineCalls.some((c) => new Set(c.shapes).size > 1)) {
        assert.ok(expected.some((e) => e.rule === 'residual-silent-broadcast'), `${where}: TF.js broadcasts ${JSON.stringify(lineCalls)}, no warning expected`);
      } else {
        assert.equal(expected.filter((e) => e.severity === 'error').length, 0, `${where}: TF.js accepts every call, but an error is expected`);
      }
      checkedCalls += lineCalls.length;
    }

    // The checker's own view of the same additions.
    const tree = grammars.parse(grammarFor(file)!, text);
    try {
      const result = interpretProgram(scriptProgram(toSyntaxTree(tree, text, grammarFor(file)!), text), performance.now() + 5000, () => {});
      const inferred = new Map<number, Set<string>>();
      for (const ob of result.observations.filter((o) => o.concrete)) {
        const line = ob.span.range.start.line;
        inferred.set(line, (inferred.get(line) ?? new Set()).add(`${formatLayersShape(ob.leftShape, 'tfjs')} + ${formatLayersShape(ob.rightShape, 'tfjs')}`));
      }
      for (const [line, lineCalls] of byLine) {
        const seen = inferred.get(line) ?? new Set<string>();
        for (const call of lineCalls) {
          assert.ok(seen.has(call.shapes.join(' + ')), `${basename(file)}:${line + 1}: TF.js adds ${call.shapes.join(' + ')}, the checker inferred ${[...seen].join('; ') || 'nothing'}`);
        }
        if (firstRejected < 0) assert.deepEqual(seen, new Set(lineCalls.map((c) => c.shapes.join(' + '))), `${basename(file)}:${line + 1}: the checker inferred additions TF.js never made`);
      }
    } finally {
      tree.delete();
    }
  }
  assert.ok(executed >= 10, `only ${executed} fixtures ran`);
  assert.ok(checkedCalls >= 30, `only ${checkedCalls} Add calls were checked`);
});
