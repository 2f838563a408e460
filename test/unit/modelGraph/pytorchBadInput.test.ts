// "Probe This Model", PyTorch front end, on what users really have in the editor: the
// model list and its top-level flags, half-typed code, syntax errors elsewhere, layers
// the analyser does not know, recursion, huge loops, missing arguments, a spent time
// budget. Every case ends in bounded time with a graph or a clear message, never a throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeText, loadGrammars } from '../../support/pytorchFixtures';
import { examplesDir, fixturesDir } from '../../support/paths';
import { probeFixturesDir } from './pytorchGraphFixtures';
import { pytorchModelGraph } from '../../../src/core/modelGraph/pytorch';
import type { ModelExtraction } from '../../../src/core/modelGraph/graph';

async function extract(text: string, modelName: string, options: { inputShape?: number[]; budgetMs?: number } = {}): Promise<{ result: ModelExtraction | { error: string }; ms: number }> {
  const grammars = await loadGrammars();
  const started = performance.now();
  const result = pytorchModelGraph.extract(
    { document: { uri: 'file:///work/model.py', grammar: 'python', text }, modelName, ...(options.inputShape ? { inputShape: options.inputShape } : {}), options: { budgetMs: options.budgetMs ?? 2000 } },
    grammars,
  );
  return { result, ms: performance.now() - started };
}

const header = 'import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n';
const block = `
class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return F.relu(x + self.conv2(F.relu(self.conv1(x))))
`;

test('listModels: every nn.Module class with its lines; top-level are the ones nothing else uses or the file builds', async () => {
  const grammars = await loadGrammars();
  const list = (file: string): string[] => {
    const text = readFileSync(join(probeFixturesDir, file), 'utf8');
    return pytorchModelGraph.listModels({ uri: file, grammar: 'python', text }, grammars).map((m) => `${m.name}${m.topLevel ? '*' : ''}`);
  };
  assert.deepEqual(list('resnet20_option_a.py'), ['LambdaLayer', 'BasicBlock', 'ResNet*']);
  assert.deepEqual(list('nanogpt.py'), ['LayerNorm', 'CausalSelfAttention', 'MLP', 'Block', 'GPT*']);
  assert.deepEqual(list('needs_input.py'), ['Residual', 'StackedResidual*']);
  const text = header + block + '\nclass Config:\n    depth = 2\n\nclass Mixed(Block):\n    pass\n';
  const models = pytorchModelGraph.listModels({ uri: 'm.py', grammar: 'python', text }, grammars);
  assert.deepEqual(models.map((m) => [m.name, m.topLevel, m.source.line, m.endLine]), [['Block', true, 5, 12], ['Mixed', true, 17, 18]]);
});

test('a name that is no model of the file, or not an nn.Module, is a clear error', async () => {
  const missing = (await extract(header + block, 'Nope')).result;
  assert.deepEqual(missing, { error: 'no class Nope in model.py' });
  const plain = (await extract(header + block + '\nclass Helper:\n    pass\n', 'Helper')).result;
  assert.deepEqual(plain, { error: 'Helper is not an nn.Module subclass' });
});

test('a constructor that the file never calls with arguments: the error names them and the fix', async () => {
  const { result } = await extract(header + block, 'Block');
  assert.ok('error' in result);
  assert.match(result.error, /Block is never built with concrete arguments: the constructor needs `c`/);
  assert.match(result.error, /factory function/);
});

test('an input shape that is not whole positive numbers is refused', async () => {
  const { result } = await extract(header + block + '\ndef make():\n    return Block(8)\n', 'Block', { inputShape: [2, -8, 4, 4] });
  assert.ok('error' in result && /whole positive numbers/.test(result.error));
});

test('a syntax error elsewhere in the file does not stop the model', async () => {
  const text = header + block + '\nclass Broken(nn.Module):\n    def forward(self, x:\n        return x +\n\ndef make():\n    return Block(8)\n# residual-lens: input=(2, 8, 16, 16)\n';
  const { result } = await extract(text, 'Block', { inputShape: [2, 8, 16, 16] });
  assert.ok(!('error' in result), 'error' in result ? result.error : '');
  assert.equal(result.variants[0]!.graph.nodes.filter((n) => n.op.op === 'conv').length, 2);
});

