// Ground truth: every fixture runs in real PyTorch (Debian's python3-torch) through
// test/support/torch_trace.py. An addition a fixture expects to be an error must fail
// in torch, torch must fail nowhere else, a clean fixture's entry points must run,
// and where the analyser printed concrete shapes they are the ones torch saw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fixturesDir, repoRoot } from '../../support/paths';
import { analyzeText, listPythonFiles, loadGrammars, readExpectations } from '../../support/pytorchFixtures';

const python = '/usr/bin/python3';
const tracer = join(repoRoot, 'test', 'support', 'torch_trace.py');
const fixtures = listPythonFiles(join(fixturesDir, 'pytorch'));

interface TracedAdd {
  line: number;
  left: number[];
  right: number[];
  ok: boolean;
  error?: string;
}
interface Trace {
  file: string;
  fatal?: string;
  entries: { entry: string; ok?: boolean; error?: string; skipped?: string }[];
  adds: TracedAdd[];
}

function torchAvailable(): string | undefined {
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

let traces: Map<string, Trace> | undefined;
function traceAll(): Map<string, Trace> {
  if (traces) return traces;
  const out = execFileSync(python, [tracer, ...fixtures], { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
  traces = new Map();
  for (const line of out.split('\n').filter(Boolean)) {
    const t = JSON.parse(line) as Trace;
    traces.set(t.file, t);
  }
  return traces;
}

const shapeText = (dims: number[]): string => `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`;

test('Debian PyTorch is installed for the ground-truth check', () => {
  const version = torchAvailable();
  assert.ok(version, `${python} cannot import torch: install it with \`apt-get install python3-torch\` (the ground truth for the PyTorch fixtures)`);
});

test('the tracer ran every fixture and saw additions', () => {
  assert.ok(torchAvailable(), 'apt-get install python3-torch');
  const all = traceAll();
  assert.equal(all.size, fixtures.length);
  const withAdds = [...all.values()].filter((t) => t.adds.length > 0).length;
  assert.ok(withAdds >= 40, `torch saw additions in only ${withAdds} fixtures`);
});

for (const file of fixtures) {
  test(`torch agrees with ${basename(file)}`, async () => {
    assert.ok(torchAvailable(), 'apt-get install python3-torch');
    const trace = traceAll().get(file);
    assert.ok(trace, 'no trace');
    assert.equal(trace.fatal, undefined, trace.fatal);
    const text = readFileSync(file, 'utf8');
    const expectations = readExpectations(text);
    const errorLines = new Set(expectations.filter((e) => e.severity === 'error').map((e) => e.line + 1));
    for (const e of expectations) {
      const adds = trace.adds.filter((a) => a.line === e.line + 1);
      if (e.severity === 'error') {
        assert.ok(adds.some((a) => !a.ok), `line ${e.line + 1} is expected to fail but torch ${adds.length ? 'accepted it' : 'never ran it'}`);
      } else if (e.rule === 'residual-silent-broadcast') {
        assert.ok(adds.length > 0 && adds.every((a) => a.ok && a.left.length === a.right.length && a.left.join() !== a.right.join()), `line ${e.line + 1}: torch should broadcast silently`);
      }
    }
    for (const a of trace.adds.filter((x) => !x.ok)) {
      assert.ok(errorLines.has(a.line), `torch fails at line ${a.line} (${a.error}) but the fixture expects no error there`);
    }
    if (errorLines.size === 0) {
      const failed = trace.entries.filter((e) => e.ok === false);
      assert.deepEqual(failed, [], 'a clean fixture must run in torch');
    }
    // Concrete shapes in our messages are the shapes torch saw.
    const result = analyzeText(await loadGrammars(), file, text);
    for (const f of result.findings) {
      if (f.severity !== 'error' || !f.shapes || f.shapes.some((s) => /[A-Za-z?]/.test(s))) continue;
      const seen = trace.adds.filter((a) => a.line === f.range.start.line + 1).map((a) => [shapeText(a.left), shapeText(a.right)].join(' + '));
      assert.ok(seen.includes(f.shapes.join(' + ')), `line ${f.range.start.line + 1}: we say ${f.shapes.join(' + ')}, torch saw ${seen.join('; ')}`);
    }
  });
}
