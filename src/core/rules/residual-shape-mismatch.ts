// residual-shape-mismatch: a tensor addition whose operands cannot broadcast.
//   error    the file reaches the add with concrete constructor arguments and the shapes clash;
//   warning  the block is only seen with symbolic arguments and some values make them clash.
// residual-silent-broadcast (./residual-silent-broadcast.ts) takes the legal-but-stretched case.
import type { Finding, Fix, MismatchKind } from '../diagnostic';
import { type Dim, dimEquals, evaluate, formatDim, isConcrete, substitute, symbolsOf } from '../shapes/dim';
import { formatCond, not } from '../shapes/condition';
import { type ShapeDim, broadcast, formatShape, shapeDimKey } from '../shapes/shape';
import { type PathFact, type SymbolDomainRole, type Witness, clashForEveryInput, clashingAxes, domainFor, findWitness, pathEqualities, substituteShape } from '../shapes/witness';
import { type PyNode, enclosingClass, rangeOf, walk } from '../parse/python-ast';
import type { AddObservation } from '../pytorch/interpreter';
import type { PyTorchRunResult } from '../pytorch/checker';
import { silentBroadcastFinding, stretchedNonBatchAxes } from './residual-silent-broadcast';
import { projectionFixes, type MismatchFacts, type ProjectionPlan } from './projection-fix';

export const residualShapeMismatchRule = 'residual-shape-mismatch';

type Decision =
  | { kind: 'clash'; left: ShapeDim[]; right: ShapeDim[]; witness: Witness }
  | { kind: 'broadcast'; axes: number[]; left: ShapeDim[]; right: ShapeDim[] }
  | { kind: 'none' };

/** `concrete`: the clash must hold for every input size tried; `symbolic`: some argument values suffice. */
export function decideObservation(obs: AddObservation, roles: ReadonlyMap<string, SymbolDomainRole>, mode: 'concrete' | 'symbolic'): Decision {
  if (!obs.left || !obs.right) return { kind: 'none' };
  const equalities = pathEqualities(obs.path);
  const left = substituteShape(obs.left, equalities)!;
  const right = substituteShape(obs.right, equalities)!;
  const outcome = broadcast(left, right);
  if (outcome.kind === 'same') return { kind: 'none' };
  if (outcome.kind === 'broadcast') return { kind: 'broadcast', axes: outcome.axes, left, right };
  const witness = mode === 'concrete' ? clashForEveryInput(left, right, obs.path, roles) : findWitness(left, right, obs.path, roles, false);
  return witness ? { kind: 'clash', left, right, witness } : { kind: 'none' };
}

/** The skip operand is no longer the block's input (`self.downsample(x)`, a pad): something already changed it. */
function skipTransformed(obs: AddObservation): boolean {
  const identity = identitySide(obs) === 'left' ? obs.left : obs.right;
  const input = obs.blockInput;
  return !obs.identityIsBranch && !!identity && !!input && input.length === identity.length && identity.some((d, i) => shapeDimKey(d) !== shapeDimKey(input[i]!));
}

/** A constructor argument (a kernel size is one), as opposed to a dim of the input. */
function isParameterRole(role: SymbolDomainRole | undefined): boolean {
  return role === undefined || role === 'param' || role === 'kernel';
}

function hasParamSymbols(obs: AddObservation, roles: ReadonlyMap<string, SymbolDomainRole>): boolean {
  const symbols = new Set<string>();
  for (const shape of [obs.left, obs.right]) for (const d of shape ?? []) if (d !== null) symbolsOf(d, symbols);
  for (const step of obs.path) if (step.cond.kind === 'cmp') { symbolsOf(step.cond.left, symbols); symbolsOf(step.cond.right, symbols); }
  return [...symbols].some((s) => isParameterRole(roles.get(s)));
}

