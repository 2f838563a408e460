// Shape annotations (hover and inlay hints), the input-shape option, and imports
// resolved from a file: URI, through analyzeDocument as the server calls it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fixturesDir } from '../../support/paths';
import { analyzeText, loadGrammars } from '../../support/pytorchFixtures';
import { modulePathCandidates } from '../../../src/core/pytorch/checker';

const model = `import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride=stride)

    def forward(self, x):
        größe = self.conv1(x)  # ünïcödé before nothing
        out = F.relu(größe) + self.shortcut(x)
        return out


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Block(3, 16)
        self.b = Block(16, 32, stride=2)

    def forward(self, x):
        y = self.a(x)
        z = self.b(y)
        return z


if __name__ == "__main__":
    Net()(torch.randn(2, 3, 32, 32))
`;

test('annotations give the shapes of forward variables and layer calls', async () => {
  const result = analyzeText(await loadGrammars(), '/work/model.py', model);
  assert.deepEqual(result.findings, []);
  const lines = model.split('\n');
  const find = (kind: string, name: string, line: number) => result.annotations.find((a) => a.kind === kind && a.name === name && a.range.start.line === line);

  const yLine = lines.findIndex((l) => l.includes('y = self.a(x)'));
  assert.equal(find('variable', 'y', yLine)?.shape, '(2, 16, 32, 32)');
  const zLine = lines.findIndex((l) => l.includes('z = self.b(y)'));
  assert.equal(find('variable', 'z', zLine)?.shape, '(2, 32, 16, 16)');

  // A block used twice shows both shapes.
  const outLine = lines.findIndex((l) => l.includes('out = F.relu'));
  assert.equal(find('variable', 'out', outLine)?.shape, '(2, 16, 32, 32) | (2, 32, 16, 16)');
  const conv = find('layer', 'self.conv1', lines.findIndex((l) => l.includes('größe = self.conv1(x)')));
  assert.equal(conv?.shape, 'Conv2d(3→16, kernel 3) → (2, 16, 32, 32) | Conv2d(16→32, kernel 3, stride 2) → (2, 32, 16, 16)');

  // Ranges are LSP positions: UTF-16 columns, right on the name even on a non-ASCII line.
  const gLine = lines.findIndex((l) => l.includes('größe = self.conv1(x)'));
  const g = find('variable', 'größe', gLine);
  assert.ok(g);
  assert.equal(lines[gLine]!.slice(g.range.start.character, g.range.end.character), 'größe');
  const convRange = conv!.range;
  assert.equal(lines[gLine]!.slice(convRange.start.character, convRange.end.character), 'self.conv1');

  // One inlay hint at the end of each forward line that assigns a tensor.
  const hint = result.annotations.find((a) => a.kind === 'line-end' && a.range.start.line === zLine);
  assert.equal(hint?.range.start.character, lines[zLine]!.length);
  assert.equal(hint?.shape, '(2, 32, 16, 16)');
});

test('a block no entry point builds is annotated with symbolic shapes', async () => {
  const text = readFileSync(join(fixturesDir, 'pytorch', 'c23_symbolic_block_ok.py'), 'utf8');
  const result = analyzeText(await loadGrammars(), '/work/c23.py', text);
  const y = result.annotations.find((a) => a.kind === 'variable' && a.name === 'y');
  assert.equal(y?.shape, '(N, planes * 4, (H - 1) // stride + 1, (W - 1) // stride + 1)');
});

test('the inputShape option sets the model input when the file does not', async () => {
  const text = `import torch.nn as nn
import torch.nn.functional as F


class TwoWays(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x) + F.max_pool2d(x, 2)
`;
  const grammars = await loadGrammars();
  assert.deepEqual(analyzeText(grammars, '/work/two.py', text).findings, [], 'even sizes are fine');
  const odd = analyzeText(grammars, '/work/two.py', text, { inputShape: [1, 8, 31, 31] });
  assert.equal(odd.findings.length, 1);
  assert.deepEqual(odd.findings[0]!.shapes, ['(1, 8, 16, 16)', '(1, 8, 15, 15)']);
});

test('imports resolve next to a document given as a file: URI', async () => {
  const path = join(fixturesDir, 'pytorch', 'b15_cross_file.py');
  const uri = pathToFileURL(path).href;
  const result = analyzeText(await loadGrammars(), uri, readFileSync(path, 'utf8'));
  assert.equal(result.findings.length, 1, result.log.join('\n'));
  assert.match(result.findings[0]!.message, /Model\.b2/);
});

test('absolute package imports resolve from the folders above the document', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'residual-lens-pkg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'models'));
  writeFileSync(join(dir, 'models', '__init__.py'), '');
  writeFileSync(join(dir, 'models', 'blocks.py'), 'import torch.nn as nn\n\n\nclass Plain(nn.Module):\n    def __init__(self, cin, cout):\n        super().__init__()\n        self.conv = nn.Conv2d(cin, cout, 3, padding=1)\n\n    def forward(self, x):\n        return self.conv(x)\n');
  const text = 'import torch.nn as nn\nfrom models.blocks import Plain\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.body = Plain(8, 16)\n\n    def forward(self, x):\n        return self.body(x) + x\n';
  const result = analyzeText(await loadGrammars(), pathToFileURL(join(dir, 'train.py')).href, text);
  assert.equal(result.findings.length, 1, result.log.join('\n'));
  assert.deepEqual(result.findings[0]!.shapes, ['(N, 16, H, W)', '(N, 8, H, W)']);
  assert.deepEqual(modulePathCandidates('/w/app/train.py', 'models.blocks', 0).slice(0, 4), ['/w/app/models/blocks.py', '/w/app/models/blocks/__init__.py', '/w/models/blocks.py', '/w/models/blocks/__init__.py']);
  assert.deepEqual(modulePathCandidates('file:///w/app/nets/res.py', 'blocks', 2), ['file:///w/app/blocks.py', 'file:///w/app/blocks/__init__.py']);
});

test('nanoGPT attention is followed through split, view, transpose and matmul', async () => {
  const text = readFileSync(join(fixturesDir, 'pytorch', 'c04_nanogpt.py'), 'utf8');
  const result = analyzeText(await loadGrammars(), '/work/c04.py', text);
  const lines = text.split('\n');
  const at = (needle: string, name: string) => result.annotations.find((a) => a.kind === 'variable' && a.name === name && a.range.start.line === lines.findIndex((l) => l.includes(needle)))?.shape;
  assert.equal(at('q, k, v = self.c_attn(x).split', 'q'), '(2, 16, 128)');
  assert.equal(at('k = k.view(B, T', 'k'), '(2, 4, 16, 32)');
  assert.equal(at('att = (q @ k.transpose', 'att'), '(2, 4, 16, 16)');
  assert.equal(at('y = y.transpose(1, 2).contiguous()', 'y'), '(2, 16, 128)');
  assert.equal(at('x = x + self.mlp(self.ln_2(x))', 'x'), '(2, 16, 128)');
});
