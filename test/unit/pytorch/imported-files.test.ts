// Imported workspace files are parsed once per text and kept between checks; a change
// to an imported file must still change the importing file's findings on the next check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeText, loadGrammars } from '../../support/pytorchFixtures';

const helpersWithWidthCase = `import torch.nn as nn


def make_shortcut(in_ch, out_ch, stride):
    if stride != 1 or in_ch != out_ch:
        return nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch))
    return nn.Identity()
`;
const helpersWithoutWidthCase = helpersWithWidthCase.replace('stride != 1 or in_ch != out_ch', 'stride != 1');

const model = `import torch.nn as nn
from .helpers import make_shortcut


class Block(nn.Module):
    def __init__(self, in_ch, out_ch, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.shortcut = make_shortcut(in_ch, out_ch, stride)

    def forward(self, x):
        return self.conv(x) + self.shortcut(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Block(3, 16, 2)
        self.b = Block(16, 32)

    def forward(self, x):
        return self.b(self.a(x))
`;

test('an edit to an imported file changes the next check of the file that imports it', async () => {
  const g = await loadGrammars();
  const files = new Map([['/project/helpers.py', helpersWithWidthCase]]);
  const check = () => analyzeText(g, '/project/net.py', model, { readWorkspaceFile: (path) => files.get(path) }).findings;

  assert.deepEqual(check().map((f) => f.rule), []);
  files.set('/project/helpers.py', helpersWithoutWidthCase);
  const broken = check();
  assert.equal(broken.length, 1, 'the shortcut helper lost its width case');
  assert.equal(broken[0]!.severity, 'error');
  assert.match(broken[0]!.message, /Net\.b/);
  files.set('/project/helpers.py', helpersWithWidthCase);
  assert.deepEqual(check().map((f) => f.rule), [], 'the helper was mended');
  files.delete('/project/helpers.py');
  assert.deepEqual(check().map((f) => f.rule), [], 'an import that cannot be read leaves its names unknown');
});
