// The interpreter builds a block once per distinct constructor arguments and runs its
// forward once per distinct input shape (checker speed): a real torchvision-style file,
// run on the real interpreter, with the instances it made counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Interpreter } from '../../../src/core/pytorch/interpreter';
import { freshFile } from '../../../src/core/pytorch/checker';
import { toPyAst } from '../../../src/core/parse/python-ast';
import { fixturesDir } from '../../support/paths';
import { loadGrammars } from '../../support/pytorchFixtures';

async function runFactory(factory: string): Promise<Interpreter> {
  const grammars = await loadGrammars();
  const uri = join(fixturesDir, 'pytorch', 'c02_torchvision_resnet.py');
  const source = readFileSync(uri, 'utf8');
  const tree = grammars.parse('python', source);
  const file = freshFile({ uri, source, root: toPyAst(tree, source) });
  tree.delete();
  const limits = { steps: 60000, deadline: performance.now() + 10_000, callDepth: 24, loopIterations: 512, decisions: 10 };
  const interp = new Interpreter(limits, [], () => undefined, () => {});
  interp.execFile(file, true);
  const fn = file.globals.vars.get(factory);
  assert.equal(fn?.t, 'function');
  if (fn?.t !== 'function') return interp;
  const model = interp.callFunction(fn, { positional: [], keywords: new Map() });
  assert.equal(model.t, 'instance');
  return interp;
}

test('blocks that take a layer class (norm_layer=nn.BatchNorm2d) are built once per distinct arguments', async () => {
  const interp = await runFactory('resnet101');
  // [3, 4, 23, 3]: in each stage the first block (with its downsample) and one block for all the others.
  assert.equal(interp.instances.filter((i) => i.cls.name === 'Bottleneck').length, 8);
  const stage3 = interp.instances.find((i) => i.cls.name === 'ResNet')?.attrs.get('layer3');
  assert.equal(stage3?.t, 'container');
  if (stage3?.t === 'container') assert.equal(stage3.items.length, 23);
});
