// Every Keras and TF.js fixture runs through analyzeDocument, as the server runs it;
// the findings must be exactly the `expect:` comments of the file (rule, severity,
// kind and line), and a file without them must come out clean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fixturesDir } from '../../support/paths';
import { analyzeFile, listFixtures, loadLayersGrammars, readLayersExpectations } from './layersFixtures';

const kerasFixtures = listFixtures(join(fixturesDir, 'keras'), ['.py']);
const tfjsFixtures = listFixtures(join(fixturesDir, 'tfjs'), ['.ts', '.js', '.mjs', '.mts', '.tsx']);

test('the Keras corpus has at least 15 files and the TF.js corpus at least 10, about half with bugs', () => {
  for (const [name, files, minimum] of [['Keras', kerasFixtures, 15], ['TF.js', tfjsFixtures, 10]] as const) {
    assert.ok(files.length >= minimum, `${name}: only ${files.length} fixtures`);
    const buggy = files.filter((f) => readLayersExpectations(readFileSync(f, 'utf8')).length > 0).length;
    assert.ok(buggy >= files.length * 0.35 && buggy <= files.length * 0.65, `${name}: ${buggy} of ${files.length} have expected findings`);
  }
});

for (const file of [...kerasFixtures, ...tfjsFixtures]) {
  test(`fixture ${basename(file)}`, async () => {
    const grammars = await loadLayersGrammars();
    const text = readFileSync(file, 'utf8');
    const result = analyzeFile(grammars, file, text);
    const expected = readLayersExpectations(text);
    const actual = result.findings.map((f) => ({ line: f.range.start.line, severity: f.severity, rule: f.rule, kind: f.kind, message: f.message }));
    const describe = (): string => `\nactual:\n${actual.map((a) => `  line ${a.line + 1}: ${a.severity} ${a.rule} ${a.kind}: ${a.message}`).join('\n') || '  (none)'}\nlog:\n${result.log.join('\n')}`;
    for (const e of expected) {
      const match = actual.find((a) => a.line === e.line && a.severity === e.severity && a.rule === e.rule && (!e.kind || a.kind === e.kind));
      assert.ok(match, `line ${e.line + 1}: expected ${e.severity} ${e.rule} ${e.kind ?? ''}${describe()}`);
      if (e.messageIncludes) assert.ok(match.message.includes(e.messageIncludes), `line ${e.line + 1}: message lacks "${e.messageIncludes}": ${match.message}`);
    }
    const unexpected = actual.filter((a) => !expected.some((e) => e.line === a.line && e.rule === a.rule));
    assert.deepEqual(unexpected, [], `unexpected findings${describe()}`);
    assert.equal(result.log.filter((l) => /failed:|gave up/.test(l)).length, 0, `the checker threw:${describe()}`);
  });
}
