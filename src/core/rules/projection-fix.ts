// Fixes for residual-shape-mismatch, written the way the file already builds its
// shortcuts:
// - "Add projection shortcut (1x1 conv + BatchNorm)": completes the `if` that guards an
//   existing shortcut, replaces a projection that is wrong, completes a conditional
//   `downsample`, or creates a conditional `self.shortcut` and uses it in forward;
// - "Use zero-padding shortcut (option A)": where channels grow, subsample and zero-pad
//   the input instead (He et al. 2015, option A).
// Expressions come from the symbolic run of the block, so they are written in the
// constructor's own parameter names (`in_planes != planes * 4`).
import type { Fix, MismatchKind, TextEdit } from '../diagnostic';
import type { Dim } from '../shapes/dim';
import type { ShapeDim } from '../shapes/shape';
import { type PyNode, methodOf, nodeText, walk } from '../parse/python-ast';
import type { PathStep } from '../pytorch/interpreter';
import type { Layout } from '../pytorch/values';

export interface MismatchFacts {
  kind: MismatchKind;
  identitySide: 'left' | 'right';
  channelsIn: ShapeDim;
  channelsOut: ShapeDim;
  /** The stride a projection needs, when the sizes are a whole stride apart. */
  stride: Dim | undefined;
  /** Input size over output size on the first clashing spatial axis, at the witness. */
  spatialRatio: number | undefined;
  rank: number;
  layout: Layout;
}

/** What a projection must do, in the block constructor's terms. */
export interface ProjectionPlan {
  site: PyNode;
  classNode: PyNode;
  text: string;
  identitySide: 'left' | 'right';
  rank: number;
  layout: Layout;
  inExpr: string;
  outExpr: string;
  /** Undefined: stride 1. */
  strideExpr: string | undefined;
  /** When the projection is needed (`stride != 1`, `in_planes != planes`); empty: always. */
  conditionParts: string[];
  /** The failing path of the symbolic run: which guards were taken. */
  path: PathStep[];
  channelsUp: boolean;
}

export const projectionFixTitle = 'Add projection shortcut (1x1 conv + BatchNorm)';
export const linearProjectionFixTitle = 'Add projection shortcut (Linear)';
export const optionAFixTitle = 'Use zero-padding shortcut (option A)';

export function projectionFixes(plan: ProjectionPlan | undefined): Fix[] {
  if (!plan) return [];
  const fixes: Fix[] = [];
  const projection = projectionFix(plan);
  if (projection) fixes.push(projection);
  const optionA = optionAFix(plan);
  if (optionA) fixes.push(optionA);
  return fixes;
}

interface Style {
  /** `nn.`, `torch.nn.` or '' for names imported from torch.nn. */
  prefix: string;
  /** Edits that import names the bare style lacks. */
  importEdits: TextEdit[];
  functional: string | undefined;
  indentUnit: string;
}

