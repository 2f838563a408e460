import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LanguageServerProcess } from '../support/lspClient';
import { listWorkspaceSources, enabledExcludeGlobs } from '../../src/server/workspaceScan';

function makeWorkspace(): string {
  const root = mkdtempSync(join(tmpdir(), 'rl-scan-'));
  const write = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('models/net.py', 'import torch\nimport torch.nn as nn\nclass Net(nn.Module):\n    pass\n');
  write('models/util.py', 'def add(a, b):\n    return a + b\n');
  write('web/model.ts', "import * as tf from '@tensorflow/tfjs';\n");
  write('generated/big_model.py', 'import torch\n');
  write('.gitignore', 'generated/\n');
  write('node_modules/pkg/index.js', "require('@tensorflow/tfjs');\n");
  write('.venv/pyvenv.cfg', 'home = /usr/bin\n');
  write('.venv/lib/torch_model.py', 'import torch\n');
  write('scratch/tmp_model.py', 'import torch\n');
  write('types.d.ts', 'export {};\n');
  return root;
}

test('the workspace listing skips node_modules, virtual environments, .gitignore and files.exclude', () => {
  const root = makeWorkspace();
  try {
    const files = listWorkspaceSources(root, enabledExcludeGlobs({ '**/scratch': true, '**/.DS_Store': true, '**/off': false }));
    assert.deepEqual(
      files.map((f) => f.slice(root.length + 1)),
      ['models/net.py', 'models/util.py', 'web/model.ts'],
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the server scans the workspace on startup and logs what it found', async () => {
  const root = makeWorkspace();
  const { server } = await LanguageServerProcess.start({}, root, { 'files.exclude': { '**/scratch': true } });
  try {
    const deadline = Date.now() + 10000;
    while (!server.logs.some((l) => l.startsWith('Workspace scan:')) && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 50));
    const line = server.logs.find((l) => l.startsWith('Workspace scan:'));
    assert.ok(line, `scan log line; logs: ${server.logs.join(' | ')}`);
    assert.match(line, /3 source files, 2 with model code/);
  } finally {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
});
