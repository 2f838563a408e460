// Shared by the Keras and TF.js model-graph tests: each fixture under
// test/fixtures/probe-models/{keras,tfjs} says what its models' graphs must be in one
// line per model (`# probe: ...` or `// probe: ...`), with the parameter counts worked
// out from the framework's formulas in the fixture's header.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelExtraction, ModelGraph } from '../../../src/core/modelGraph/graph';
import { isWeightedOp } from '../../../src/core/modelGraph/graph';
import { graphParameterCount } from '../../../src/core/modelGraph/params';
import { plainTwin } from '../../../src/core/modelGraph/plainTwin';

export interface ProbeExpectation {
  /** 0-based line of the `probe:` comment. */
  line: number;
  model: string;
  fields: Map<string, string>;
}

export function readProbeExpectations(text: string): ProbeExpectation[] {
  const out: ProbeExpectation[] = [];
  text.split('\n').forEach((line, i) => {
    const m = /^\s*(?:#|\/\/)\s*probe:\s*(.*)$/.exec(line);
    if (!m) return;
    const fields = new Map<string, string>();
    for (const part of m[1]!.trim().split(/\s+/)) {
      const eq = part.indexOf('=');
      if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
    }
    const model = fields.get('model');
    if (!model) throw new Error(`line ${i + 1}: a probe line without model=`);
    out.push({ line: i, model, fields });
  });
  return out;
}

export function listProbeFixtures(dir: string, extensions: string[]): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => extensions.some((e) => f.endsWith(e))).sort().map((f) => join(dir, f));
}

export function numbers(text: string | undefined): number[] | undefined {
  return text === undefined ? undefined : text.split(',').map(Number);
}

/** Structure every graph must have: topological ids, concrete shapes, sources on the fixture's lines. */
export function checkWellFormed(graph: ModelGraph, lines: string[], where: string): void {
  graph.nodes.forEach((node, i) => {
    assert.equal(node.id, i, `${where}: node ids are positions`);
    for (const input of node.inputs) assert.ok(input < node.id, `${where}: ${node.name} takes a later node as input`);
    assert.ok(node.shape.every((d) => Number.isInteger(d) && d > 0), `${where}: ${node.name} has shape [${node.shape.join(', ')}]`);
    assert.equal(node.layout, 'channels-last');
    if (node.sharesWeightsWith !== undefined) assert.ok(node.sharesWeightsWith < node.id, `${where}: ${node.name} shares weights with a later node`);
    if (isWeightedOp(node.op)) {
      assert.ok(node.source, `${where}: weighted ${node.name} has no source`);
      // The source is the layer's construction: its line names the layer class.
      assert.match(lines[node.source.line] ?? '', /conv|dense|embedding|attention/i, `${where}: ${node.name} points at line ${node.source.line + 1}`);
    }
  });
  assert.ok(graph.output < graph.nodes.length);
  assert.ok(graph.inputs.length >= 1, `${where}: no input`);
  for (const input of graph.inputs) assert.equal(graph.nodes[input.node]!.op.op, 'input');
}