function styleOf(plan: ProjectionPlan, names: string[]): Style | undefined {
  const { text } = plan;
  let functional: string | undefined;
  const fAlias = /^\s*(?:import\s+torch\.nn\.functional\s+as\s+(\w+)|from\s+torch\.nn\s+import\s+functional\s+as\s+(\w+))/m.exec(text);
  if (fAlias) functional = `${fAlias[1] ?? fAlias[2]}.`;
  else if (/^\s*import\s+torch\b/m.test(text)) functional = 'torch.nn.functional.';
  const indentUnit = indentOf(plan.classNode.fields.body?.children[0], text) || '    ';
  if (/^\s*(?:import\s+torch\.nn\s+as\s+nn|from\s+torch\s+import\s+(?:[\w\s,]*\b)?nn\b)/m.test(text)) return { prefix: 'nn.', importEdits: [], functional, indentUnit };
  const fromImport = /^from\s+torch\.nn\s+import\s+([^\n(]+)$/m.exec(text);
  if (fromImport) {
    const imported = new Set(fromImport[1]!.split(',').map((n) => n.trim().split(/\s+as\s+/)[0]));
    const missing = names.filter((n) => !imported.has(n));
    const lineIndex = text.slice(0, fromImport.index).split('\n').length - 1;
    const lineEnd = fromImport[0].replace(/\s+$/, '').length;
    const importEdits: TextEdit[] = missing.length
      ? [{ range: { start: { line: lineIndex, character: lineEnd }, end: { line: lineIndex, character: lineEnd } }, newText: `, ${missing.join(', ')}` }]
      : [];
    return { prefix: '', importEdits, functional, indentUnit };
  }
  if (/^\s*import\s+torch\b/m.test(text)) return { prefix: 'torch.nn.', importEdits: [], functional, indentUnit };
  return undefined;
}

function indentOf(node: PyNode | undefined, text: string): string {
  if (!node) return '';
  const lineStart = text.lastIndexOf('\n', node.startIndex - 1) + 1;
  return text.slice(lineStart, node.startIndex);
}

function at(line: number, character: number): { line: number; character: number } {
  return { line, character };
}

function replaceNode(node: PyNode, newText: string): TextEdit {
  return { range: { start: at(node.startRow, node.startCol), end: at(node.endRow, node.endCol) }, newText };
}

function insertAfter(node: PyNode, newText: string): TextEdit {
  return { range: { start: at(node.endRow, node.endCol), end: at(node.endRow, node.endCol) }, newText };
}

function insertBefore(node: PyNode, newText: string): TextEdit {
  return { range: { start: at(node.startRow, node.startCol), end: at(node.startRow, node.startCol) }, newText };
}

/** The operand of the addition that carries the identity, and the tensor it starts from. */
function identityOperand(plan: ProjectionPlan): PyNode | undefined {
  const site = plan.site;
  if (site.type === 'binary_operator') return plan.identitySide === 'left' ? site.fields.left : site.fields.right;
  if (site.type === 'augmented_assignment') return plan.identitySide === 'right' ? site.fields.right : undefined;
  if (site.type === 'call') {
    const args = (site.fields.arguments?.children ?? []).filter((c) => c.type !== 'keyword_argument' && c.type !== 'comment');
    return plan.identitySide === 'left' ? args[0] : args[1];
  }
  return undefined;
}

/** `self.shortcut(x)` → ('shortcut', x node); `x` → (undefined, x node). */
function splitOperand(operand: PyNode): { attr?: string; arg: PyNode } | undefined {
  let node = operand;
  while (node.type === 'parenthesized_expression' && node.children[0]) node = node.children[0];
  if (node.type === 'identifier') return { arg: node };
  if (node.type === 'call') {
    const fn = node.fields.function;
    const args = node.fields.arguments?.children.filter((c) => c.type !== 'comment') ?? [];
    if (fn?.type === 'attribute' && fn.fields.object?.text === 'self' && args.length === 1 && args[0]!.type === 'identifier') {
      return { attr: fn.fields.attribute!.text, arg: args[0]! };
    }
  }
  return undefined;
}

function projectionExpr(plan: ProjectionPlan, style: Style, indent: string): string | undefined {
  const inner = indent + style.indentUnit;
  if (plan.layout === 'channels-last') return `${style.prefix}Linear(${plan.inExpr}, ${plan.outExpr})`;
  const n = plan.rank - 2;
  if (n < 1 || n > 3) return undefined;
  const stride = plan.strideExpr ? `, stride=${plan.strideExpr}` : '';
  return (
    `${style.prefix}Sequential(\n` +
    `${inner}${style.prefix}Conv${n}d(${plan.inExpr}, ${plan.outExpr}, kernel_size=1${stride}, bias=False),\n` +
    `${inner}${style.prefix}BatchNorm${n}d(${plan.outExpr}),\n` +
    `${indent})`
  );
}

function conditionText(parts: string[]): string {
  return parts.join(' or ');
}

function layerNames(plan: ProjectionPlan): string[] {
  if (plan.layout === 'channels-last') return ['Linear'];
  const n = plan.rank - 2;
  return ['Sequential', `Conv${n}d`, `BatchNorm${n}d`];
}

/** Assignments `self.<attr> = ...` in a method body, with the `if` statements around each. */
function selfAssignments(method: PyNode, attr: string): { stmt: PyNode; ifs: PyNode[] }[] {
  const found: { stmt: PyNode; ifs: PyNode[] }[] = [];
  const visit = (block: PyNode | undefined, ifs: PyNode[]): void => {
    for (const stmt of block?.children ?? []) {
      if (stmt.type === 'expression_statement' && stmt.children[0]?.type === 'assignment') {
        const left = stmt.children[0].fields.left;
        if (left?.type === 'attribute' && left.fields.object?.text === 'self' && left.fields.attribute?.text === attr) found.push({ stmt, ifs });
      } else if (stmt.type === 'if_statement') {
        visit(stmt.fields.consequence, [...ifs, stmt]);
        for (const alt of stmt.children) {
          if (alt.type === 'elif_clause') visit(alt.fields.consequence, [...ifs, stmt]);
          if (alt.type === 'else_clause') visit(alt.fields.body, [...ifs, stmt]);
        }
      }
    }
  };
  visit(method.fields.body, []);
  return found;
}

function freshAttribute(plan: ProjectionPlan, wanted: string): string {
  const body = plan.text.slice(plan.classNode.startIndex, plan.classNode.endIndex);
  for (const name of [wanted, `${wanted}_proj`, 'projection', 'skip_proj']) if (!new RegExp(`\\bself\\.${name}\\b`).test(body)) return name;
  return `${wanted}_${plan.site.startRow}`;
}

function projectionFix(plan: ProjectionPlan): Fix | undefined {
  const style = styleOf(plan, layerNames(plan));
  const init = methodOf(plan.classNode, '__init__');
  const operand = identityOperand(plan);
  if (!style || !init || !operand || !init.fields.body?.children.length) return undefined;
  const split = splitOperand(operand);
  if (!split) return undefined;
  const { text } = plan;
  const title = plan.layout === 'channels-last' ? linearProjectionFixTitle : projectionFixTitle;
  const bodyIndent = indentOf(init.fields.body.children[0], text);
  const edits: TextEdit[] = [...style.importEdits];

  if (split.attr) {
    // forward already calls self.<attr>(x): fix how __init__ builds it.
    const assignments = selfAssignments(init, split.attr);
    const guarded = assignments.find((a) => a.ifs.length > 0);
    if (guarded) {
      const ifStmt = guarded.ifs[guarded.ifs.length - 1]!;
      const condition = ifStmt.fields.condition!;
      const step = plan.path.find((p) => p.at === condition.startIndex);
      const assignment = guarded.stmt.children[0]!;
      const inElse = assignment.startIndex > (ifStmt.fields.consequence?.endIndex ?? 0);
      if (step && step.taken && !inElse) {
        // The guard held on the failing path: the projection it builds is wrong.
        const expr = projectionExpr(plan, style, indentOf(guarded.stmt, text));
        if (!expr) return undefined;
        edits.push(replaceNode(assignment.fields.right!, expr));
      } else if (!inElse) {
        const current = nodeText(condition, text);
        const missing = plan.conditionParts.filter((p) => !normalize(current).includes(normalize(p)));
        if (!missing.length) return undefined;
        const wrapped = /\band\b/.test(current) && !/^\(.*\)$/.test(current) ? `(${current})` : current;
        edits.push(replaceNode(condition, `${wrapped} or ${conditionText(missing)}`));
      } else return undefined;
      return { title, edits, isPreferred: true };
    }
    const plain = assignments[assignments.length - 1];
    if (!plain) return undefined;
    const right = plain.stmt.children[0]!.fields.right;
    if (right?.type === 'identifier') return downsampleParamFix(plan, style, init, right.text, title, edits);
    // An unconditional identity: add the guarded projection right after it.
    const indent = indentOf(plain.stmt, text);
    const block = guardedProjection(plan, style, indent, `self.${split.attr}`);
    if (!block) return undefined;
    edits.push(insertAfter(plain.stmt, `\n${block}`));
    return { title, edits, isPreferred: true };
  }

  // forward adds a plain tensor. A conditional downsample passed in (torchvision style)?
  const forward = methodOf(plan.classNode, 'forward');
  const downsampleUse = forward ? findConditionalAssignment(forward, split.arg.text) : undefined;
  if (downsampleUse) {
    const stored = selfAssignments(init, downsampleUse).find((a) => a.stmt.children[0]?.fields.right?.type === 'identifier');
    const param = stored?.stmt.children[0]?.fields.right?.text;
    if (param) return downsampleParamFix(plan, style, init, param, title, edits);
    return undefined;
  }
  const attr = freshAttribute(plan, 'shortcut');
  const lastStmt = init.fields.body.children[init.fields.body.children.length - 1]!;
  const identity = `${style.prefix}Identity()`;
  if (plan.conditionParts.length) {
    // The fallback Identity is one more name to import where layers are imported by name.
    const withIdentity = styleOf(plan, [...layerNames(plan), 'Identity']);
    if (!withIdentity) return undefined;
    edits.splice(0, style.importEdits.length, ...withIdentity.importEdits);
  }
  const block = guardedProjection(plan, style, bodyIndent, `self.${attr}`);
  if (!block) return undefined;
  const fallback = plan.conditionParts.length ? `\n${bodyIndent}self.${attr} = ${identity}` : '';
  edits.push(insertAfter(lastStmt, `${fallback}\n${block}`));
  edits.push(replaceNode(operand, `self.${attr}(${split.arg.text})`));
  return { title, edits, isPreferred: true };
}

/** `if <cond>:\n    <target> = <projection>`, or the bare assignment when always needed. */
function guardedProjection(plan: ProjectionPlan, style: Style, indent: string, target: string): string | undefined {
  if (plan.conditionParts.length === 0) {
    const expr = projectionExpr(plan, style, indent);
    return expr ? `${indent}${target} = ${expr}` : undefined;
  }
  const inner = indent + style.indentUnit;
  const expr = projectionExpr(plan, style, inner);
  return expr ? `${indent}if ${conditionText(plan.conditionParts)}:\n${inner}${target} = ${expr}` : undefined;
}

/** torchvision style: the block stores a `downsample` argument; build it when the caller passed none. */
function downsampleParamFix(plan: ProjectionPlan, style: Style, init: PyNode, param: string, title: string, edits: TextEdit[]): Fix | undefined {
  const target = findStoreOf(init, param, plan.text);
  if (!target) return undefined;
  const indent = indentOf(target, plan.text);
  const inner = indent + style.indentUnit;
  const expr = projectionExpr(plan, style, inner);
  if (!expr) return undefined;
  const condition = plan.conditionParts.length ? ` and (${conditionText(plan.conditionParts)})` : '';
  edits.push(insertBefore(target, `if ${param} is None${condition}:\n${inner}${param} = ${expr}\n${indent}`));
  return { title, edits, isPreferred: true };
}

function findStoreOf(init: PyNode, param: string, text: string): PyNode | undefined {
  for (const stmt of init.fields.body?.children ?? []) {
    if (stmt.type === 'expression_statement' && new RegExp(`^self\\.\\w+\\s*=\\s*${param}$`).test(nodeText(stmt, text).trim())) return stmt;
  }
  return undefined;
}

/** In forward: `if self.<attr> is not None: <name> = self.<attr>(x)` → attr. */
function findConditionalAssignment(forward: PyNode, name: string): string | undefined {
  for (const node of walk(forward)) {
    if (node.type !== 'if_statement') continue;
    for (const stmt of node.fields.consequence?.children ?? []) {
      const assignment = stmt.children[0];
      if (assignment?.type !== 'assignment' || assignment.fields.left?.text !== name) continue;
      const value = assignment.fields.right;
      const fn = value?.type === 'call' ? value.fields.function : undefined;
      if (fn?.type === 'attribute' && fn.fields.object?.text === 'self') return fn.fields.attribute!.text;
    }
  }
  return undefined;
}

function normalize(s: string): string {
  return s.replace(/\s+/g, '').replace(/self\./g, '');
}

function optionAFix(plan: ProjectionPlan): Fix | undefined {
  if (!plan.channelsUp || plan.layout !== 'channels-first' || plan.rank < 3 || plan.rank > 5) return undefined;
  const init = methodOf(plan.classNode, '__init__');
  const operand = identityOperand(plan);
  const style = styleOf(plan, []);
  if (!init || !operand || !style?.functional || !init.fields.body?.children.length) return undefined;
  const split = splitOperand(operand);
  if (!split) return undefined;
  const forward = methodOf(plan.classNode, 'forward');
  // A downsample chosen in forward would be applied twice.
  if (!split.attr && forward && findConditionalAssignment(forward, split.arg.text)) return undefined;
  const { text } = plan;
  const bodyIndent = indentOf(init.fields.body.children[0], text);
  const padAttr = freshAttribute(plan, 'shortcut_pad');
  const lastStmt = init.fields.body.children[init.fields.body.children.length - 1]!;
  const padPairs = Array.from({ length: plan.rank - 2 }, () => '0, 0').join(', ');
  const inExpr = /^[\w.]+$/.test(plan.inExpr) ? plan.inExpr : `(${plan.inExpr})`;
  const lines = [`self.${padAttr} = ${plan.outExpr} - ${inExpr}`];
  let source = split.arg.text;
  if (plan.strideExpr) {
    // Subsampling with the stride gives ceil(H / stride), as the strided 3x3 conv does.
    const strideAttr = freshAttribute(plan, 'shortcut_stride');
    lines.unshift(`self.${strideAttr} = ${plan.strideExpr}`);
    source = `${split.arg.text}[:, :, ${Array.from({ length: plan.rank - 2 }, () => `::self.${strideAttr}`).join(', ')}]`;
  }
  return {
    title: optionAFixTitle,
    edits: [
      insertAfter(lastStmt, lines.map((l) => `\n${bodyIndent}${l}`).join('')),
      replaceNode(operand, `${style.functional}pad(${source}, (${padPairs}, 0, self.${padAttr}))`),
    ],
  };
}
