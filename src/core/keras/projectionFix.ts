// "Add projection shortcut" for Keras: a 1x1 convolution (and BatchNormalization when
// the main path has one) on the shortcut, inserted before the addition, spelled the
// way the file spells its layers (`layers.Conv2D`, `keras.layers.Conv2D`, `Conv2D`).
// It is guarded by the test that makes it necessary (`if stride != 1 or x.shape[-1]
// != y.shape[-1]:`), so the calls that were already right stay as they were.
import { isConcrete, formatDim } from '../shapes/dim';
import type { Fix, TextEdit } from '../diagnostic';
import { projectionSite } from './projectionSite';
import type { ProjectionPlan } from './residualSites';
import type { Program } from './syntax';
import { callArguments, freshName, indentUnit, lineStart, splitTopLevel } from './sourceEdits';

const shortcutNames = new Set(['shortcut', 'residual', 'identity', 'skip', 'res', 'sc']);

export function kerasProjectionFixes(program: Program): (plan: ProjectionPlan) => Fix[] {
  return (plan) => {
    const site = projectionSite(program, plan);
    if (!site) return [];
    const { observation: ob, operand, mainOperand, statement, text, indent, filters, conv } = site;
    let strides = '';
    if (plan.spatialDiffers && plan.stride === null && !plan.strideDescription) return [];
    if (plan.spatialDiffers && plan.stride !== 1) {
      const s = plan.stridesText ?? (plan.stride !== null && isConcrete(plan.stride) ? String(plan.stride) : undefined);
      if (!s) return [];
      strides = `, strides=${s}`;
    }
    const prefix = /^(.*?)\w+$/.exec(conv.calleeText)?.[1] ?? '';
    const convName = plan.dense ? 'Dense' : `Conv${plan.rank - 2}D`;
    const edits: TextEdit[] = [];
    if (!prefix && !new RegExp(`\\b${convName}\\b`).test(text)) {
      const importEdit = addToImport(text, conv.calleeText, convName);
      if (!importEdit) return [];
      edits.push(importEdit);
    }

    const scope = ob.enclosing ? text.slice(ob.enclosing.span.start, ob.enclosing.span.end) : text;
    const augmented = /^(\w+)\s*\+=\s*([\s\S]*)$/.exec(text.slice(statement.start, statement.end));
    const reuse = shortcutNames.has(operand.name) && !augmented;
    const name = reuse ? operand.name : freshName(['shortcut', 'projected_shortcut'], scope);
    const inner = indent + indentUnit(text, 'python');
    const lines: string[] = [];
    if (!reuse) lines.push(`${indent}${name} = ${operand.name}`);
    lines.push(`${indent}if ${guard(plan, operand.name, mainOperand?.k === 'name' ? mainOperand.name : undefined)}:`);
    lines.push(`${inner}${name} = ${prefix}${convName}(${filters}${plan.dense ? '' : `, 1${strides}`})(${name})`);
    if (plan.norm && !plan.dense) {
      const args = splitTopLevel(callArguments(text.slice(plan.norm.span.start, plan.norm.span.end)) ?? '').filter((a) => !/^name\s*=/.test(a));
      lines.push(`${inner}${name} = ${plan.norm.calleeText}(${args.join(', ')})(${name})`);
    }
    edits.push({ range: { start: lineStart(statement.range.start.line), end: lineStart(statement.range.start.line) }, newText: lines.map((l) => `${l}\n`).join('') });
    if (augmented && augmented[1] === operand.name) {
      // `x += f(x)`: the projected shortcut is a new name, so the statement becomes `x = shortcut + f(x)`.
      edits.push({ range: statement.range, newText: `${operand.name} = ${name} + ${augmented[2]}` });
    } else if (!reuse) {
      edits.push({ range: operand.span.range, newText: name });
    }
    const channels = plan.inChannels !== null && plan.outChannels !== null ? ` ${formatDim(plan.inChannels)}→${formatDim(plan.outChannels)}` : '';
    const what = plan.dense ? `Dense${channels}` : `1x1 ${convName}${channels}${plan.norm ? ' + BatchNormalization' : ''}`;
    return [{ title: `Add projection shortcut (${what})`, edits, isPreferred: true }];
  };
}

/**
 * When the projection is needed: the shortcut's shape differs from the main path's. Testing
 * the shapes (rather than `stride != 1`) also holds on paths that already project.
 */
function guard(plan: ProjectionPlan, shortcut: string, main: string | undefined): string {
  if (main) return `${shortcut}.shape[1:] != ${main}.shape[1:]`;
  const parts: string[] = [];
  if (plan.stridesText && /^[A-Za-z_]\w*$/.test(plan.stridesText)) {
    parts.push(`${plan.stridesText} != ${plan.stridesTupleLength ? `(${Array.from({ length: plan.stridesTupleLength }, () => '1').join(', ')})` : '1'}`);
  }
  parts.push(`${shortcut}.shape[-1] != ${plan.filtersText ?? formatDim(plan.outChannels ?? 0)}`);
  return parts.join(' or ');
}

/** `from tensorflow.keras.layers import SeparableConv2D` → `..., Conv2D`, on a single-line import that names the file's layer. */
function addToImport(text: string, importedName: string, name: string): TextEdit | undefined {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (/^from\s+[\w.]+\s+import\s+[^()]*$/.test(line) && new RegExp(`\\b${importedName}\\b`).test(line.replace(/^from\s+[\w.]+\s+import/, ''))) {
      const body = line.replace(/\s*#.*$/, '');
      return { range: { start: { line: i, character: body.length }, end: { line: i, character: body.length } }, newText: `, ${name}` };
    }
  }
  return undefined;
}