test('half-typed forward: a clear refusal, not a guessed graph', async () => {
  const text = header + `
class Half(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        x = self.conv1(x)
        x = self.conv2(
        return x + 
`;
  const { result, ms } = await extract(text, 'Half', { inputShape: [2, 3, 8, 8] });
  assert.ok(ms < 2500);
  if ('error' in result) assert.ok(result.error.length > 10);
  else {
    assert.equal(result.variants.filter((v) => v.role === 'model' && !result.prefixOnly).length, 0, 'no full graph from broken code');
    assert.ok(result.unsupported.length > 0);
    assert.ok(result.unsupported.every((u) => u.what && u.reason));
  }
});

test('a layer the analyser does not know: the unsupported entry names it and its line', async () => {
  const text = header + `from fancy import FancyConv

class UsesFancy(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = FancyConv(3, 16)
        self.block = Block(16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.block(self.stem(x))
        return self.fc(x.mean((2, 3)))
` + block.replace('class Block', 'class Block') + '\nmodel = UsesFancy()\n';
  const { result } = await extract(text, 'UsesFancy', { inputShape: [2, 3, 16, 16] });
  assert.ok(!('error' in result), 'error' in result ? result.error : '');
  assert.equal(result.prefixOnly, undefined, 'nothing before the unknown stem to offer');
  assert.equal(result.variants.length, 0);
  assert.ok(result.unsupported.length > 0);
  assert.match(`${result.unsupported[0]!.what}: ${result.unsupported[0]!.reason}`, /self\.stem\(x\)|stem/);
});

test('recursion: a module that contains itself ends within the budget with a message', async () => {
  const text = header + `
class Forever(nn.Module):
    def __init__(self, n=3):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.inner = Forever(n)

    def forward(self, x):
        return x + self.inner(self.conv(x))
`;
  const { result, ms } = await extract(text, 'Forever', { inputShape: [1, 3, 8, 8], budgetMs: 1500 });
  assert.ok(ms < 4000, `${ms} ms`);
  assert.ok('error' in result && /nests modules deeper than 24 calls/.test(result.error), JSON.stringify(result).slice(0, 200));
});

test('a forward that calls itself forever is cut off, with a message', async () => {
  const text = header + `
class SelfCall(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return self.forward(self.conv(x))

model = SelfCall()
`;
  const { result, ms } = await extract(text, 'SelfCall', { inputShape: [1, 3, 8, 8] });
  assert.ok(ms < 4000, `${ms} ms`);
  assert.ok('error' in result && /forward nests calls deeper than 24 levels/.test(result.error), JSON.stringify(result).slice(0, 200));
});

test('a huge loop of layers is bounded by the budget', async () => {
  const text = header + `
class Huge(nn.Module):
    def __init__(self, depth=1000000):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(8, 8) for _ in range(depth)])

    def forward(self, x):
        for layer in self.layers:
            x = x + layer(x)
        return x
`;
  const { result, ms } = await extract(text, 'Huge', { inputShape: [2, 8], budgetMs: 1000 });
  assert.ok(ms < 3000, `${ms} ms`);
  // A million layers are not followed: no graph is guessed from the part that was.
  assert.ok(!('error' in result), 'error' in result ? result.error : '');
  assert.equal(result.variants.length, 0);
  assert.ok(result.unsupported.length > 0 && result.unsupported.every((u) => u.what.length > 0 && u.reason.length > 0));
});

test('a spent time budget is an error that says so', async () => {
  const text = readFileSync(join(probeFixturesDir, 'resnet50_bottleneck.py'), 'utf8');
  const { result, ms } = await extract(text, 'ResNet50', { budgetMs: 1 });
  assert.ok(ms < 2000, `${ms} ms`);
  assert.ok('error' in result && /time budget/.test(result.error), JSON.stringify(result).slice(0, 300));
});

test('the depth variants stop when the budget is spent, the model graph stays', async () => {
  const text = readFileSync(join(probeFixturesDir, 'resnet20_option_a.py'), 'utf8');
  const { result } = await extract(text, 'ResNet', { budgetMs: 20000 });
  assert.ok(!('error' in result));
  assert.deepEqual(result.variants.map((v) => v.role), ['model', 'shallower', 'deeper']);
});

test('the graph recorder is off for the shape check: its findings on the fixtures are unchanged by a probe run', async () => {
  // Extracting and then checking the same text must not leave state behind.
  const text = readFileSync(join(probeFixturesDir, 'resnet20_option_b.py'), 'utf8');
  await extract(text, 'CifarResNet');
  const result = analyzeText(await loadGrammars(), 'file:///work/model.py', text);
  assert.deepEqual(result.findings, []);
});

