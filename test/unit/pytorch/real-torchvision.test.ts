// The real torchvision model sources (Debian's python3-torchvision, read where it is
// installed, never copied into this repository): no finding on any of them, and a
// projection removed from the real resnet.py is found in the instance that breaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeText, listPythonFiles, loadGrammars } from '../../support/pytorchFixtures';

const modelsDir = '/usr/lib/python3/dist-packages/torchvision/models';
const installHint = `${modelsDir} is missing: apt-get install python3-torchvision (the real torchvision sources this test checks)`;

test('no finding on any torchvision model file', async () => {
  assert.ok(existsSync(join(modelsDir, 'resnet.py')), installHint);
  const g = await loadGrammars();
  const files = listPythonFiles(modelsDir);
  assert.ok(files.length >= 50, `only ${files.length} model files under ${modelsDir}`);
  const findings = files.flatMap((file) => analyzeText(g, file, readFileSync(file, 'utf8')).findings.map((f) => `${file}:${f.range.start.line + 1} ${f.message}`));
  assert.deepEqual(findings, []);
});

test('torchvision resnet.py with its downsample ignored: an error in each block kind, where the shapes change first', async () => {
  const path = join(modelsDir, 'resnet.py');
  assert.ok(existsSync(path), installHint);
  const g = await loadGrammars();
  const original = readFileSync(path, 'utf8');
  assert.ok(original.includes('identity = self.downsample(x)'), 'resnet.py no longer has the line this test edits');
  const broken = original.replaceAll('identity = self.downsample(x)', 'identity = x');
  // Checked in place, so its relative imports (_api, _meta, _utils) resolve as in a workspace.
  const findings = analyzeText(g, path, broken).findings;
  const lines = original.split('\n');
  const where = findings.map((f) => ({ line: lines[f.range.start.line]!.trim(), severity: f.severity, message: f.message }));
  assert.equal(where.length, 2, JSON.stringify(where, null, 1));
  for (const w of where) {
    assert.equal(w.line, 'out += identity');
    assert.equal(w.severity, 'error');
  }
  assert.match(where[0]!.message, /in `ResNet\.layer2\[0\]` \(stride 2, 64→128\)/);
  assert.match(where[0]!.message, /1x1 conv 64→128, stride 2/);
  assert.match(where[1]!.message, /in `ResNet\.layer1\[0\]` \(stride 1, 64→256\)/);
  assert.deepEqual(analyzeText(g, path, original).findings, [], 'the file as shipped');
});

// One bug at a time, put into the real sources: the check must name the instance that breaks.
const realBugs: { file: string; from: string; to: string; where: RegExp; severity?: 'warning' }[] = [
  { file: 'resnet.py', from: 'conv1x1(self.inplanes, planes * block.expansion, stride)', to: 'conv1x1(self.inplanes, planes * block.expansion)', where: /spatial size in `ResNet\.layer2\[0\]`/ },
  { file: 'mobilenetv2.py', from: 'self.use_res_connect = self.stride == 1 and inp == oup', to: 'self.use_res_connect = self.stride == 1', where: /channels in `MobileNetV2\.features\[1\]` \(stride 1, 32→16\)/ },
  { file: 'mobilenetv3.py', from: 'self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels', to: 'self.use_res_connect = cnf.stride == 1', where: /channels in `MobileNetV3\.features\[\d+\]`/ },
  { file: 'swin_transformer.py', from: 'MLP(dim, [int(dim * mlp_ratio), dim], activation_layer=nn.GELU, inplace=None, dropout=dropout)', to: 'MLP(dim, [int(dim * mlp_ratio), 2 * dim], activation_layer=nn.GELU, inplace=None, dropout=dropout)', where: /channels in `SwinTransformer\.features\[1\]\[0\]` \(96→192\)/ },
  // The encoder block, checked on its own (the ViT factories do not reach it with sizes): a warning with its condition.
  { file: 'vision_transformer.py', from: 'super().__init__(in_dim, [mlp_dim, in_dim], activation_layer=nn.GELU, inplace=None, dropout=dropout)', to: 'super().__init__(in_dim, [mlp_dim, mlp_dim], activation_layer=nn.GELU, inplace=None, dropout=dropout)', where: /when `hidden_dim != mlp_dim`/, severity: 'warning' },
  { file: 'efficientnet.py', from: 'self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels', to: 'self.use_res_connect = cnf.stride == 1', where: /channels in `EfficientNet\.features\[1\]\[0\]` \(32→16\)/ },
];

for (const bug of realBugs) {
  test(`torchvision ${bug.file} with \`${bug.to}\`: ${bug.severity === 'warning' ? 'a warning' : 'an error'}`, async () => {
    const path = join(modelsDir, bug.file);
    assert.ok(existsSync(path), installHint);
    const g = await loadGrammars();
    const original = readFileSync(path, 'utf8');
    assert.ok(original.includes(bug.from), `${bug.file} no longer has the code this test edits`);
    const findings = analyzeText(g, path, original.replaceAll(bug.from, bug.to)).findings;
    assert.ok(findings.length > 0, 'no finding');
    assert.ok(findings.every((f) => f.severity === (bug.severity ?? 'error')), JSON.stringify(findings.map((f) => f.message)));
    assert.ok(findings.some((f) => bug.where.test(f.message)), findings.map((f) => f.message).join('\n'));
  });
}
