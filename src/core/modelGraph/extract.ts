// "Probe this model": from a file and a class (or a line inside it) to the model graphs
// the probe trains. Dispatches to the front end of the file's framework; each front end
// runs its interpreter with a graph recorder at the file's concrete instantiation.
import type { AnalysisOptions, SourceDocument } from '../analysis';
import type { Grammars } from '../parse/grammars';
import type { GraphFramework, GraphSource, ModelExtraction } from './graph';

export interface ModelExtractionRequest {
  document: SourceDocument;
  /** The class (PyTorch), builder function or model variable (Keras, TF.js) to probe. */
  modelName: string;
  /** Batch first (`[N, 3, 32, 32]`, `[N, 32, 32, 3]`, `[N, T]` for tokens); overrides what the file says. */
  inputShape?: number[];
  options: Pick<AnalysisOptions, 'readWorkspaceFile' | 'budgetMs'>;
  log?: (line: string) => void;
}

/** A model the file defines, for CodeLenses and for the cursor → model lookup. */
export interface ModelCandidate {
  framework: GraphFramework;
  name: string;
  /** The `class` / `def` / `const` line. */
  source: GraphSource;
  /** 0-based last line of the definition: a cursor between source.line and endLine is inside it. */
  endLine: number;
  /** A top-level model (instantiated by the file's own code, or not used inside another model of the file): lenses go on these. */
  topLevel: boolean;
}

/** A front end's part: the models a file defines, and the graphs of one of them. */
export interface ModelGraphFrontEnd {
  readonly framework: GraphFramework;
  listModels(document: SourceDocument, grammars: Grammars): ModelCandidate[];
  extract(request: ModelExtractionRequest, grammars: Grammars): ModelExtraction | { error: string };
}
