// The one-line verdict of a "Probe This Model" run: the model's final loss against its
// plain twin's. Shared by the CodeLens, the CLI and the panel page (no Node or DOM here).
import { ProbeRunState, type ProbeRunRecord } from '../probe/probeRun';
import { summaryRow } from '../probe/probeSummary';
import { comparableLossMargin } from '../probe/verdict';

const fmt = (value: number): string => value.toFixed(2);

/** The one-line verdict of a model probe (the CodeLens, the CLI): the model's final loss against its plain twin's. */
export function modelVerdictLine(record: ProbeRunRecord, cancelled: boolean): string {
  const state = new ProbeRunState(record);
  const finalLoss = (id: string): number | null => {
    const variant = state.variants.find((v) => v.id === id);
    if (!variant) return null;
    const row = summaryRow(variant);
    return variant.failure?.code === 'diverged' ? Number.POSITIVE_INFINITY : row.finalLoss;
  };
  const residual = finalLoss('model');
  const plain = finalLoss('model-plain');
  const partial = cancelled ? ' (stopped early)' : '';
  const loss = (value: number): string => (Number.isFinite(value) ? fmt(value) : 'diverged');
  if (residual === null) return `probe failed${partial}`;
  if (plain === null) return `final loss ${loss(residual)}${partial}`;
  let reading: string;
  if (!Number.isFinite(residual) && !Number.isFinite(plain)) reading = 'both diverged';
  else if (Math.abs(residual - plain) <= comparableLossMargin) reading = 'skips make no difference yet';
  else reading = residual < plain ? 'skips help' : 'the plain twin trains better';
  const deeper = finalLoss('deeper');
  const shallower = finalLoss('shallower');
  const depth = deeper !== null && shallower !== null ? `; shallower ${loss(shallower)}, deeper ${loss(deeper)}` : '';
  return `residual ${loss(residual)} vs plain twin ${loss(plain)}: ${reading}${depth}${partial}`;
}
