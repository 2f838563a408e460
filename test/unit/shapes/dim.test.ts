import { test } from 'node:test';
import assert from 'node:assert/strict';
import { add, ceilDiv, dimEquals, evaluate, floorDiv, formatDim, mod, mul, sub, substitute, symbol, symbolsOf } from '../../../src/core/shapes/dim';
import { compare, evaluateCond, formatCond, not, or } from '../../../src/core/shapes/condition';
import { broadcast, flatten, formatShape, reshape } from '../../../src/core/shapes/shape';
import { clashForEveryInput, findWitness, pathEqualities } from '../../../src/core/shapes/witness';

const H = symbol('H');
const s = symbol('stride');
const planes = symbol('planes');

test('sums and products have one canonical form', () => {
  assert.ok(dimEquals(add(mul(planes, 4), 1), add(1, mul(4, planes))));
  assert.ok(dimEquals(mul(add(H, 1), 2), add(mul(2, H), 2)));
  assert.ok(dimEquals(sub(add(H, planes), planes), H));
  assert.equal(mul(planes, 0), 0);
  assert.equal(formatDim(add(mul(planes, 4), -1)), 'planes * 4 - 1');
});

test('floor division pulls out whole multiples, so conv sizes written differently agree', () => {
  // 3x3 conv, padding 1, stride 2: floor((H + 2 - 2 - 1) / 2) + 1 = ceil(H / 2) = (H + 1) // 2
  const conv = add(floorDiv(sub(H, 1), 2), 1);
  assert.ok(dimEquals(conv, ceilDiv(H, 2)));
  assert.ok(dimEquals(conv, floorDiv(add(H, 1), 2)));
  assert.equal(formatDim(conv), '(H + 1) // 2');
  // A symbolic stride: x[:, :, ::stride] has ceil(H / stride), the strided conv has (H - 1) // stride + 1.
  assert.ok(dimEquals(ceilDiv(H, s), add(floorDiv(sub(H, 1), s), 1)));
  assert.ok(!dimEquals(floorDiv(H, 2), ceilDiv(H, 2)));
  assert.ok(dimEquals(floorDiv(mul(planes, 4), 2), mul(planes, 2)));
  assert.equal(floorDiv(7, 2), 3);
  assert.equal(floorDiv(-7, 2), -4);
  assert.equal(mod(-7, 2), 1);
});

test('evaluate and substitute agree with Python integer semantics', () => {
  const env = new Map([['H', 33], ['stride', 2], ['planes', 16]]);
  assert.equal(evaluate(add(floorDiv(sub(H, 1), s), 1), env), 17);
  assert.equal(evaluate(mod(H, 4), env), 1);
  assert.ok(Number.isNaN(evaluate(symbol('missing'), env)));
  assert.ok(dimEquals(substitute(add(floorDiv(sub(H, 1), s), 1), new Map([['stride', 1]])), H));
  assert.deepEqual([...symbolsOf(add(floorDiv(H, s), planes))].sort(), ['H', 'planes', 'stride']);
  // Asked again (the symbols of a polynomial are kept), and into a set that already holds some.
  const sized = add(floorDiv(H, s), planes);
  assert.deepEqual([...symbolsOf(sized)].sort(), ['H', 'planes', 'stride']);
  assert.deepEqual([...symbolsOf(sized, new Set(['W']))].sort(), ['H', 'W', 'planes', 'stride']);
  assert.deepEqual([...symbolsOf(floorDiv(H, s))].sort(), ['H', 'stride']);
});

test('conditions simplify, negate and print as Python', () => {
  assert.equal(compare('==', add(H, 1), add(1, H)), true);
  assert.equal(compare('<', 3, 4), true);
  const c = or(compare('!=', s, 1), compare('!=', symbol('in_planes'), planes));
  assert.equal(formatCond(c), 'stride != 1 or in_planes != planes');
  assert.equal(formatCond(not(c)), 'stride == 1 and in_planes == planes');
  assert.equal(evaluateCond(c, new Map([['stride', 1], ['in_planes', 8], ['planes', 8]])), false);
});

test('path equalities substitute what a branch fixed', () => {
  const c = or(compare('!=', s, 1), compare('!=', symbol('in_planes'), planes));
  const eq = pathEqualities([{ cond: c as never, taken: false }]);
  assert.equal(eq.get('stride'), 1);
  assert.ok(dimEquals(eq.get('in_planes')!, planes));
});

test('shapes broadcast like PyTorch and reshape with -1', () => {
  assert.equal(broadcast([2, 3, 4], [2, 3, 4]).kind, 'same');
  assert.deepEqual(broadcast([2, 1, 4], [2, 3, 4]), { kind: 'broadcast', shape: [2, 3, 4], axes: [1] });
  assert.deepEqual(broadcast([2, 3], [2, 4]), { kind: 'mismatch', axes: [1] });
  assert.equal(broadcast([H], [8]).kind, 'undecided');
  assert.equal(broadcast(null, [1]).kind, 'undecided');
  assert.deepEqual(reshape([2, 3, 4], [2, -1]), [2, 12]);
  assert.deepEqual(flatten([2, 3, 4, 5], 1), [2, 60]);
  assert.equal(formatShape([2, null, H]), '(2, ?, H)');
});

test('witness search finds a clash when one exists and none when the guard covers it', () => {
  const roles = new Map([['H', 'spatial' as const], ['stride', 'param' as const], ['planes', 'param' as const], ['in_planes', 'param' as const]]);
  const out = add(floorDiv(sub(H, 1), s), 1);
  const w = findWitness([planes, out], [symbol('in_planes'), H], [], roles, false);
  assert.ok(w);
  const guard = or(compare('!=', s, 1), compare('!=', symbol('in_planes'), planes));
  assert.equal(findWitness([planes, out], [symbol('in_planes'), H], [{ cond: guard as never, taken: false }], roles, false), undefined);
  // An input size that some model needs (a ViT's fixed patch count) is not a definite clash.
  assert.equal(clashForEveryInput([add(mul(floorDiv(H, 4), floorDiv(H, 4)), 1)], [65], [], roles), undefined);
  assert.ok(clashForEveryInput([planes], [add(planes, 1)], [], roles));
});
