// Every quick fix the checker offers on the fixtures is applied, and the fixed file
// must check clean. The fixed files of concrete errors also run in real PyTorch,
// where the addition must now succeed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fixturesDir, repoRoot } from '../../support/paths';
import { analyzeText, applyEdits, listPythonFiles, loadGrammars } from '../../support/pytorchFixtures';
import { optionAFixTitle, projectionFixTitle } from '../../../src/core/rules/projection-fix';

const fixtures = listPythonFiles(join(fixturesDir, 'pytorch'));

interface Applied {
  fixture: string;
  title: string;
  line: number;
  fixed: string;
  severity: string;
}

async function applyAllFixes(): Promise<Applied[]> {
  const grammars = await loadGrammars();
  const applied: Applied[] = [];
  for (const file of fixtures) {
    const text = readFileSync(file, 'utf8');
    for (const finding of analyzeText(grammars, file, text).findings) {
      for (const fix of finding.fixes) applied.push({ fixture: file, title: fix.title, line: finding.range.start.line, fixed: applyEdits(text, fix.edits), severity: finding.severity });
    }
  }
  return applied;
}

const appliedReady = applyAllFixes();

test('fixes are offered for most mismatches, of both kinds', async () => {
  const applied = await appliedReady;
  assert.ok(applied.filter((a) => a.title === projectionFixTitle).length >= 15, 'projection fixes');
  assert.ok(applied.filter((a) => a.title === optionAFixTitle).length >= 4, 'option A fixes');
});

test('every fix leaves a file that checks clean', async () => {
  const grammars = await loadGrammars();
  const applied = await appliedReady;
  assert.ok(applied.length > 0);
  for (const a of applied) {
    const result = analyzeText(grammars, a.fixture, a.fixed);
    const left = result.findings.map((f) => `line ${f.range.start.line + 1}: ${f.message}`);
    assert.deepEqual(left, [], `${basename(a.fixture)} after "${a.title}" (line ${a.line + 1}):\n${a.fixed}`);
    assert.ok(!result.syntaxErrors.length, `${basename(a.fixture)} after "${a.title}" has a syntax error`);
  }
});

test('fixed files run in real PyTorch without a failing addition', async (t) => {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, '/usr/bin/python3 cannot import torch: apt-get install python3-torch');
  const applied = (await appliedReady).filter((a) => a.severity === 'error');
  const dir = mkdtempSync(join(tmpdir(), 'residual-lens-fixes-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Helpers that fixtures import sit next to the fixed copies.
  for (const f of fixtures) copyFileSync(f, join(dir, basename(f)));
  const written = applied.map((a, i) => {
    const sub = join(dir, `fix${i}`);
    execFileSync('mkdir', ['-p', sub]);
    for (const f of fixtures) copyFileSync(f, join(sub, basename(f)));
    const path = join(sub, basename(a.fixture));
    writeFileSync(path, a.fixed);
    return { path, a };
  });
  const out = execFileSync('/usr/bin/python3', [join(repoRoot, 'test', 'support', 'torch_trace.py'), ...written.map((w) => w.path)], { encoding: 'utf8', timeout: 300_000 });
  const traces = new Map(out.split('\n').filter(Boolean).map((l) => {
    const t = JSON.parse(l) as { file: string; adds: { line: number; ok: boolean; error?: string }[]; entries: { ok?: boolean; error?: string }[] };
    return [t.file, t];
  }));
  for (const { path, a } of written) {
    const trace = traces.get(path);
    assert.ok(trace, `no trace for ${path}`);
    const failing = trace.adds.filter((x) => !x.ok);
    assert.deepEqual(failing, [], `${basename(a.fixture)} after "${a.title}" still fails in torch (${dirname(path)})`);
    assert.ok(trace.adds.length > 0, `${basename(a.fixture)} after "${a.title}": torch ran no addition`);
  }
});
