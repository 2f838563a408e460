// "Probe This Model" for TensorFlow.js layers code in TypeScript and JavaScript: the models
// a file builds (`tf.model({inputs, outputs})` builders and variables, `tf.sequential`)
// and their graphs, from the layers interpreter run with a graph recorder.
import type { SourceDocument } from '../analysis';
import type { Grammars } from '../parse/grammars';
import { scriptProgram } from '../tfjs/scriptSyntax';
import type { ModelCandidate, ModelExtractionRequest, ModelGraphFrontEnd } from './extract';
import type { ModelExtraction } from './graph';
import { layersFrontEndExtract, layersFrontEndList } from './layers/frontEnd';

export const tfjsModelGraphs: ModelGraphFrontEnd = {
  framework: 'tfjs',
  listModels(document: SourceDocument, grammars: Grammars): ModelCandidate[] {
    return layersFrontEndList('tfjs', document, grammars, scriptProgram);
  },
  extract(request: ModelExtractionRequest, grammars: Grammars): ModelExtraction | { error: string } {
    return layersFrontEndExtract('tfjs', request, grammars, scriptProgram);
  },
};
