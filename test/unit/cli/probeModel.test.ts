// `residual-lens probe --model path:Class`, the built CLI as a user runs it: the example
// ResNet-20 probed end to end (front end, plain twin, TF.js worker), and the clear errors
// for a missing class, a missing input shape, a layer it cannot build and a bad target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProbeRecord } from '../../../src/core/probe/record';
import { distDir, examplesDir, fixturesDir, repoRoot } from '../../support/paths';
import { tinyResidualWithoutInputShape } from '../../support/probeModelSources';

const cli = join(distDir, 'cli.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 300_000 });
const example = join(examplesDir, 'pytorch', 'resnet_cifar.py');
const exampleLines = readFileSync(example, 'utf8').split('\n');

test('probe --model trains the example ResNet-20 with its plain twin and depth variants, and prints the verdict', () => {
  const folder = mkdtempSync(join(tmpdir(), 'rl-cli-model-'));
  try {
    const json = join(folder, 'probe.json');
    const result = run(['probe', '--model', `${example}:CifarResNet`, '--steps', '4', '--no-depth-twins', '--json', json]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /CifarResNet \(pytorch, .*resnet_cifar\.py:\d+\) read in \d+ ms on input \(2, 3, 32, 32\)/);
    for (const id of ['model', 'model-plain', 'shallower', 'deeper']) assert.match(result.stderr, new RegExp(`^  ${id}: `, 'm'), `lists ${id}`);
    assert.match(result.stdout, /^CifarResNet: residual \d+\.\d\d vs plain twin \d+\.\d\d: .+$/m);
    const record = JSON.parse(readFileSync(json, 'utf8')) as ProbeRecord;
    assert.deepEqual(record.variants.map((v) => v.name), ['model', 'model-plain', 'shallower', 'deeper']);
    assert.ok(record.variants.every((v) => v.status === 'done'), record.variants.map((v) => `${v.name} ${v.status} ${v.error?.message ?? ''}`).join('; '));
    const model = record.variants.find((v) => v.name === 'model')!;
    const plain = record.variants.find((v) => v.name === 'model-plain')!;
    // PyTorch's count for ResNet-20 option B (convs without bias, BN weight and bias, the linear layer).
    assert.equal(model.params, 272_474);
    assert.equal(plain.params, 272_474 - (16 * 32 + 2 * 32) - (32 * 64 + 2 * 64), 'the twin drops the two projection shortcuts');
    const conv = model.layers.find((l) => l.name === 'layer1.0.conv1');
    assert.ok(conv, `layers: ${model.layers.map((l) => l.name).join(', ')}`);
    assert.match(exampleLines[conv.sourceLine!]!, /self\.conv1 = nn\.Conv2d\(in_planes, planes/);
    assert.equal(conv.sourceUri, example);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('probe --model: a batch under 16 is said, with the smaller input that allows a larger one; --scale-down probes it there', () => {
  const folder = mkdtempSync(join(tmpdir(), 'rl-cli-model-'));
  try {
    const json = join(folder, 'probe.json');
    const asIs = run(['probe', '--model', `${example}:CifarResNet`, '--steps', '2', '--no-depth-twins', '--json', json]);
    assert.equal(asIs.status, 0, asIs.stderr);
    const batch = Number(/^note: batch size (\d+) only: .*BatchNorm's statistics are noisy and 2 steps learn little; Scale Down \(input size ÷ \d, input \(2, 3, \d+, \d+\)\) allows batch (\d+)$/m.exec(asIs.stderr)?.[1]);
    assert.ok(batch < 16, asIs.stderr);
    assert.match(asIs.stderr, /^CifarResNet trains at batch \d+ on its input: add --scale-down to probe it on input \(2, 3, (16|8), \1\) instead of \(2, 3, 32, 32\) at batch (16|32|64)$/m);
    const record = JSON.parse(readFileSync(json, 'utf8')) as ProbeRecord;
    assert.equal(record.plan?.batchSize, batch, 'the model keeps its input: the batch is the one the note names');
    assert.ok(record.plan?.notes?.some((n) => n.startsWith(`batch size ${batch} only`)), `plan notes: ${JSON.stringify(record.plan?.notes)}`);

    const scaled = run(['probe', '--model', `${example}:CifarResNet`, '--steps', '2', '--no-depth-twins', '--scale-down', '--json', json]);
    assert.equal(scaled.status, 0, scaled.stderr);
    assert.match(scaled.stderr, /^CifarResNet trains at batch \d+ on its input: probing it on input \(2, 3, (16|8), \1\) .* at batch (\d+) \(--scale-down\)$/m);
    const scaledRecord = JSON.parse(readFileSync(json, 'utf8')) as ProbeRecord;
    assert.ok(scaledRecord.plan!.batchSize >= 16, `batch ${scaledRecord.plan!.batchSize}`);
    assert.ok(scaledRecord.variants.every((v) => v.status === 'done'));
    assert.doesNotMatch(scaled.stderr, /only: a step is kept near/);
    assert.match(scaledRecord.plan?.notes?.[0] ?? '', /^scaled down \(--scale-down\): probed on input \(2, 3, (16|8), \1\) instead of \(2, 3, 32, 32\), for batch \d+ instead of \d+$/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('probe --model: where the probed model differs from the file (an initializer, outputs after the first) is printed and kept in the record', () => {
  const folder = mkdtempSync(join(tmpdir(), 'rl-cli-model-'));
  try {
    const json = join(folder, 'probe.json');
    const fixture = join(fixturesDir, 'probe-models', 'keras', 'initializers_and_outputs.py');
    const result = run(['probe', '--model', `${fixture}:two_heads`, '--steps', '2', '--json', json]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /^note: two_heads has 2 outputs; the probe trains the first$/m);
    assert.match(result.stderr, /^note: conv2d, conv2d_1: kernel_initializer='he_normal' is not followed: the probe initialises with the framework's default \(glorot_uniform\)$/m);
    const record = JSON.parse(readFileSync(json, 'utf8')) as ProbeRecord;
    assert.ok(record.plan?.notes?.some((n) => /has 2 outputs/.test(n)), `plan notes: ${JSON.stringify(record.plan?.notes)}`);
    assert.ok(record.notes.some((n) => /he_normal/.test(n)), `record notes: ${JSON.stringify(record.notes)}`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('probe --model: a missing class and a malformed target are usage errors (exit 2) that say what exists', () => {
  const missing = run(['probe', '--model', `${example}:ResNet50`]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^residual-lens: no model named ResNet50 in resnet_cifar\.py: .*CifarResNet/m);
  const malformed = run(['probe', '--model', example]);
  assert.equal(malformed.status, 2);
  assert.match(malformed.stderr, /--model must look like path\/to\/model\.py:ClassName/);
  const noFile = run(['probe', '--model', '/no/such/model.py:Net']);
  assert.equal(noFile.status, 2);
  assert.match(noFile.stderr, /no such file: \/no\/such\/model\.py/);
  const mixed = run(['probe', '--model', `${example}:CifarResNet`, '--depths', '20,56']);
  assert.equal(mixed.status, 2);
  assert.match(mixed.stderr, /--depths applies to the built-in CIFAR networks, not to --model/);
});

test('probe --model: a model without an input shape, one with a layer it cannot build and one too large are explained (exit 1)', () => {
  const folder = mkdtempSync(join(tmpdir(), 'rl-cli-model-'));
  try {
    const noInput = join(folder, 'no_input.py');
    writeFileSync(
      noInput,
      tinyResidualWithoutInputShape,
    );
    const asked = run(['probe', '--model', `${noInput}:TinyResidual`]);
    assert.equal(asked.status, 1, asked.stderr);
    assert.match(asked.stderr, /TinyResidual needs an input shape: .* Give the whole input with --input-shape, batch first \(e\.g\. --input-shape 1,3,32,32\)/);

    const unsupported = join(folder, 'unsupported.py');
    writeFileSync(
      unsupported,
      [
        'import torch',
        'import torch.nn as nn',
        '',
        'class Recurrent(nn.Module):',
        '    def __init__(self):',
        '        super().__init__()',
        '        self.rnn = nn.LSTM(16, 16, batch_first=True)',
        '        self.head = nn.Linear(16, 4)',
        '',
        '    def forward(self, x):',
        '        y, _ = self.rnn(x)',
        '        return self.head(y + x)',
        '',
        'if __name__ == "__main__":',
        '    Recurrent()(torch.randn(2, 8, 16))',
        '',
      ].join('\n'),
    );
    const refused = run(['probe', '--model', `${unsupported}:Recurrent`]);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /unsupported\.py:\d+: cannot build .*(LSTM|rnn)/);
    assert.match(refused.stderr, /cannot probe Recurrent|--prefix/);

    // Too large for a probe at its own input: refused with the numbers, and the smaller input that fits.
    const large = join(folder, 'large.py');
    writeFileSync(
      large,
      [
        'import torch',
        'import torch.nn as nn',
        '',
        'class WideNet(nn.Module):',
        '    def __init__(self):',
        '        super().__init__()',
        '        self.stem = nn.Conv2d(3, 64, 3, padding=1)',
        '        self.conv = nn.Conv2d(64, 64, 3, padding=1)',
        '        self.head = nn.Linear(64, 10)',
        '',
        '    def forward(self, x):',
        '        x = self.stem(x)',
        '        x = x + self.conv(x)',
        '        return self.head(x.mean((2, 3)))',
        '',
        'if __name__ == "__main__":',
        '    WideNet()(torch.randn(2, 3, 512, 512))',
        '',
      ].join('\n'),
    );
    const tooLarge = run(['probe', '--model', `${large}:WideNet`]);
    assert.equal(tooLarge.status, 1, tooLarge.stderr);
    assert.match(tooLarge.stderr, /WideNet is too large to probe: .*over the limit of/);
    assert.match(tooLarge.stderr, /Add --scale-down to probe it on input \(\d+, 3, (256|128|64|32), \1\) instead of \(\d+, 3, 512, 512\)/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
