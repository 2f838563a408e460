// "Probe This Model" for Keras functional code in Python: the models a file builds
// (`keras.Model(inputs, outputs)` builders and variables, Sequential models) and their
// graphs, from the Keras shape checker's interpreter run with a graph recorder.
import type { SourceDocument } from '../analysis';
import { pythonProgram } from '../keras/pythonSyntax';
import type { Grammars } from '../parse/grammars';
import type { ModelCandidate, ModelExtractionRequest, ModelGraphFrontEnd } from './extract';
import type { ModelExtraction } from './graph';
import { layersFrontEndExtract, layersFrontEndList } from './layers/frontEnd';

export const kerasModelGraphs: ModelGraphFrontEnd = {
  framework: 'keras',
  listModels(document: SourceDocument, grammars: Grammars): ModelCandidate[] {
    return layersFrontEndList('keras', document, grammars, pythonProgram);
  },
  extract(request: ModelExtractionRequest, grammars: Grammars): ModelExtraction | { error: string } {
    return layersFrontEndExtract('keras', request, grammars, pythonProgram);
  },
};