export function decideResidualSites(run: PyTorchRunResult, text: string): Finding[] {
  const findings: Finding[] = [];
  const sites = new Map<number, { site: PyNode; concrete: AddObservation[]; symbolic: AddObservation[] }>();
  const inMain = (o: AddObservation): boolean => o.file.uri === run.main.uri && o.file.source === run.main.source;
  for (const [list, kind] of [[run.concrete, 'concrete'], [run.symbolic, 'symbolic']] as const) {
    for (const obs of list) {
      if (!inMain(obs)) continue;
      let entry = sites.get(obs.site.startIndex);
      if (!entry) sites.set(obs.site.startIndex, (entry = { site: obs.site, concrete: [], symbolic: [] }));
      entry[kind].push(obs);
    }
  }
  for (const { site, concrete, symbolic } of [...sites.values()].sort((a, b) => a.site.startIndex - b.site.startIndex)) {
    const cls = enclosingClass(run.main.root, site);
    const className = cls?.fields.name?.text;
    const reached = className !== undefined && run.reached.has(`${run.main.uri}#${className}`);

    let clash: { obs: AddObservation; decision: Extract<Decision, { kind: 'clash' }> } | undefined;
    const clashPaths = new Set<string>();
    let stretched: { obs: AddObservation; decision: Extract<Decision, { kind: 'broadcast' }> } | undefined;
    for (const obs of concrete) {
      if (obs.opaquePath || hasParamSymbols(obs, run.roles)) continue;
      const decision = decideObservation(obs, run.roles, 'concrete');
      if (decision.kind === 'clash') {
        clashPaths.add(obs.instance?.path ?? '');
        clash ??= { obs, decision };
      } else if (decision.kind === 'broadcast' && stretchedNonBatchAxes(obs, decision.left, decision.right, decision.axes).length) {
        stretched ??= { obs, decision };
      }
    }
    if (clash) {
      findings.push(concreteFinding(clash.obs, clash.decision, clashPaths.size, run, text));
      continue;
    }
    if (stretched) {
      findings.push(silentBroadcastFinding(stretched.obs, stretched.decision.left, stretched.decision.right, stretched.decision.axes));
      continue;
    }
    if (reached || concrete.some((o) => !o.opaquePath && !hasParamSymbols(o, run.roles))) continue;
    for (const obs of symbolic) {
      if (obs.opaquePath) continue;
      const decision = decideObservation(obs, run.roles, 'symbolic');
      if (decision.kind === 'clash') {
        findings.push(symbolicFinding(obs, decision, run, text));
        break;
      }
      if (decision.kind === 'broadcast' && stretchedNonBatchAxes(obs, decision.left, decision.right, decision.axes).length) {
        const f = silentBroadcastFinding(obs, decision.left, decision.right, decision.axes);
        findings.push(f);
        break;
      }
    }
  }
  return findings;
}

/** The identity operand of a skip add is the one fewer layers away from the block's input. */
export function identitySide(obs: AddObservation): 'left' | 'right' {
  return obs.leftDepth < obs.rightDepth ? 'left' : 'right';
}

export function channelAxis(obs: AddObservation, rank: number): number {
  const layout = obs.leftLayout ?? obs.rightLayout;
  if (rank <= 1) return -1;
  return layout === 'channels-last' ? rank - 1 : 1;
}

/** Channels, spatial or both, from right-aligned clashing axes of shapes of `rank`. */
function kindOf(axes: number[], obs: AddObservation, rank: number): MismatchKind {
  const c = channelAxis(obs, rank);
  const channels = axes.includes(c);
  const spatial = axes.some((a) => a !== c && a !== 0);
  if (channels && spatial) return 'both';
  if (channels) return 'channels';
  if (spatial) return 'spatial';
  return 'other';
}

const kindText: Record<MismatchKind, string> = {
  channels: 'in channels',
  spatial: 'in spatial size',
  both: 'in channels and spatial size',
  other: 'in the batch axis',
};

function aligned(shape: ShapeDim[], rank: number, axis: number): ShapeDim | undefined {
  return shape[shape.length - rank + axis];
}