/** The fields of a `probe:` line against an extraction. */
export function checkExpectation(extraction: ModelExtraction | { error: string }, expectation: ProbeExpectation, lines: string[], where: string): void {
  const f = expectation.fields;
  if (f.has('error')) {
    assert.ok('error' in extraction, `${where}: expected an error, got an extraction`);
    // `_` in the field stands for a space or an underscore.
    assert.match(extraction.error, new RegExp(f.get('error')!.replace(/_/g, '[ _]'), 'i'), where);
    return;
  }
  assert.ok(!('error' in extraction), `${where}: ${'error' in extraction ? extraction.error : ''}`);
  if (f.has('unsupported')) {
    const expected = f.get('unsupported')!.split(',');
    const found = extraction.unsupported.map((u) => `${u.what}: ${u.reason}`);
    for (const what of expected) assert.ok(found.some((u) => u.includes(what.replace(/_/g, ' '))), `${where}: expected an unsupported ${what}, found ${JSON.stringify(found)}`);
    for (const u of extraction.unsupported) assert.ok(u.source && lines[u.source.line] !== undefined, `${where}: ${u.what} has no source line`);
  } else {
    assert.deepEqual(extraction.unsupported, [], `${where}: nothing unsupported`);
  }
  assert.equal(extraction.prefixOnly ?? false, f.get('prefix') === 'true', `${where}: prefixOnly`);
  // `notes=he_normal;2+outputs`: each text in some note (`+` for a space).
  for (const text of (f.get('notes') ?? '').split(';').filter(Boolean)) {
    assert.ok(extraction.notes?.some((n) => n.includes(text.replace(/\+/g, ' '))), `${where}: no note says ${text}: ${JSON.stringify(extraction.notes)}`);
  }
  if (f.has('needs_input')) {
    assert.deepEqual(extraction.needsInputShape, f.get('needs_input')!.split(','), `${where}: needsInputShape`);
    assert.equal(extraction.variants.length, 0);
    return;
  }
  if (f.get('graph') === 'none') {
    assert.equal(extraction.variants.length, 0, `${where}: no graph expected`);
    return;
  }
  const model = extraction.variants.find((v) => v.role === 'model');
  assert.ok(model, `${where}: no model variant`);
  const graph = model.graph;
  checkWellFormed(graph, lines, where);
  assert.equal(graph.modelName, expectation.model);
  const nodes = graph.nodes.length;
  const weighted = graph.nodes.filter((n) => isWeightedOp(n.op)).length;
  const counts = graphParameterCount(graph);
  const output = graph.nodes[graph.output]!.shape;
  if (f.has('nodes')) assert.equal(nodes, Number(f.get('nodes')), `${where}: node count`);
  if (f.has('weighted')) assert.equal(weighted, Number(f.get('weighted')), `${where}: weighted layers`);
  if (f.has('trainable')) assert.equal(counts.trainable, Number(f.get('trainable')), `${where}: trainable parameters`);
  if (f.has('non_trainable')) assert.equal(counts.nonTrainable, Number(f.get('non_trainable')), `${where}: non-trainable parameters`);
  if (f.has('output')) assert.deepEqual(output, numbers(f.get('output')), `${where}: output shape`);
  // `inputs=tokens:1000,float`: each model input's kind (and a token input's vocabulary).
  if (f.has('inputs')) assert.deepEqual(graph.inputs.map((i) => (i.kind === 'tokens' ? `tokens:${i.vocabulary}` : 'float')).join(','), f.get('inputs'), `${where}: inputs`);
  // `activations=relu,gelu`: the activation functions in graph order.
  if (f.has('activations')) assert.equal(graph.nodes.flatMap((n) => (n.op.op === 'activation' ? [n.op.fn] : [])).join(','), f.get('activations'), `${where}: activations`);
  if (f.has('input_shape')) assert.deepEqual(extraction.inputShape, numbers(f.get('input_shape')), `${where}: input shape`);
  if (f.has('plain_trainable') || f.has('plain_non_trainable')) {
    const twin = plainTwin(graph);
    assert.deepEqual(twin.undecidedAdds, [], `${where}: every residual add has a skip operand`);
    const plain = graphParameterCount(twin.graph);
    assert.equal(plain.trainable, Number(f.get('plain_trainable')), `${where}: plain twin trainable parameters`);
    assert.equal(plain.nonTrainable, Number(f.get('plain_non_trainable')), `${where}: plain twin non-trainable parameters`);
  }
  if (f.has('depth')) {
    const [name, value] = f.get('depth')!.split(':');
    assert.deepEqual(extraction.depthParameter, { name, value: value!.replace(/_/g, ' ') }, `${where}: depth parameter`);
  } else {
    assert.equal(extraction.depthParameter, undefined, `${where}: no depth parameter`);
  }
  const variants = (f.get('variants') ?? '').split(';').filter(Boolean);
  assert.deepEqual(extraction.variants.filter((v) => v.role !== 'model').map((v) => `${v.role}:${v.label.slice(expectation.model.length + 1).replace(/ /g, '_')}`), variants, `${where}: variants`);
  for (const variant of extraction.variants) {
    checkWellFormed(variant.graph, lines, `${where} ${variant.role}`);
    if (variant.role === 'shallower') assert.ok(variant.graph.nodes.length < nodes, `${where}: shallower has fewer nodes`);
    if (variant.role === 'deeper') assert.ok(variant.graph.nodes.length > nodes, `${where}: deeper has more nodes`);
    assert.deepEqual(variant.graph.nodes[variant.graph.output]!.shape, output, `${where}: ${variant.role} output shape`);
  }
}
