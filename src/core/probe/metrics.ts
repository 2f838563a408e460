// Numbers computed from probe messages: the same in the worker, the CLI and the panel.
import type { ProbeLayer } from './protocol';

/** Losses averaged over this many last steps make a variant's final loss. */
export const finalLossWindow = 10;

export function meanOfLast(values: readonly number[], count = finalLossWindow): number {
  const tail = values.slice(-count);
  if (tail.length === 0) return Number.NaN;
  return tail.reduce((sum, v) => sum + v, 0) / tail.length;
}

export function l2Norm(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]! * values[i]!;
  return Math.sqrt(sum);
}

export function meanAndStd(values: ArrayLike<number>): { mean: number; std: number } {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  const mean = sum / Math.max(1, values.length);
  let squares = 0;
  for (let i = 0; i < values.length; i++) squares += (values[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(squares / Math.max(1, values.length)) };
}

/**
 * Gradient norm of the first conv kernel over that of the last conv kernel: far above 1
 * means gradients grow towards the input, far below 1 that they vanish. Conv kernels
 * only, so the classifier's different scale does not enter.
 */
export function firstToLastRatio(layers: readonly ProbeLayer[], gradNorms: readonly number[]): number | undefined {
  const convs = layers.filter((l) => l.kind === 'conv');
  if (convs.length < 2) return undefined;
  const first = gradNorms[convs[0]!.index];
  const last = gradNorms[convs[convs.length - 1]!.index];
  if (first === undefined || last === undefined || !(last > 0)) return undefined;
  return first / last;
}

/** The cross-entropy of a uniform guess: where an untrained classifier's loss starts. */
export function chanceLoss(classes: number): number {
  return Math.log(classes);
}

/**
 * A cross-entropy this large means logit gaps of the same size: the weights have blown
 * up and the next steps reach Inf or NaN. Stopping here saves the steps in between.
 */
export const divergedLossThreshold = 1e6;

export function lossDiverged(loss: number): boolean {
  return !Number.isFinite(loss) || loss > divergedLossThreshold;
}