test('a residual addition whose shapes disagree (a missing projection) is refused with both shapes, no prefix', async () => {
  const text = readFileSync(join(examplesDir, 'pytorch', 'missing_projection.py'), 'utf8');
  const { result } = await extract(text, 'SmallResNet');
  assert.ok(!('error' in result), 'error' in result ? result.error : '');
  assert.equal(result.variants.length, 0);
  assert.equal(result.prefixOnly, undefined);
  assert.equal(result.unsupported[0]!.what, 'out + x');
  assert.match(result.unsupported[0]!.reason, /shapes \(2, 32, 16, 16\) and \(2, 16, 32, 32\) do not broadcast/);
});

test('an input shape that does not fit the first layer is refused with the channels it expects', async () => {
  const text = readFileSync(join(probeFixturesDir, 'resnet20_option_a.py'), 'utf8');
  const { result } = await extract(text, 'ResNet', { inputShape: [2, 1, 32, 32] });
  assert.ok(!('error' in result), 'error' in result ? result.error : '');
  assert.equal(result.variants.length, 0);
  assert.equal(result.prefixOnly, undefined);
  assert.match(`${result.unsupported[0]!.what}: ${result.unsupported[0]!.reason}`, /^conv1 \(Conv2d\): it expects 3 input channels, the input is \(2, 1, 32, 32\)$/);
});

test('a forward with a second input is refused by name', async () => {
  const text = header + `
class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x, context):
        return x + self.fc(context)

model = TwoInputs()
`;
  const { result } = await extract(text, 'TwoInputs', { inputShape: [2, 8] });
  assert.deepEqual(result, { error: 'TwoInputs.forward takes more than one input (`context`); only models with one input are probed' });
});

test("GPT's inference head `x[:, [-1], :]` is a slice of the last position", async () => {
  const text = readFileSync(join(fixturesDir, 'pytorch', 'c04_nanogpt.py'), 'utf8');
  const { result } = await extract(text, 'GPT');
  assert.ok(!('error' in result), 'error' in result ? result.error : '');
  const graph = result.variants[0]!.graph;
  const slice = graph.nodes.find((n) => n.op.op === 'slice' && n.source?.line === 120);
  assert.ok(slice, graph.nodes.slice(-5).map((n) => n.name).join(', '));
  assert.deepEqual(slice.shape, [2, 1, 128]);
  assert.deepEqual(graph.nodes[graph.output]!.shape, [2, 1, 512]);
  // That file ties the token embedding to the head: the graph cannot share weights across layers, and says so.
  assert.deepEqual(result.notes, ["`self.transformer.wte.weight = …` ties two layers' weights; the probe trains them untied (more parameters than PyTorch counts)"]);
});

test('every truncation of two fixtures (half-typed files): listing and extracting never throw and stay in budget', async () => {
  const grammars = await loadGrammars();
  let extractions = 0;
  let graphs = 0;
  for (const name of ['resnet20_option_a.py', 'nanogpt.py']) {
    const full = readFileSync(join(probeFixturesDir, name), 'utf8');
    const lines = full.split('\n');
    for (let cut = 1; cut <= lines.length; cut += 3) {
      // A cut mid-line as well as at its end: what the user has typed so far.
      for (const text of [lines.slice(0, cut).join('\n'), `${lines.slice(0, cut - 1).join('\n')}\n${lines[cut - 1]!.slice(0, Math.ceil(lines[cut - 1]!.length / 2))}`]) {
        const document = { uri: `file:///work/${name}`, grammar: 'python' as const, text };
        const models = pytorchModelGraph.listModels(document, grammars);
        for (const model of models.filter((m) => m.topLevel)) {
          const started = performance.now();
          const result = pytorchModelGraph.extract({ document, modelName: model.name, options: { budgetMs: 1000 } }, grammars);
          assert.ok(performance.now() - started < 3000, `${name} cut at ${cut}: ${Math.round(performance.now() - started)} ms`);
          extractions++;
          if ('error' in result) assert.ok(result.error.length > 0);
          else if (result.variants.length) {
            graphs++;
            for (const v of result.variants) assert.ok(v.graph.nodes.every((n) => n.shape.every((d) => Number.isInteger(d) && d > 0)));
          } else assert.ok(result.unsupported.length > 0 || (result.needsInputShape?.length ?? 0) > 0, `${name} cut at ${cut}: neither a graph nor a reason`);
        }
      }
    }
  }
  assert.ok(extractions > 40 && graphs > 0, `${extractions} extractions, ${graphs} with graphs`);
});

