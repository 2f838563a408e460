// residual-silent-broadcast: a skip add that PyTorch accepts only by stretching a
// size-1 axis of one operand, e.g. (N, 1, H, W) + (N, 64, H, W). Legal, and almost
// never what a residual connection means. A stretched batch axis (a positional
// embedding of batch 1) is ordinary and not reported.
import type { Finding } from '../diagnostic';
import { formatShape, type ShapeDim } from '../shapes/shape';
import { rangeOf } from '../parse/python-ast';
import type { AddObservation } from '../pytorch/interpreter';

export const residualSilentBroadcastRule = 'residual-silent-broadcast';

/** Right-aligned stretched axes that are not the batch axis of equal-rank operands. */
export function stretchedNonBatchAxes(_obs: AddObservation, left: ShapeDim[], right: ShapeDim[], axes: number[]): number[] {
  if (left.length !== right.length) return [];
  return axes.filter((a) => a !== 0);
}

export function silentBroadcastFinding(obs: AddObservation, left: ShapeDim[], right: ShapeDim[], axes: number[]): Finding {
  const [leftText, rightText] = [formatShape(obs.left), formatShape(obs.right)];
  const stretched = stretchedNonBatchAxes(obs, left, right, axes);
  const which = stretched.map((a) => (left[a] === 1 ? `left axis ${a}` : `right axis ${a}`)).join(', ');
  return {
    rule: residualSilentBroadcastRule,
    severity: 'warning',
    range: rangeOf(obs.site),
    message: `Residual add: ${leftText} + ${rightText} only works by broadcasting a size-1 axis (${which}); a skip connection usually needs equal shapes.`,
    kind: 'other',
    shapes: [leftText, rightText],
    fixes: [],
  };
}