export function mismatchFacts(obs: AddObservation, left: ShapeDim[], right: ShapeDim[], witness: Witness): MismatchFacts {
  const axes = witness.axes;
  const rank = Math.max(left.length, right.length);
  const side = identitySide(obs);
  const identity = side === 'left' ? left : right;
  const main = side === 'left' ? right : left;
  // The projection starts from the block's input, which may differ from the identity operand
  // (a wrong option A shortcut): use the input where its rank matches.
  const source = !obs.identityIsBranch && obs.blockInput && obs.blockInput.length === rank ? obs.blockInput : identity;
  const c = channelAxis(obs, rank);
  const kind = kindOf(axes, obs, rank);
  const spatialAxes = axes.filter((a) => a !== c && a !== 0);
  let stride: Dim | undefined;
  let spatialRatio: number | undefined;
  if (spatialAxes.length) {
    const a = spatialAxes[0]!;
    const inSize = aligned(source, rank, a);
    const outSize = aligned(main, rank, a);
    if (inSize != null && outSize != null) {
      const i = evaluate(inSize, witness.assignment);
      const o = evaluate(outSize, witness.assignment);
      if (o > 0 && i > 0) spatialRatio = i / o;
      // Conv sizes round up: 33 → 17 is stride 2.
      if (o > 0 && i > o && Math.ceil(i / Math.round(i / o)) === o) stride = Math.round(i / o);
    }
  }
  return {
    kind,
    identitySide: side,
    channelsIn: c >= 0 ? aligned(source, rank, c) ?? null : null,
    channelsOut: c >= 0 ? aligned(main, rank, c) ?? null : null,
    stride,
    spatialRatio,
    rank,
    layout: obs.leftLayout ?? obs.rightLayout ?? 'channels-first',
  };
}

function dimText(d: ShapeDim | undefined): string {
  return d === null || d === undefined ? '?' : formatDim(d);
}

function instantiationText(obs: AddObservation, facts: MismatchFacts): string {
  const inst = obs.instance;
  if (!inst) return '';
  const details: string[] = [];
  for (const [name, v] of inst.args) {
    if (/stride/i.test(name) && v.t === 'int' && isConcrete(v.v)) details.push(`${name} ${v.v}`);
  }
  if (facts.kind === 'channels' || facts.kind === 'both') details.push(`${dimText(facts.channelsIn)}→${dimText(facts.channelsOut)}`);
  return ` in \`${inst.path ?? inst.cls.name}\`${details.length ? ` (${details.join(', ')})` : ''}`;
}

function projectionText(facts: MismatchFacts, usesBatchNorm: boolean): string {
  if (facts.layout === 'channels-last') return `a Linear ${dimText(facts.channelsIn)}→${dimText(facts.channelsOut)} on the shortcut`;
  const stride = facts.stride !== undefined && facts.stride !== 1 ? `, stride ${formatDim(facts.stride)}` : '';
  const channels = facts.kind === 'spatial' ? `${dimText(facts.channelsOut)}→${dimText(facts.channelsOut)}` : `${dimText(facts.channelsIn)}→${dimText(facts.channelsOut)}`;
  return `1x1 conv ${channels}${stride}${usesBatchNorm ? ', with BatchNorm' : ''}`;
}

function advice(facts: MismatchFacts, usesBatchNorm: boolean, skipTransformed: boolean): string {
  // A spatial change that is no whole stride comes from the main path's padding, not a missing projection.
  if (facts.kind === 'spatial' && facts.stride === undefined) return 'The main path changes the spatial size: check its padding, kernel and stride.';
  if (skipTransformed) {
    const stride = facts.stride !== undefined && facts.stride !== 1 ? ` stride ${formatDim(facts.stride)}` : '';
    const channels = facts.kind !== 'spatial' ? `${stride ? ' and' : ''} ${dimText(facts.channelsOut)} output channels` : '';
    return `The shortcut is already transformed before the add (a projection?): it needs${stride}${channels}, as the main path has.`;
  }
  return `The shortcut needs a projection: ${projectionText(facts, usesBatchNorm)}.`;
}

function classUsesBatchNorm(cls: PyNode | undefined, text: string): boolean {
  return cls ? /BatchNorm/.test(text.slice(cls.startIndex, cls.endIndex)) : /BatchNorm/.test(text);
}

