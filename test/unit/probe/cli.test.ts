// The probe command of the real CLI bundle (dist/cli.js), real child processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distDir } from '../../support/paths';

const cli = join(distDir, 'cli.js');
const tiny = ['--width', '4', '--input', '8', '--batch', '8'];

function probe(args: string[]) {
  return spawnSync(process.execPath, [cli, 'probe', ...args], { encoding: 'utf8', timeout: 120_000 });
}

test('probe writes a summary, the versioned JSON record and a self-contained HTML report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-probe-cli-'));
  const result = probe(['--depths', '9,14', '--steps', '3', ...tiny, '--json', join(dir, 'run.json'), '--html', join(dir, 'run.html')]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /depth 9 is not of the form 6n\+2.*using 8/);
  assert.match(result.stdout, /^variant\s+params\s+status/m);
  assert.match(result.stdout, /verdict: plain-14 ends at loss \d\.\d\d vs plain-8 \d\.\d\d/);
  const record = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  assert.equal(record.version, 1);
  assert.equal(record.backend.name, 'wasm');
  assert.deepEqual(record.variants.map((v: { name: string }) => v.name), ['plain-8', 'plain-14', 'residual-8', 'residual-14']);
  for (const v of record.variants) {
    assert.equal(v.status, 'done');
    assert.equal(v.steps.length, 3);
    assert.deepEqual(Object.keys(v.steps[0]).sort(), ['accuracy', 'loss', 'ms', 'step']);
    assert.equal(v.init.gradNorms.length, v.layers.length);
    assert.equal(v.init.gradNorms[0].layer, 'stem.conv');
    assert.equal(v.init.gradNorms.at(-1).layer, 'classifier');
    assert.ok(v.params > 0);
  }
  const html = readFileSync(join(dir, 'run.html'), 'utf8');
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /Content-Security-Policy/);
  assert.match(html, /id="residual-lens-run">\{/);
});

test('probe refuses absurd sizes with the limit and exit code 2', () => {
  const result = probe(['--depths', '1000']);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /depth 1000 is outside 8\.\.110/);
  const wide = probe(['--width', '100000', '--batch', '9999']);
  assert.equal(wide.status, 2);
  assert.match(wide.stderr, /width 100000 is outside the limit 2\.\.64/);
  assert.match(wide.stderr, /batch size 9999 is outside the limit 1\.\.256/);
  assert.equal(probe(['--optimizer', 'rmsprop']).status, 2);
});
