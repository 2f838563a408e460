// The Keras front end: Python files that build models with `keras.layers`.
import { type CheckContext, type CheckerOutput, type ModelChecker, syntaxOf } from '../analysis';
import type { Finding } from '../diagnostic';
import { layersAnnotations } from './annotations';
import { interpretProgram } from './interpreter';
import { kerasProjectionFixes } from './projectionFix';
import { pythonProgram } from './pythonSyntax';
import { decideResidualSites } from './residualSites';

export const kerasChecker: ModelChecker = {
  name: 'keras-residual-shapes',
  framework: 'keras',
  check(context: CheckContext): CheckerOutput {
    // Detection is deliberately loose; a file that never says "keras" builds no Keras model.
    if (!/keras/.test(context.document.text)) return { findings: [] };
    try {
      const program = pythonProgram(syntaxOf(context), context.document.text);
      const result = interpretProgram(program, context.deadline, context.log);
      const findings: Finding[] = decideResidualSites(result, 'keras', 'python', kerasProjectionFixes(program));
      return { findings, annotations: layersAnnotations(result, 'keras', context.document.text) };
    } catch (err) {
      context.log(`${context.document.uri}: Keras checker gave up: ${err instanceof Error ? err.message : String(err)}`);
      return { findings: [] };
    }
  },
};