test('a constant filled with one number (`y + torch.zeros_like(y)`) is that number; a random one is refused', async () => {
  const text = (body: string): string => header + `
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        y = self.fc(x)
        return ${body}

model = Net()
`;
  const zeros = (await extract(text('y + torch.zeros_like(y)'), 'Net', { inputShape: [2, 8] })).result;
  assert.ok(!('error' in zeros) && zeros.variants.length === 1);
  const graph = zeros.variants[0]!.graph;
  assert.deepEqual(graph.nodes[graph.output]!.op, { op: 'scale', factor: 1, offset: 0 });
  const ones = (await extract(text('2.0 - torch.ones(8) * 1.0 * y'), 'Net', { inputShape: [2, 8] })).result;
  assert.ok(!('error' in ones) && ones.variants.length === 1, JSON.stringify(ones).slice(0, 300));
  const random = (await extract(text('y + torch.randn(2, 8)'), 'Net', { inputShape: [2, 8] })).result;
  assert.ok(!('error' in random));
  assert.match(random.unsupported[0]!.reason, /constant made in forward/);
  // It is the last op: what comes before it is offered as the prefix.
  assert.equal(random.prefixOnly, true);
  assert.deepEqual(random.variants[0]!.graph.nodes.map((n) => n.name), ['input', 'fc']);
});

test('a training loop in __main__ that would run for ever: the model it built is still extracted, in budget', async () => {
  const text = header + block + `
if __name__ == "__main__":
    model = Block(8)
    for epoch in range(1000):
        for step in range(1000):
            loss = model(torch.randn(4, 8, 16, 16)).mean()
`;
  const { result, ms } = await extract(text, 'Block', { budgetMs: 1500 });
  // The file's code stops at the model's first call: the loop costs nothing.
  assert.ok(ms < 500, `${ms} ms`);
  assert.ok(!('error' in result), 'error' in result ? result.error : '');
  assert.deepEqual(result.inputShape, [4, 8, 16, 16]);
  assert.equal(result.variants[0]!.graph.nodes.filter((n) => n.op.op === 'conv').length, 2);
});

test('a ResNet trained in __main__: its depth variants do not rerun the training loop', async () => {
  const text = readFileSync(join(probeFixturesDir, 'resnet20_option_a.py'), 'utf8').replace(
    'if __name__ == "__main__":\n    net = resnet20()\n    print(net(torch.randn(2, 3, 32, 32)).shape)',
    'if __name__ == "__main__":\n    net = resnet20()\n    for epoch in range(1000):\n        for step in range(1000):\n            loss = net(torch.randn(2, 3, 32, 32)).sum()',
  );
  assert.ok(text.includes('for epoch in range(1000)'));
  const { result, ms } = await extract(text, 'ResNet', { budgetMs: 3000 });
  assert.ok(!('error' in result), 'error' in result ? result.error : '');
  assert.deepEqual(result.variants.map((v) => v.label), ['ResNet [3, 3, 3]', 'ResNet [1, 1, 1]', 'ResNet [6, 6, 6]']);
  assert.ok(ms < 1500, `${ms} ms`);
});

test('a block count in a config dict is the depth parameter too', async () => {
  const text = header + `
class Net(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.inp = nn.Linear(16, 32)
        self.blocks = nn.ModuleList([nn.Linear(32, 32) for _ in range(cfg["num_layers"])])
        self.out = nn.Linear(32, 4)

    def forward(self, x):
        x = self.inp(x)
        for b in self.blocks:
            x = x + F.relu(b(x))
        return self.out(x)

model = Net({"num_layers": 6, "width": 32})
`;
  const { result } = await extract(text, 'Net', { inputShape: [2, 16] });
  assert.ok(!('error' in result), 'error' in result ? result.error : '');
  assert.deepEqual(result.depthParameter, { name: 'num_layers', value: '6' });
  assert.deepEqual(result.variants.map((v) => [v.label, v.graph.nodes.filter((n) => n.op.op === 'linear').length]), [['Net num_layers=6', 8], ['Net num_layers=3', 5], ['Net num_layers=12', 14]]);
});
