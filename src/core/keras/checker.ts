// The Keras front end: Python files that build models with `keras.layers`.
import type { CheckContext, ModelChecker } from '../analysis';
import type { Finding } from '../diagnostic';
import { interpretProgram } from './interpreter';
import { kerasProjectionFixes } from './projectionFix';
import { pythonProgram } from './pythonSyntax';
import { decideResidualSites } from './residualSites';

export const kerasChecker: ModelChecker = {
  name: 'keras-residual-shapes',
  framework: 'keras',
  check(context: CheckContext): Finding[] {
    // Detection is deliberately loose; a file that never says "keras" builds no Keras model.
    if (!/keras/.test(context.document.text)) return [];
    try {
      const program = pythonProgram(context.tree, context.document.text);
      const result = interpretProgram(program, context.deadline, context.log);
      return decideResidualSites(result, 'keras', 'python', kerasProjectionFixes(program));
    } catch (err) {
      context.log(`${context.document.uri}: Keras checker gave up: ${err instanceof Error ? err.message : String(err)}`);
      return [];
    }
  },
};
