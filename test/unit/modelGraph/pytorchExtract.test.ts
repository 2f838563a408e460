// "Probe This Model", PyTorch front end: every fixture of test/fixtures/probe-models/pytorch
// is extracted as the editor would (the class name, the file's own instantiation and
// input), and its graph checked against the file's `# expect-graph:` lines: output shape,
// node and weighted-layer counts, the parameter count worked out from PyTorch's
// formulas, the plain twin's count (the model's minus the projection shortcuts), the
// depth variants, and for the models it cannot build, the message and the prefix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { loadGrammars } from '../../support/pytorchFixtures';
import { extractFixture, modelNameOf, probeFixtures, readGraphExpectations, shapeOf } from './pytorchGraphFixtures';
import { type ModelExtraction, type ModelGraph, isWeightedOp } from '../../../src/core/modelGraph/graph';
import { graphParameterCount } from '../../../src/core/modelGraph/params';
import { plainTwin } from '../../../src/core/modelGraph/plainTwin';

const fixtures = probeFixtures();

test('the PyTorch probe fixtures are there', () => {
  assert.ok(fixtures.length >= 10, `only ${fixtures.length} fixtures`);
});

/** What every graph must be, whatever the model: topological, concrete, named, traced to source. */
function assertWellFormed(graph: ModelGraph, file: string): void {
  const lines = readFileSync(file, 'utf8').split('\n');
  assert.equal(graph.framework, 'pytorch');
  assert.ok(graph.output < graph.nodes.length && graph.output > 0);
  for (const node of graph.nodes) {
    assert.ok(node.inputs.every((i) => i < node.id), `${node.name}: inputs after it`);
    assert.ok(node.shape.every((d) => Number.isInteger(d) && d > 0), `${node.name}: shape ${node.shape}`);
    assert.ok(node.name.length > 0);
    if (node.op.op === 'input') continue;
    assert.ok(node.source, `${node.name} has no source line`);
    assert.ok(node.source.line >= 0 && node.source.line < lines.length, `${node.name}: line ${node.source.line}`);
    if (isWeightedOp(node.op) && node.sharesWeightsWith === undefined) {
      // A layer's line is where it is defined: a constructor call or an assignment.
      assert.match(lines[node.source.line]!, /=|\(/, `${node.name}: line ${node.source.line + 1} does not define a layer`);
    }
  }
  const owners = graph.nodes.filter((n) => isWeightedOp(n.op) && n.sharesWeightsWith === undefined).map((n) => n.name);
  assert.equal(new Set(owners).size, owners.length, `weighted layer names repeat: ${owners.join(', ')}`);
}

function checkGraph(extraction: ModelExtraction, expect: Map<string, string>, file: string): void {
  const model = extraction.variants.find((v) => v.role === 'model');
  assert.ok(model, `no model graph: ${JSON.stringify(extraction.unsupported)}`);
  const graph = model.graph;
  assertWellFormed(graph, file);
  const output = shapeOf(expect.get('output'));
  if (output) assert.deepEqual(graph.nodes[graph.output]!.shape, output, 'output shape');
  const input = shapeOf(expect.get('input'));
  if (input) assert.deepEqual(graph.nodes[graph.inputs[0]!.node]!.shape, input, 'input shape');
  const params = graphParameterCount(graph).reported;
  if (expect.has('params')) assert.equal(params, Number(expect.get('params')), 'parameter count (PyTorch formulas in the fixture)');
  if (expect.has('plain-params')) {
    const twin = plainTwin(graph);
    assert.equal(twin.undecidedAdds.length, 0, `undecided adds: ${twin.undecidedAdds.join(', ')}`);
    assert.equal(graphParameterCount(twin.graph).reported, Number(expect.get('plain-params')), 'plain twin parameter count');
  }
  if (expect.has('nodes')) assert.equal(graph.nodes.length, Number(expect.get('nodes')), 'node count');
  if (expect.has('weighted')) assert.equal(graph.nodes.filter((n) => isWeightedOp(n.op)).length, Number(expect.get('weighted')), 'weighted layers');
  if (expect.has('residual-adds')) {
    const adds = graph.nodes.filter((n) => n.op.op === 'add' && n.op.residual);
    assert.equal(adds.length, Number(expect.get('residual-adds')), 'residual additions');
    assert.ok(adds.every((n) => n.op.op === 'add' && n.op.skipInput !== undefined));
  }
  if (expect.has('tokens')) assert.deepEqual(graph.inputs[0], { node: 0, kind: 'tokens', vocabulary: Number(expect.get('tokens')) });
  else assert.equal(graph.inputs[0]!.kind, 'float');
  if (expect.has('shared')) assert.equal(graph.nodes.filter((n) => n.sharesWeightsWith !== undefined).length, Number(expect.get('shared')), 'nodes sharing weights');
  const depth = expect.get('depth');
  if (depth) {
    const [name, value] = [depth.slice(0, depth.indexOf(':')), depth.slice(depth.indexOf(':') + 1)];
    assert.deepEqual(extraction.depthParameter, { name, value });
    for (const role of ['shallower', 'deeper'] as const) {
      const wanted = expect.get(role);
      const variant = extraction.variants.find((v) => v.role === role);
      if (wanted === 'none') {
        assert.equal(variant, undefined, `no ${role} version expected`);
        continue;
      }
      assert.ok(variant, `no ${role} version`);
      assert.ok(variant.label.endsWith(wanted ?? ''), `${role} label ${variant.label}, expected …${wanted}`);
      assertWellFormed(variant.graph, file);
      assert.deepEqual(variant.graph.nodes[variant.graph.output]!.shape, graph.nodes[graph.output]!.shape);
      const weighted = variant.graph.nodes.filter((n) => isWeightedOp(n.op)).length;
      if (expect.has(`${role}-weighted`)) assert.equal(weighted, Number(expect.get(`${role}-weighted`)), `${role} weighted layers`);
      const base = graph.nodes.filter((n) => isWeightedOp(n.op)).length;
      assert.ok(role === 'shallower' ? weighted < base : weighted > base);
    }
  } else if (!expect.has('prefix')) {
    assert.equal(extraction.depthParameter, undefined);
    assert.equal(extraction.variants.length, 1);
  }
}

for (const file of fixtures) {
  test(`probe graph of ${basename(file)}`, async () => {
    const grammars = await loadGrammars();
    const expect = readGraphExpectations(readFileSync(file, 'utf8'));
    const modelName = modelNameOf(expect);
    const started = performance.now();
    let extraction = extractFixture(grammars, file, modelName);
    const elapsed = performance.now() - started;
    assert.ok(!('error' in extraction), 'error' in extraction ? extraction.error : '');
    if (expect.has('needs-input')) {
      assert.deepEqual(extraction.needsInputShape, expect.get('needs-input')!.split(','), 'symbols the user must give');
      assert.equal(extraction.variants.length, 0);
      const given = shapeOf(expect.get('input'));
      assert.ok(given, 'a needs-input fixture says input= for the second try');
      extraction = extractFixture(grammars, file, modelName, given);
      assert.ok(!('error' in extraction), 'error' in extraction ? extraction.error : '');
      assert.equal(extraction.needsInputShape, undefined);
    }
    const reason = expect.get('unsupported');
    if (reason) {
      assert.ok(extraction.unsupported.length > 0, 'expected unsupported operations');
      const text = extraction.unsupported.map((u) => `${u.what}: ${u.reason}`).join('\n');
      assert.ok(text.includes(reason), `unsupported message lacks "${reason}":\n${text}`);
      assert.ok(extraction.unsupported.every((u) => u.source === undefined || u.source.line >= 0));
      if (expect.get('unsupported-line')) assert.equal(extraction.unsupported[0]!.source!.line + 1, Number(expect.get('unsupported-line')));
      const prefix = expect.get('prefix') === 'true';
      assert.equal(extraction.prefixOnly ?? false, prefix, 'prefix offered');
      if (!prefix) {
        assert.equal(extraction.variants.length, 0, 'no graph when the model cannot be built');
        return;
      }
      const graph = extraction.variants[0]!.graph;
      assertWellFormed(graph, file);
      assert.equal(graphParameterCount(graph).reported, Number(expect.get('prefix-params')), 'prefix parameter count');
      assert.deepEqual(graph.nodes[graph.output]!.shape, shapeOf(expect.get('prefix-output')), 'prefix output shape');
      return;
    } else {
      assert.deepEqual(extraction.unsupported, []);
      assert.equal(extraction.prefixOnly, undefined);
    }
    checkGraph(extraction, expect, file);
    // The probe asks for this while the user waits: well inside the server's budget on this machine.
    assert.ok(elapsed < 5000, `extraction took ${Math.round(elapsed)} ms`);
  });
}
