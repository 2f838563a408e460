import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distDir, repoRoot } from '../../support/paths';

const cli = join(distDir, 'cli.js');
const run = (args: string[], cwd = repoRoot) => spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });

test('--help and --version answer and exit 0', () => {
  const help = run(['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: residual-lens/);
  const version = run(['--version']);
  assert.equal(version.status, 0);
  assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version);
});

test('usage errors exit 2 with one line on stderr', () => {
  for (const args of [['frobnicate'], ['check'], ['check', '--format', 'xml', '.'], ['check', '/no/such/folder']]) {
    const result = run(args);
    assert.equal(result.status, 2, `${args.join(' ')} exits 2`);
    assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
    assert.match(result.stderr, /^residual-lens: /);
  }
  assert.match(run(['check', '/no/such/folder']).stderr, /no such file or folder: \/no\/such\/folder/);
});

test('check walks folders, skips node_modules, virtual environments, binary, empty and non-UTF-8 files, and prints JSON', () => {
  const root = mkdtempSync(join(tmpdir(), 'rl-cli-'));
  try {
    const write = (path: string, data: string | Buffer) => {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), data);
    };
    write('model.py', 'import torch\nimport torch.nn as nn\n\nclass Net(nn.Module):\n    def forward(self, x):\n        return x\n');
    write('empty.py', '');
    write('binary.py', Buffer.from([0x69, 0x6d, 0x00, 0x01, 0x02]));
    write('latin1.py', Buffer.from('import torch\n# caf\xe9\n', 'latin1'));
    write('node_modules/lib/model.py', 'import torch\n');
    write('env/pyvenv.cfg', 'home = /usr\n');
    write('env/lib/model.py', 'import torch\n');
    write('notes.txt', 'import torch\n');
    const result = run(['check', '--format', 'json', '--verbose', root], root);
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { version: number; files: number; findings: unknown[] };
    assert.equal(report.version, 1);
    assert.equal(report.files, 4, 'model.py, empty.py, binary.py, latin1.py');
    assert.deepEqual(report.findings, []);
    assert.match(result.stderr, /binary\.py: skipped \(binary file\)/);
    assert.match(result.stderr, /latin1\.py: skipped \(not UTF-8 text\)/);
    assert.match(result.stderr, /empty\.py: skipped \(empty file\)/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('SARIF output is a valid 2.1.0 log', () => {
  const result = run(['check', '--format', 'sarif', 'examples/pytorch/resnet_cifar.py']);
  assert.equal(result.status, 0, result.stderr);
  const sarif = JSON.parse(result.stdout) as { version: string; runs: Array<{ tool: { driver: { name: string } }; results: unknown[] }> };
  assert.equal(sarif.version, '2.1.0');
  assert.equal(sarif.runs[0]!.tool.driver.name, 'Residual Lens');
  assert.ok(Array.isArray(sarif.runs[0]!.results));
});

test('an error finding exits 1 and prints file:line:col, the rule and both shapes', () => {
  const result = run(['check', 'examples/pytorch']);
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stdout, /^examples\/pytorch\/missing_projection\.py:20:15: error residual-shape-mismatch: .*\(2, 32, 16, 16\).*\(2, 16, 32, 32\)/m);
  assert.match(result.stderr, /2 file\(s\) checked, 1 error\(s\)/);
  const json = JSON.parse(run(['check', '--format', 'json', 'examples/pytorch']).stdout) as { findings: Array<Record<string, unknown>> };
  assert.deepEqual(
    json.findings.map((f) => [f.file, f.line, f.column, f.rule, f.severity, f.kind]),
    [['examples/pytorch/missing_projection.py', 20, 15, 'residual-shape-mismatch', 'error', 'both']],
  );
  assert.deepEqual(json.findings[0]!.shapes, ['(2, 32, 16, 16)', '(2, 16, 32, 32)']);
});

test('--input-shape is validated', () => {
  const result = run(['check', '--input-shape', '1,-3', 'examples']);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /--input-shape must look like N,3,224,224/);
});
