// Where a projection fix can go, shared by the Keras and TF.js fixes: the addition's
// shortcut operand is a plain name, the statement starts its line, the main path's
// layers are built inline in the same function, and the width of the projection is known.
import { isConcrete } from '../shapes/dim';
import type { ProjectionPlan } from './residualSites';
import type { Program } from './syntax';
import { lineText } from './sourceEdits';

type Observation = ProjectionPlan['observation'];

export interface ProjectionSite {
  observation: Observation;
  operand: NonNullable<Observation['operands'][number]> & { k: 'name' };
  mainOperand: Observation['operands'][number];
  statement: NonNullable<Observation['statement']>;
  text: string;
  indent: string;
  /** The projection's output width as source text (a name or a number). */
  filters: string;
  /** The main path's convolution (or dense) layer the projection copies its stride from. */
  conv: NonNullable<ProjectionPlan['conv']>;
}

export function projectionSite(program: Program, plan: ProjectionPlan): ProjectionSite | undefined {
  const observation = plan.observation;
  const operand = observation.operands[plan.shortcutIndex];
  const mainOperand = observation.operands[1 - plan.shortcutIndex];
  const statement = observation.statement;
  if (!operand || operand.k !== 'name' || !statement || (!plan.dense && (plan.rank < 3 || plan.rank > 5)) || !plan.conv) return undefined;
  // Only layers built inline in the same function: a Layer subclass builds them in
  // __init__/build, where a projection would have to go instead.
  const inside = (span: { start: number; end: number }) =>
    !observation.enclosing || (span.start >= observation.enclosing.span.start && span.end <= observation.enclosing.span.end);
  if (!inside(plan.conv.span) || (plan.norm && !inside(plan.norm.span))) return undefined;
  const text = program.text;
  const line = lineText(text, statement.range.start.line);
  const indent = /^\s*/.exec(line)![0];
  if (statement.range.start.character !== indent.length) return undefined;
  const filters = plan.filtersText ?? (plan.outChannels !== null && isConcrete(plan.outChannels) ? String(plan.outChannels) : undefined);
  if (!filters) return undefined;
  return { observation, operand: operand as ProjectionSite['operand'], mainOperand, statement, text, indent, filters, conv: plan.conv };
}
