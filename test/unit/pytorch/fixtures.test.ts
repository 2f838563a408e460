// Every PyTorch fixture carries its expected findings as `# expect:` comments on the
// lines of its additions (as pyright's tests/samples do); a file without them must
// come out clean. This runs them all through analyzeDocument, as the server does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fixturesDir } from '../../support/paths';
import { analyzeText, listPythonFiles, loadGrammars, readExpectations } from '../../support/pytorchFixtures';

const pytorchFixtures = listPythonFiles(join(fixturesDir, 'pytorch'));

test('the PyTorch corpus has at least 40 model files, about half with bugs', () => {
  assert.ok(pytorchFixtures.length >= 40, `only ${pytorchFixtures.length} fixtures`);
  const buggy = pytorchFixtures.filter((f) => readExpectations(readFileSync(f, 'utf8')).length > 0).length;
  assert.ok(buggy >= pytorchFixtures.length * 0.4 && buggy <= pytorchFixtures.length * 0.6, `${buggy} of ${pytorchFixtures.length} have expected findings`);
});

for (const file of pytorchFixtures) {
  test(`fixture ${basename(file)}`, async () => {
    const grammars = await loadGrammars();
    const text = readFileSync(file, 'utf8');
    const result = analyzeText(grammars, file, text);
    const expected = readExpectations(text);
    const actual = result.findings.map((f) => ({ line: f.range.start.line, severity: f.severity, rule: f.rule, kind: f.kind, message: f.message }));
    const describe = (): string => `\nactual:\n${actual.map((a) => `  line ${a.line + 1}: ${a.severity} ${a.rule} ${a.kind}: ${a.message}`).join('\n') || '  (none)'}\nlog:\n${result.log.join('\n')}`;
    for (const e of expected) {
      const match = actual.find((a) => a.line === e.line && a.severity === e.severity && a.rule === e.rule && (!e.kind || a.kind === e.kind));
      assert.ok(match, `line ${e.line + 1}: expected ${e.severity} ${e.rule} ${e.kind ?? ''}${describe()}`);
      if (e.messageIncludes) assert.ok(match.message.includes(e.messageIncludes), `line ${e.line + 1}: message lacks "${e.messageIncludes}": ${match.message}`);
    }
    const unexpected = actual.filter((a) => !expected.some((e) => e.line === a.line && e.rule === a.rule));
    assert.deepEqual(unexpected, [], `unexpected findings${describe()}`);
    assert.equal(result.log.filter((l) => /failed:/.test(l)).length, 0, `the checker threw:${describe()}`);
  });
}
