// The "Probe This Model" requests of the real language server, over JSON-RPC: the
// models of a document, and the graphs of one of them (by name or by cursor position),
// from the editor's text or from disk; errors as answers, and cancellation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node';
import { extractModelMethod, listModelsMethod, type ExtractModelResult, type ListModelsResult } from '../../src/server/modelProtocol';
import { LanguageServerProcess } from '../support/lspClient';
import { examplesDir } from '../support/paths';
import { tinyResidualWithoutInputShape } from '../support/probeModelSources';

const resnetPath = join(examplesDir, 'pytorch', 'resnet_cifar.py');
const resnetText = readFileSync(resnetPath, 'utf8');
const resnetLines = resnetText.split('\n');
const resnetUri = `file://${resnetPath}`;
const lineOf = (text: string): number => {
  const line = resnetLines.findIndex((l) => l.trim() === text);
  assert.ok(line >= 0, `the example has the line ${text}`);
  return line;
};

test('listModels names the example’s models with their lines; the top-level one is the ResNet', async () => {
  const { server } = await LanguageServerProcess.start({ workspaceScan: false });
  try {
    await server.open(resnetUri, 'python', resnetText, 3);
    const listed = (await server.connection.sendRequest(listModelsMethod, { uri: resnetUri })) as ListModelsResult;
    assert.equal(listed.documentVersion, 3, 'the open document’s version');
    const byName = new Map(listed.models.map((m) => [m.name, m]));
    const resnet = byName.get('CifarResNet');
    const block = byName.get('BasicBlock');
    assert.ok(resnet && block, `models: ${listed.models.map((m) => m.name).join(', ')}`);
    assert.equal(resnet.framework, 'pytorch');
    assert.equal(resnet.source.line, lineOf('class CifarResNet(nn.Module):'));
    assert.ok(resnet.endLine >= lineOf('return self.linear(out)'), 'the class ends after its forward');
    assert.equal(resnet.topLevel, true);
    assert.equal(block.topLevel, false, 'BasicBlock is used inside CifarResNet');

    const none = (await server.connection.sendRequest(listModelsMethod, { uri: 'file:///no/such/file.py' })) as ListModelsResult;
    assert.deepEqual(none.models, [], 'a missing file has no models, and the server stays up');
  } finally {
    await server.stop();
  }
});

test('extractModel at a cursor in the class gives its graphs: source names and lines, the plain twin’s raw material, depth variants', async () => {
  const { server } = await LanguageServerProcess.start({ workspaceScan: false });
  try {
    await server.open(resnetUri, 'python', resnetText, 7);
    const cursor = lineOf('out = self.layer2(out)');
    const result = (await server.connection.sendRequest(extractModelMethod, { uri: resnetUri, position: { line: cursor, character: 8 } })) as ExtractModelResult;
    assert.ok(!('error' in result), 'error' in result ? result.error : '');
    assert.equal(result.documentVersion, 7);
    const extraction = result.extraction;
    assert.equal(extraction.modelName, 'CifarResNet');
    assert.deepEqual(extraction.unsupported, []);
    assert.deepEqual(extraction.inputShape?.slice(1), [3, 32, 32], 'the input of the file’s torch.randn call');
    const model = extraction.variants.find((v) => v.role === 'model');
    assert.ok(model, 'the model variant');
    const conv = model.graph.nodes.find((n) => n.name === 'layer1.0.conv1');
    assert.ok(conv, `nodes: ${model.graph.nodes.slice(0, 12).map((n) => n.name).join(', ')}…`);
    assert.equal(conv.op.op, 'conv');
    assert.equal(conv.source?.line, lineOf('self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)'));
    assert.equal(conv.source?.uri, resnetUri);
    assert.ok(model.graph.nodes.some((n) => n.op.op === 'add' && n.op.residual), 'residual additions are marked');
    // ResNet-20: the stem, 9 blocks of two convs and the classifier (20), plus the projection shortcuts of layer2.0 and layer3.0.
    assert.equal(model.graph.nodes.filter((n) => n.op.op === 'conv' || n.op.op === 'linear').length, 22);
    assert.deepEqual(
      extraction.variants.map((v) => v.role).sort(),
      ['deeper', 'model', 'shallower'],
      'num_blocks sets the depth: a shallower and a deeper version',
    );
    assert.equal(extraction.depthParameter?.name, 'num_blocks');
  } finally {
    await server.stop();
  }
});