function concreteFinding(obs: AddObservation, d: Extract<Decision, { kind: 'clash' }>, count: number, run: PyTorchRunResult, text: string): Finding {
  const facts = mismatchFacts(obs, d.left, d.right, d.witness);
  const more = count > 1 ? ` (and ${count - 1} more instantiation${count > 2 ? 's' : ''})` : '';
  const [leftText, rightText] = [formatShape(obs.left), formatShape(obs.right)];
  const permuted = isPermutation(d.left, d.right, d.witness.assignment);
  const where = permuted ? ` in \`${obs.instance?.path ?? obs.instance?.cls.name ?? '?'}\`` : instantiationText(obs, facts);
  const message =
    `Residual add: shapes ${exampleShapesText(obs, run.roles, d.witness) ?? `${leftText} and ${rightText}`} differ ${kindText[facts.kind]}${where}${more}. ` +
    (permuted
      ? 'They hold the same sizes in a different axis order: a permute or transpose back is missing.'
      : advice(facts, classUsesBatchNorm(enclosingClass(run.main.root, obs.site), text), skipTransformed(obs)));
  return {
    rule: residualShapeMismatchRule,
    severity: 'error',
    range: rangeOf(obs.site),
    message,
    kind: facts.kind,
    shapes: [leftText, rightText],
    fixes: permuted ? [] : safeFixes(obs, run, text, facts),
  };
}

/**
 * Shapes that stay symbolic in the input size read badly once a few strides have nested
 * them (`(((H + 1) // 2 + 1) // 2 + 1) // 2`): the message shows them at a common input size
 * where they clash (224, 32 or 64, else the search's own example), and says which.
 */
function exampleShapesText(obs: AddObservation, roles: ReadonlyMap<string, SymbolDomainRole>, witness: Witness): string | undefined {
  const left = obs.left;
  const right = obs.right;
  if (!left || !right) return undefined;
  if (formatShape(left).length + formatShape(right).length <= 70) return undefined;
  const sizeSymbols = new Set<string>();
  for (const d of [...left, ...right]) if (d !== null) for (const name of symbolsOf(d)) if (roles.get(name) === 'spatial' || roles.get(name) === 'sequence') sizeSymbols.add(name);
  if (sizeSymbols.size === 0) return undefined;
  const names = [...sizeSymbols].sort();
  const candidates = [224, 32, 64].map((size) => new Map(names.map((n) => [n, size] as const)));
  candidates.push(new Map(names.map((n) => [n, witness.assignment.get(n) ?? 32] as const)));
  for (const values of candidates) {
    const at = (shape: ShapeDim[]) => shape.map((d) => (d === null ? null : substitute(d, values)));
    const [l, r] = [at(left), at(right)];
    const numbers = (shape: ShapeDim[]) => shape.map((d) => (typeof d === 'number' ? d : null));
    if (!clashingAxes(numbers(l), numbers(r))?.length) continue;
    const sizes = [...new Set(values.values())];
    const given = sizes.length === 1 ? `${names.join(' = ')} = ${sizes[0]}` : names.map((n) => `${n} = ${values.get(n)}`).join(', ');
    return `${formatShape(l)} and ${formatShape(r)} (with ${given})`;
  }
  return undefined;
}

/** Equal sizes in another order, e.g. (N, C, H, W) against (N, H, W, C). */
function isPermutation(left: ShapeDim[], right: ShapeDim[], env: ReadonlyMap<string, number>): boolean {
  if (left.length !== right.length || left.length < 2) return false;
  const values = (s: ShapeDim[]) => s.map((d) => (d === null ? Number.NaN : evaluate(d, env)));
  const a = values(left);
  const b = values(right);
  if (a.some(Number.isNaN) || b.some(Number.isNaN)) return false;
  return [...a].sort((x, y) => x - y).join() === [...b].sort((x, y) => x - y).join();
}

function symbolicFinding(obs: AddObservation, d: Extract<Decision, { kind: 'clash' }>, run: PyTorchRunResult, text: string): Finding {
  const facts = mismatchFacts(obs, d.left, d.right, d.witness);
  const condition = conditionText(obs, d, facts, run.roles);
  const [leftText, rightText] = [formatShape(obs.left), formatShape(obs.right)];
  const message =
    `Residual add: shapes ${leftText} and ${rightText} differ ${kindText[facts.kind]} ${condition}: ` +
    `a shortcut projection is missing for that case.`;
  return {
    rule: residualShapeMismatchRule,
    severity: 'warning',
    range: rangeOf(obs.site),
    message,
    kind: facts.kind,
    shapes: [leftText, rightText],
    fixes: safeFixes(obs, run, text),
  };
}

function safeFixes(obs: AddObservation, run: PyTorchRunResult, text: string, facts?: MismatchFacts): Fix[] {
  try {
    return projectionFixes(projectionPlan(obs, run, text, facts));
  } catch {
    return []; // a fix we cannot build is left out, never half-built
  }
}

