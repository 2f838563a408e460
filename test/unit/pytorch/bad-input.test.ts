// Bad input must cost bounded time, never throw, and never produce a finding from a
// guess: half-typed code, syntax errors elsewhere, recursion, huge loops, deep
// nesting, very long files, names that shadow `nn`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeText, loadGrammars } from '../../support/pytorchFixtures';

const header = 'import torch\nimport torch.nn as nn\n';

const buggyBlock = `
class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)

    def forward(self, x):
        return self.conv(x) + x


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block(8, 16)

    def forward(self, x):
        return self.block(x)
`;

async function check(text: string, budgetMs = 2000) {
  const grammars = await loadGrammars();
  const started = performance.now();
  const result = analyzeText(grammars, '/work/bad.py', text, { budgetMs });
  const elapsed = performance.now() - started;
  assert.equal(result.log.filter((l) => / failed: /.test(l)).length, 0, `the checker threw:\n${result.log.join('\n')}`);
  return { result, elapsed };
}

const addLine = (text: string, needle: string): number => text.split('\n').findIndex((l) => l.includes(needle));

test('half-typed code in forward gives no finding and no crash', async () => {
  const text = header + buggyBlock.replace('        return self.conv(x) + x', '        y = self.conv(x\n        return y + x');
  const { result } = await check(text);
  assert.deepEqual(result.findings, []);
  assert.ok(result.syntaxErrors.length > 0);
});

test('a syntax error elsewhere leaves the rest of the file checked', async () => {
  const text = header + buggyBlock + '\n\ndef helper(:\n    return [\n';
  const { result } = await check(text);
  assert.deepEqual(result.findings.map((f) => f.range.start.line), [addLine(text, 'self.conv(x) + x')]);
  assert.match(result.log.join('\n'), /syntax error/);
});

test('a module that contains itself and a _make_layer that calls itself end at the depth limit', async () => {
  const text = `${header}
class Loop(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = Loop()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return x + self.inner(x)


class Maker(nn.Module):
    def __init__(self, n=3):
        super().__init__()
        self.layers = self._make_layer(n)

    def _make_layer(self, n):
        return self._make_layer(n + 1)

    def forward(self, x):
        return x + self.layers(x)


class Again(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return self.forward(self.conv(x)) + x
`;
  const { result, elapsed } = await check(text);
  assert.deepEqual(result.findings, []);
  assert.match(result.log.join('\n'), /nested deeper than/);
  assert.ok(elapsed < 3000, `${elapsed} ms`);
});

test('range(10**9) and while True are not followed; what they assign becomes unknown', async () => {
  const text = `${header}
class Big(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList()
        for i in range(10**9):
            self.layers.append(nn.Conv2d(3, 3, 3, padding=1))
        self.head = nn.Conv2d(3, 8, 3, padding=1)
        width = 3
        while True:
            width = width * 2

    def forward(self, x):
        for layer in self.layers:
            x = x + layer(x)
        return self.head(x) + x
`;
  const { result, elapsed } = await check(text);
  assert.deepEqual(result.findings, [], 'x is unknown after the skipped loop: nothing may be reported');
  assert.match(result.log.join('\n'), /too long to follow/);
  assert.ok(elapsed < 2000, `${elapsed} ms`);
});

test('deeply nested expressions are cut at the depth limit', async () => {
  const depth = 2000;
  const nested = Array.from({ length: depth }, () => '(').join('\n') + 'x' + Array.from({ length: depth }, () => ')').join('\n');
  const sum = Array.from({ length: 2000 }, () => 'x').join(' +\n            ');
  const text = `${header}
class Deep(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)

    def forward(self, x):
        y = ${nested}
        z = (${sum})
        return self.conv(y) + z
`;
  const { result, elapsed } = await check(text);
  assert.deepEqual(result.findings, []);
  assert.ok(elapsed < 5000, `${elapsed} ms`);
});

test('a 10 000-line file is checked within the budget', async () => {
  const parts = [header, buggyBlock];
  let i = 0;
  while (parts.join('').split('\n').length < 10_000) {
    parts.push(`
class Stage${i}(nn.Module):
    def __init__(self, cin=${8 + (i % 4)}, cout=16):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.bn = nn.BatchNorm2d(cout)
        self.skip = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        y = self.bn(self.conv(x))
        return y + self.skip(x)
`);
    i++;
  }
  const text = parts.join('');
  assert.ok(text.split('\n').length >= 10_000);
  const { result, elapsed } = await check(text, 2000);
  assert.ok(elapsed < 6000, `${elapsed} ms`);
  const bugLine = addLine(text, 'self.conv(x) + x');
  for (const f of result.findings) assert.equal(f.range.start.line, bugLine, f.message);
});

test('a tiny budget stops the interpreter with a log line, not a guess', async () => {
  const text = header + buggyBlock + '\nif __name__ == "__main__":\n    Net()(torch.randn(2, 8, 32, 32))\n';
  const { result } = await check(text, 0);
  assert.match(result.log.join('\n'), /budget spent/);
  for (const f of result.findings) assert.equal(f.range.start.line, addLine(text, 'self.conv(x) + x'));
});

test('names that shadow nn or its layers are never mistaken for torch', async () => {
  const text = `${header}
class Conv2d(nn.Module):
    def __init__(self, a, b, k):
        super().__init__()

    def forward(self, x):
        return x


class Mine(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = Conv2d(8, 16, 3)

    def forward(self, x):
        return self.conv(x) + x


class Shadowed(nn.Module):
    def __init__(self):
        super().__init__()
        nn = object()
        self.conv = nn.Conv2d(8, 16, 3)

    def forward(self, x):
        return self.conv(x) + x
`;
  const { result } = await check(text);
  assert.deepEqual(result.findings, []);
});