test('extractModel: a missing class, a cursor outside any model and a bad input shape are answered with a clear error', async () => {
  const { server } = await LanguageServerProcess.start({ workspaceScan: false });
  try {
    // Not open: read from disk, so there is no editor version.
    const missing = (await server.connection.sendRequest(extractModelMethod, { uri: resnetUri, modelName: 'ResNet50' })) as ExtractModelResult;
    assert.ok('error' in missing);
    assert.equal(missing.documentVersion, null);
    assert.match(missing.error, /no model named ResNet50 in resnet_cifar\.py/);
    assert.match(missing.error, /CifarResNet/);
    const outside = (await server.connection.sendRequest(extractModelMethod, { uri: resnetUri, position: { line: 0, character: 0 } })) as ExtractModelResult;
    assert.ok('error' in outside);
    assert.match(outside.error, /not inside a model/);
    const badShape = (await server.connection.sendRequest(extractModelMethod, { uri: resnetUri, modelName: 'CifarResNet', inputShape: [0, 'x'] })) as ExtractModelResult;
    assert.ok('error' in badShape);
    assert.match(badShape.error, /input shape/);
  } finally {
    await server.stop();
  }
});

test('extractModel: a model whose input the file does not say asks for one; with it, the graph is built', async () => {
  const { server } = await LanguageServerProcess.start({ workspaceScan: false });
  try {
    const uri = 'file:///tmp/residual-lens-no-input.py';
    const text = tinyResidualWithoutInputShape;
    await server.open(uri, 'python', text, 1);
    const asked = (await server.connection.sendRequest(extractModelMethod, { uri, modelName: 'TinyResidual' })) as ExtractModelResult;
    assert.ok(!('error' in asked), 'error' in asked ? asked.error : '');
    assert.ok(asked.extraction.needsInputShape?.length, 'the symbols the user must give');
    const given = (await server.connection.sendRequest(extractModelMethod, { uri, modelName: 'TinyResidual', inputShape: [1, 3, 16, 16] })) as ExtractModelResult;
    assert.ok(!('error' in given), 'error' in given ? given.error : '');
    assert.equal(given.extraction.needsInputShape, undefined);
    const model = given.extraction.variants.find((v) => v.role === 'model')!;
    assert.deepEqual(model.graph.nodes[model.graph.output]!.shape, [1, 10]);
  } finally {
    await server.stop();
  }
});

test('extractModel is cancellable: a request cancelled at once is answered RequestCancelled, and the server keeps serving', async () => {
  const { server } = await LanguageServerProcess.start({ workspaceScan: false });
  try {
    await server.open(resnetUri, 'python', resnetText, 1);
    const source = new CancellationTokenSource();
    const pending = server.connection.sendRequest(extractModelMethod, { uri: resnetUri, modelName: 'CifarResNet' }, source.token);
    source.cancel();
    await assert.rejects(pending, (err: unknown) => err instanceof ResponseError && err.code === -32800);
    const after = (await server.connection.sendRequest(listModelsMethod, { uri: resnetUri })) as ListModelsResult;
    assert.ok(after.models.some((m) => m.name === 'CifarResNet'));
  } finally {
    await server.stop();
  }
});

test('the dispatcher picks the front end by framework: Keras and TF.js files list their models, and a model that cannot be built says why', async () => {
  const { server } = await LanguageServerProcess.start({ workspaceScan: false });
  try {
    for (const [path, language, framework] of [
      [join(examplesDir, 'keras', 'resnet_block.py'), 'python', 'keras'],
      [join(examplesDir, 'tfjs', 'residual.ts'), 'typescript', 'tfjs'],
    ] as const) {
      const uri = `file://${path}`;
      await server.open(uri, language, readFileSync(path, 'utf8'), 1);
      const listed = (await server.connection.sendRequest(listModelsMethod, { uri })) as ListModelsResult;
      const model = listed.models.find((m) => m.name === 'model');
      assert.ok(model, `${framework}: models ${listed.models.map((m) => `${m.name} (${m.framework})`).join(', ')}`);
      assert.equal(model.framework, framework);
      // Both examples add a 16-channel input to a 32-channel output: the probe refuses, naming both shapes.
      const result = (await server.connection.sendRequest(extractModelMethod, { uri, modelName: 'model' })) as ExtractModelResult;
      const reasons = 'error' in result ? result.error : result.extraction.unsupported.map((u) => u.reason).join('; ');
      assert.match(reasons, /shapes do not match.*32.*16|16.*32/, `${framework}: ${reasons}`);
    }
  } finally {
    await server.stop();
  }
});