/**
 * What the projection must be, in the block constructor's parameters: taken from the
 * symbolic run of the block at the same addition, where the dims are expressions in them.
 */
export function projectionPlan(obs: AddObservation, run: PyTorchRunResult, text: string, concrete?: MismatchFacts): ProjectionPlan | undefined {
  const classNode = enclosingClass(run.main.root, obs.site);
  if (!classNode) return undefined;
  let chosen: { obs: AddObservation; decision: Extract<Decision, { kind: 'clash' }> } | undefined;
  for (const candidate of run.symbolic) {
    if (candidate.site.startIndex !== obs.site.startIndex) continue;
    const decision = decideObservation(candidate, run.roles, 'symbolic');
    if (decision.kind === 'clash') {
      chosen = { obs: candidate, decision };
      break;
    }
  }
  if (!chosen) return undefined;
  if (insideLoop(classNode, obs.site)) return undefined; // one attribute cannot serve every iteration
  const { witness } = chosen.decision;
  // The projection must be right on every path, so it is written from the dims before
  // the failing path's equalities (`stride == 1`) were substituted.
  const left = chosen.obs.left!;
  const right = chosen.obs.right!;
  const rank = Math.max(left.length, right.length);
  const side = identitySide(chosen.obs);
  const identity = side === 'left' ? left : right;
  const main = side === 'left' ? right : left;
  const blockInput = chosen.obs.blockInput;
  // The skip operand is already something other than the block's input (`self.downsample(x)`
  // that forgot its stride): a projection added on top would be wrong, so none is offered.
  if (skipTransformed(chosen.obs)) return undefined;
  const source = !chosen.obs.identityIsBranch && blockInput && blockInput.length === rank ? blockInput : identity;
  const c = channelAxis(chosen.obs, rank);
  const inDim = c >= 0 ? aligned(source, rank, c) : undefined;
  const outDim = c >= 0 ? aligned(main, rank, c) : undefined;
  const paramsOnly = (d: ShapeDim | undefined): d is Dim => d !== null && d !== undefined && [...symbolsOf(d)].every((s) => isParameterRole(run.roles.get(s)));
  if (!paramsOnly(inDim) || !paramsOnly(outDim)) return undefined;
  const conditionParts: string[] = [];
  let strideExpr: string | undefined;
  let alwaysSpatial = false;
  for (let axis = 0; axis < rank; axis++) {
    if (axis === c || axis === 0) continue;
    const i = aligned(source, rank, axis);
    const m = aligned(main, rank, axis);
    if (i == null || m == null || dimEquals(i, m)) continue;
    const strideSymbol = strideLikeSymbol(i, m, run.roles, true);
    if (strideSymbol) strideExpr = strideSymbol;
    else {
      const inSize = evaluate(i, witness.assignment);
      const outSize = evaluate(m, witness.assignment);
      const ratio = Math.round(inSize / outSize);
      if (!(outSize > 0 && ratio >= 2 && Math.ceil(inSize / ratio) === outSize)) return undefined;
      strideExpr = String(ratio);
      alwaysSpatial = true;
    }
  }
  if (strideExpr && !alwaysSpatial) conditionParts.push(`${strideExpr} != 1`);
  let alwaysChannels = false;
  if (!dimEquals(inDim, outDim)) {
    conditionParts.push(`${formatDim(inDim)} != ${formatDim(outDim)}`);
    // `dim != dim * 4` holds for every width: write the projection without a test.
    alwaysChannels = !canBeEqual(inDim, outDim, run.roles);
  }
  return {
    site: obs.site,
    classNode,
    text,
    identitySide: side,
    rank,
    layout: chosen.obs.leftLayout ?? chosen.obs.rightLayout ?? 'channels-first',
    inExpr: formatDim(inDim),
    outExpr: formatDim(outDim),
    strideExpr,
    conditionParts: alwaysSpatial || alwaysChannels ? [] : conditionParts,
    path: chosen.obs.path,
    // Option A pads channels: offered where the failing instantiation (or some arguments) grows them.
    channelsUp: concrete && concrete.channelsIn !== null && concrete.channelsOut !== null && isConcrete(concrete.channelsIn) && isConcrete(concrete.channelsOut)
      ? concrete.channelsOut > concrete.channelsIn
      : canCompare(inDim, outDim, run.roles, (a, b) => b > a),
  };
}

