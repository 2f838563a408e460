import type { Fix } from '../diagnostic';
import type { Dim } from '../shapes/dim';
import type { ShapeDim } from '../shapes/shape';
import type { Layout } from '../pytorch/values';
import type { MismatchKind } from '../diagnostic';
import type { AddObservation } from '../pytorch/interpreter';
import type { PyTorchRunResult } from '../pytorch/checker';
import type { ClassFacts } from './residual-shape-mismatch';

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

export function projectionFixes(_obs: AddObservation, _facts: MismatchFacts, _run: PyTorchRunResult, _cls: ClassFacts | undefined, _text: string): Fix[] {
  return [];
}
