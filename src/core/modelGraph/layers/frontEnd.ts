// What the Keras and TF.js front ends share: parse, convert to the layers program, list or
// extract; a failure anywhere is a message, never an exception out of the front end.
import type { SourceDocument } from '../../analysis';
import type { Program } from '../../keras/syntax';
import type { Grammars } from '../../parse/grammars';
import { type SyntaxNode, toSyntaxTree } from '../../parse/syntaxTree';
import type { ModelCandidate, ModelExtractionRequest } from '../extract';
import type { GraphFramework, ModelExtraction } from '../graph';
import { layersModelCandidates } from './candidates';
import { extractLayersModel } from './extractLayers';

type LayersFramework = Exclude<GraphFramework, 'pytorch'>;
type ToProgram = (root: SyntaxNode, text: string) => Program;

function withProgram<T>(document: SourceDocument, grammars: Grammars, toProgram: ToProgram, run: (program: Program) => T): T {
  const tree = grammars.parse(document.grammar, document.text);
  try {
    return run(toProgram(toSyntaxTree(tree, document.text, document.grammar), document.text));
  } finally {
    tree.delete();
  }
}

/** Like the shape checkers: a file that never says keras (or tf) builds no model of that API. */
function mentionsFramework(framework: LayersFramework, text: string): boolean {
  return framework === 'keras' ? /keras/.test(text) : /tfjs|\btf\./.test(text);
}

export function layersFrontEndList(framework: LayersFramework, document: SourceDocument, grammars: Grammars, toProgram: ToProgram): ModelCandidate[] {
  if (!mentionsFramework(framework, document.text)) return [];
  try {
    return withProgram(document, grammars, toProgram, (program) => layersModelCandidates(program, framework, document.uri).map(({ kind: _kind, ...candidate }) => candidate));
  } catch {
    return [];
  }
}

export function layersFrontEndExtract(framework: LayersFramework, request: ModelExtractionRequest, grammars: Grammars, toProgram: ToProgram): ModelExtraction | { error: string } {
  if (!mentionsFramework(framework, request.document.text)) return { error: `${request.modelName} is not a model this file builds (it does not use ${framework === 'keras' ? 'Keras' : 'TensorFlow.js'})` };
  try {
    return withProgram(request.document, grammars, toProgram, (program) => extractLayersModel(framework, program, request));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    request.log?.(`${request.document.uri}: ${framework} model graph failed: ${err instanceof Error && err.stack ? err.stack : message}`);
    return { error: `${request.modelName}: the analyser failed on this file (${message})` };
  }
}
