// Ground truth for the PyTorch probe graphs: each fixture's model is built in real
// PyTorch (Debian's python3-torch) as its `build=` line says, and
// `sum(p.numel() for p in model.parameters())` and the output shape must equal both the
// fixture's figures and the extracted graph's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { repoRoot } from '../../support/paths';
import { loadGrammars } from '../../support/pytorchFixtures';
import { extractFixture, modelNameOf, probeFixtures, readGraphExpectations, shapeOf } from './pytorchGraphFixtures';
import { graphParameterCount } from '../../../src/core/modelGraph/params';

const python = '/usr/bin/python3';
const script = join(repoRoot, 'test', 'unit', 'modelGraph', 'pytorch_ground_truth.py');
const fixtures = probeFixtures().filter((f) => readGraphExpectations(readFileSync(f, 'utf8')).has('build'));

interface TorchRecord {
  file: string;
  params?: number;
  output?: number[];
  error?: string;
}

let records: Map<string, TorchRecord> | undefined;
function runTorch(): Map<string, TorchRecord> {
  if (records) return records;
  const out = execFileSync(python, [script, ...fixtures], { encoding: 'utf8', timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
  records = new Map(out.split('\n').filter(Boolean).map((line) => {
    const r = JSON.parse(line) as TorchRecord;
    return [r.file, r];
  }));
  return records;
}

test('Debian PyTorch is installed for the probe ground truth', () => {
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `${python} cannot import torch: install it with \`apt-get install python3-torch\`\n${probe.stderr}`);
  assert.ok(fixtures.length >= 8, `only ${fixtures.length} fixtures say how torch builds them`);
});

for (const file of fixtures) {
  test(`torch agrees with the probe graph of ${basename(file)}`, async () => {
    const record = runTorch().get(file);
    assert.ok(record, 'torch printed nothing for this file');
    assert.equal(record.error, undefined, record.error);
    const expect = readGraphExpectations(readFileSync(file, 'utf8'));
    assert.equal(record.params, Number(expect.get('params')), 'torch parameter count against the fixture\'s formula');
    assert.deepEqual(record.output, shapeOf(expect.get('output')), 'torch output shape against the fixture');
    const grammars = await loadGrammars();
    const inputShape = expect.has('needs-input') ? shapeOf(expect.get('input')) : undefined;
    const extraction = extractFixture(grammars, file, modelNameOf(expect), inputShape);
    assert.ok(!('error' in extraction), 'error' in extraction ? extraction.error : '');
    const graph = extraction.variants.find((v) => v.role === 'model')?.graph;
    if (expect.has('unsupported') && expect.get('prefix') !== 'true') {
      // Refused: torch runs it, and the analyser said why it does not build it.
      assert.equal(graph, undefined);
      assert.ok(extraction.unsupported.length > 0);
      return;
    }
    assert.ok(graph, 'no graph');
    if (!extraction.prefixOnly) {
      assert.equal(graphParameterCount(graph).reported, record.params, 'graph parameter count against torch');
      assert.deepEqual(graph.nodes[graph.output]!.shape, record.output, 'graph output shape against torch');
    }
  });
}
