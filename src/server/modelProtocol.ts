// The language server's custom requests for "Probe This Model", shared by the server
// and the extension host (types and method names only: nothing here runs).
import type { ModelCandidate } from '../core/modelGraph/extract';
import type { ModelExtraction } from '../core/modelGraph/graph';

export const listModelsMethod = 'residualLens/listModels';
export const extractModelMethod = 'residualLens/extractModel';

export interface ListModelsParams {
  uri: string;
}

export interface ListModelsResult {
  models: ModelCandidate[];
  /** The version of the open document that was read; null when it was read from disk. */
  documentVersion: number | null;
}

export interface ExtractModelParams {
  uri: string;
  /** The model to extract; else the one around `position`. */
  modelName?: string;
  position?: { line: number; character: number };
  /** Batch first; overrides what the file says. */
  inputShape?: number[];
}

export type ExtractModelResult =
  | { extraction: ModelExtraction; documentVersion: number | null }
  | { error: string; models: ModelCandidate[]; documentVersion: number | null };
