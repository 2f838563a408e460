// Result files of the real CLI bundle (dist/cli.js) that cannot be written: a full disk
// (/dev/full answers every write with ENOSPC) and a missing folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distDir } from '../../support/paths';

const cli = join(distDir, 'cli.js');
const tiny = ['--depths', '8', '--steps', '2', '--width', '4', '--input', '8', '--batch', '8'];

function probe(args: string[]) {
  return spawnSync(process.execPath, [cli, 'probe', ...tiny, ...args], { encoding: 'utf8', timeout: 120_000 });
}

test('a full disk for --json is reported clearly; the summary is printed, the HTML report still written, exit 1', { skip: !existsSync('/dev/full') && 'no /dev/full' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-probe-full-'));
  const html = join(dir, 'run.html');
  const result = probe(['--json', '/dev/full', '--html', html]);
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stdout, /^variant\s+params\s+status/m);
  assert.match(result.stdout, /^plain-8\s.*\sdone\s/m);
  assert.match(result.stderr, /^residual-lens probe: could not write the JSON record to \/dev\/full: the disk is full \(ENOSPC\); the summary above is printed all the same$/m);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
  assert.match(result.stderr, new RegExp(`^wrote ${html.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  assert.match(readFileSync(html, 'utf8'), /^<!DOCTYPE html>/);
});

test('a --json or --html path in a missing folder is refused before any training, exit 2', () => {
  const missing = join(tmpdir(), 'rl-no-such-folder', 'nested', 'run.json');
  const result = probe(['--json', missing]);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /cannot write --json .*run\.json: the folder .*nested does not exist/);
  assert.doesNotMatch(result.stderr, /started on/, 'nothing was trained');
  const folder = mkdtempSync(join(tmpdir(), 'rl-probe-dir-'));
  const asFolder = probe(['--html', folder]);
  assert.equal(asFolder.status, 2);
  assert.match(asFolder.stderr, /cannot write --html .*: it is a folder/);
});
