// "Add projection shortcut" for TF.js: `tf.layers.conv2d({filters, kernelSize: 1,
// strides, padding: 'same'}).apply(shortcut)` (inside the main path's
// batchNormalization when it has one), applied before the addition under the test
// that makes it necessary, so the calls that were already right stay as they were.
import { formatDim, isConcrete } from '../shapes/dim';
import type { Fix } from '../diagnostic';
import { projectionSite } from '../keras/projectionSite';
import type { ProjectionPlan } from '../keras/residualSites';
import type { Program } from '../keras/syntax';
import { callArguments, freshName, indentUnit, lineStart } from '../keras/sourceEdits';

export function tfjsProjectionFixes(program: Program, typescript: boolean): (plan: ProjectionPlan) => Fix[] {
  return (plan) => {
    const site = projectionSite(program, plan);
    if (!site) return [];
    const { observation: ob, operand, mainOperand, statement, text, indent, filters, conv } = site;
    const widthKey = plan.dense ? 'units' : 'filters';
    const options = [filters === widthKey ? widthKey : `${widthKey}: ${filters}`];
    if (!plan.dense) options.push('kernelSize: 1');
    if (plan.spatialDiffers && plan.stride === null && !plan.strideDescription) return [];
    if (plan.spatialDiffers && plan.stride !== 1) {
      const s = plan.stridesText ?? (plan.stride !== null && isConcrete(plan.stride) ? String(plan.stride) : undefined);
      if (!s) return [];
      options.push(s === 'strides' ? 'strides' : `strides: ${s}`);
    }
    if (!plan.dense) options.push("padding: 'same'");
    const prefix = /^(.*?)\w+$/.exec(conv.calleeText)?.[1] ?? '';
    if (!prefix) return [];
    const convName = plan.dense ? 'dense' : `conv${plan.rank - 2}d`;
    const scope = ob.enclosing ? text.slice(ob.enclosing.span.start, ob.enclosing.span.end) : text;
    const name = freshName(['shortcut', 'projectedShortcut'], scope);
    let expression = `${prefix}${convName}({${options.join(', ')}}).apply(${name})`;
    if (plan.norm && !plan.dense) {
      const normArgs = callArguments(text.slice(plan.norm.span.start, plan.norm.span.end)) ?? '';
      // A copied `name` would clash: TF.js layer names are unique.
      const cleaned = /\bname\s*:/.test(normArgs) ? '' : normArgs;
      expression = `${plan.norm.calleeText}(${cleaned}).apply(${expression})`;
    }
    const cast = typescript ? /\bas\s+([\w.]*SymbolicTensor)\b/.exec(text)?.[1] : undefined;
    const semicolon = /;\s*$/.test(text.slice(statement.start, statement.end)) ? ';' : '';
    const inner = indent + indentUnit(text, 'script');
    const main = mainOperand?.k === 'name' ? mainOperand.name : undefined;
    const declaration =
      `${indent}let ${name} = ${operand.name}${semicolon}\n` +
      `${indent}if (${guard(plan, operand.name, main)}) {\n` +
      `${inner}${name} = ${expression}${cast ? ` as ${cast}` : ''}${semicolon}\n` +
      `${indent}}\n`;
    const channels = plan.inChannels !== null && plan.outChannels !== null ? ` ${formatDim(plan.inChannels)}→${formatDim(plan.outChannels)}` : '';
    return [{
      title: `Add projection shortcut (${plan.dense ? `dense${channels}` : `1x1 ${convName}${channels}${plan.norm ? ' + batchNormalization' : ''}`})`,
      edits: [
        { range: { start: lineStart(statement.range.start.line), end: lineStart(statement.range.start.line) }, newText: declaration },
        { range: operand.span.range, newText: name },
      ],
      isPreferred: true,
    }];
  };
}

/** When the projection is needed: the shortcut's shape differs from the main path's, axis by axis. */
function guard(plan: ProjectionPlan, shortcut: string, main: string | undefined): string {
  if (main) return Array.from({ length: plan.rank - 1 }, (_, i) => `${shortcut}.shape[${i + 1}] !== ${main}.shape[${i + 1}]`).join(' || ');
  const parts: string[] = [];
  if (plan.stridesText && /^[A-Za-z_$][\w$]*$/.test(plan.stridesText) && !plan.stridesTupleLength) parts.push(`${plan.stridesText} !== 1`);
  parts.push(`${shortcut}.shape[${shortcut}.shape.length - 1] !== ${plan.filtersText ?? formatDim(plan.outChannels ?? 0)}`);
  return parts.join(' || ');
}