/** "when `stride != 1` or `in_planes != planes`", from the clashing axes and the path. */
export function conditionText(obs: AddObservation, d: Extract<Decision, { kind: 'clash' }>, facts: MismatchFacts, roles: ReadonlyMap<string, SymbolDomainRole>): string {
  const rank = Math.max(d.left.length, d.right.length);
  const side = facts.identitySide;
  const identity = side === 'left' ? d.left : d.right;
  const main = side === 'left' ? d.right : d.left;
  const c = channelAxis(obs, rank);
  // Spatial conditions first, as a shortcut guard is usually written: `stride != 1 or in != out`.
  const spatialParts: string[] = [];
  const channelParts: string[] = [];
  for (const axis of d.witness.axes) {
    const i = aligned(identity, rank, axis);
    const m = aligned(main, rank, axis);
    if (i == null || m == null) continue;
    if (axis !== c && axis !== 0) {
      const strideSymbol = strideLikeSymbol(i, m, roles);
      spatialParts.push(strideSymbol ? `\`${strideSymbol} != 1\`` : `\`${formatDim(m)} != ${formatDim(i)}\``);
    } else {
      channelParts.push(`\`${formatDim(i)} != ${formatDim(m)}\``);
    }
  }
  const unique = [...new Set([...spatialParts, ...channelParts])];
  let text = `when ${unique.join(' or ') || 'some arguments differ'}`;
  const pathParts = obs.path.filter((step: PathFact) => !step.implied).map((step: PathFact) => formatCond(step.taken ? step.cond : not(step.cond)));
  if (pathParts.length) text += ` (on the path where \`${pathParts.join(' and ')}\`)`;
  return text;
}

function canBeEqual(a: Dim, b: Dim, roles: ReadonlyMap<string, SymbolDomainRole>): boolean {
  return canCompare(a, b, roles, (x, y) => x === y);
}

/** Whether some values of the symbols (from their domains) make `test` hold. */
function canCompare(a: Dim, b: Dim, roles: ReadonlyMap<string, SymbolDomainRole>, test: (x: number, y: number) => boolean): boolean {
  const symbols = [...new Set([...symbolsOf(a), ...symbolsOf(b)])];
  const domains = symbols.map((s) => domainFor(s, roles.get(s) ?? 'param', false));
  const env = new Map<string, number>();
  const tryAll = (i: number): boolean => {
    if (i === symbols.length) return test(evaluate(a, env), evaluate(b, env));
    for (const v of domains[i]!) {
      env.set(symbols[i]!, v);
      if (tryAll(i + 1)) return true;
    }
    return false;
  };
  return symbols.length <= 4 ? tryAll(0) : true;
}

function insideLoop(classNode: PyNode, site: PyNode): boolean {
  for (const node of walk(classNode)) {
    if ((node.type === 'for_statement' || node.type === 'while_statement') && node.startIndex <= site.startIndex && site.endIndex <= node.endIndex) return true;
  }
  return false;
}

/**
 * A parameter whose value 1 makes two spatial sizes equal for every input size tried: the
 * stride. `strict` also asks that `b` is `a` divided by it, rounded up, as a strided conv gives.
 */
function strideLikeSymbol(a: Dim, b: Dim, roles: ReadonlyMap<string, SymbolDomainRole>, strict = false): string | undefined {
  const symbols = new Set<string>();
  symbolsOf(a, symbols);
  symbolsOf(b, symbols);
  const params = [...symbols].filter((s) => isParameterRole(roles.get(s)));
  if (params.length !== 1) return undefined;
  const p = params[0]!;
  const others = [...symbols].filter((s) => s !== p);
  for (const size of [7, 8, 15, 32, 56, 224]) {
    const env = new Map<string, number>(others.map((s) => [s, size]));
    env.set(p, 1);
    if (evaluate(a, env) !== evaluate(b, env)) return undefined;
    if (strict) {
      for (const stride of [2, 3]) {
        env.set(p, stride);
        if (evaluate(b, env) !== Math.ceil(evaluate(a, env) / stride)) return undefined;
      }
    }
  }
  return p;
}

