// The language server's request for "Verify Shapes with PyTorch": the analysis's side of
// the comparison, computed in the server so the extension host does no analysis work.
// Shared by the server and the extension host (types and the method name only).
import type { StaticAdditions } from '../torch/shapeVerification';

export const staticAdditionsMethod = 'residualLens/staticAdditions';

export interface StaticAdditionsParams {
  /** A file: URI of a Python file; its saved text is read (the text torch imports). */
  uri: string;
}

export type StaticAdditionsResult = { additions: StaticAdditions; ms: number } | { error: string };
