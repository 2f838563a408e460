// The verdict of a probe: for each architecture, does the deeper network end a short
// training run worse than the shallower one? States what was measured and avoids
// claiming causes: with BatchNorm the ResNet paper found the plain networks' gradients
// healthy, so degradation is not explained by vanishing gradients.
import { chanceLoss } from './metrics';
import type { Architecture } from './protocol';

export interface VariantOutcome {
  id: string;
  architecture: Architecture;
  depth: number;
  /** 'done' when the run completed or hit its time budget. */
  status: 'done' | 'diverged' | 'error' | 'cancelled';
  finalLoss?: number;
  steps?: number;
  batchNorm?: boolean;
}

export type DepthComparison = 'degradation' | 'behind' | 'comparable' | 'better' | 'diverged' | 'incomplete';

export interface DepthVerdict {
  architecture: Architecture;
  shallow: string;
  deep: string;
  comparison: DepthComparison;
  shallowLoss?: number;
  deepLoss?: number;
  /** Loss the deeper net removed from chance, as a fraction of what the shallower removed. */
  progressRatio?: number;
  text: string;
}

/** Losses closer than this count as equal: below the step-to-step noise of a 10-step mean. */
export const comparableLossMargin = 0.05;
/** A deeper net that removed less than this fraction of the shallower one's progress is degraded. */
export const degradationProgressRatio = 0.5;

const fmt = (v: number): string => v.toFixed(2);

export function compareDepths(shallow: VariantOutcome, deep: VariantOutcome, classes: number): DepthVerdict {
  const base = { architecture: deep.architecture, shallow: shallow.id, deep: deep.id };
  if (deep.status === 'diverged' || shallow.status === 'diverged') {
    const which = [shallow, deep].filter((v) => v.status === 'diverged').map((v) => v.id).join(' and ');
    return { ...base, comparison: 'diverged', text: `${which} diverged (loss became NaN or infinite): no comparison` };
  }
  if (deep.status !== 'done' || shallow.status !== 'done' || deep.finalLoss === undefined || shallow.finalLoss === undefined) {
    return { ...base, comparison: 'incomplete', text: `${deep.id} vs ${shallow.id}: not both finished, no comparison` };
  }
  const chance = chanceLoss(classes);
  const shallowLoss = shallow.finalLoss;
  const deepLoss = deep.finalLoss;
  const shallowProgress = chance - shallowLoss;
  const deepProgress = chance - deepLoss;
  const progressRatio = shallowProgress > 1e-9 ? deepProgress / shallowProgress : undefined;
  const numbers = `${deep.id} ends at loss ${fmt(deepLoss)} vs ${shallow.id} ${fmt(shallowLoss)}`;
  const progressText =
    progressRatio === undefined ? '' : ` (the deeper net removed ${Math.round(Math.max(0, progressRatio) * 100)}% as much loss from chance, ${fmt(chance)})`;
  let comparison: DepthComparison;
  let text: string;
  if (Math.abs(deepLoss - shallowLoss) <= comparableLossMargin) {
    comparison = 'comparable';
    text = `${numbers}: comparable`;
  } else if (deepLoss < shallowLoss) {
    comparison = 'better';
    text = `${numbers}: deeper is better`;
  } else if (progressRatio === undefined || progressRatio < degradationProgressRatio) {
    comparison = 'degradation';
    text = `${numbers}: degradation${progressText}`;
  } else {
    comparison = 'behind';
    text = `${numbers}: deeper is behind after ${deep.steps ?? 'these'} steps but learning, no degradation${progressText}`;
  }
  return { ...base, comparison, shallowLoss, deepLoss, ...(progressRatio !== undefined ? { progressRatio } : {}), text };
}

/** One comparison per architecture and deeper depth, each against the shallowest depth of that architecture. */
export function probeVerdict(outcomes: readonly VariantOutcome[], classes: number): { verdicts: DepthVerdict[]; caveat?: string } {
  const verdicts: DepthVerdict[] = [];
  for (const architecture of ['plain', 'residual'] as const) {
    const family = outcomes.filter((o) => o.architecture === architecture).sort((a, b) => a.depth - b.depth);
    for (const deep of family.slice(1)) verdicts.push(compareDepths(family[0]!, deep, classes));
  }
  const withNorm = outcomes.some((o) => o.batchNorm !== false);
  const caveat = withNorm
    ? 'With BatchNorm the ResNet paper found healthy gradients in plain nets: degradation is an optimisation difficulty, not explained by vanishing gradients. Short runs show early training only.'
    : undefined;
  return caveat ? { verdicts, caveat } : { verdicts };
}
