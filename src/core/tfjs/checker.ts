// The TF.js front end: TypeScript and JavaScript files that build models with `tf.layers`.
import { type CheckContext, type CheckerOutput, type ModelChecker, syntaxOf } from '../analysis';
import type { Finding } from '../diagnostic';
import { layersAnnotations } from '../keras/annotations';
import { interpretProgram } from '../keras/interpreter';
import { decideResidualSites } from '../keras/residualSites';
import { tfjsProjectionFixes } from './projectionFix';
import { scriptProgram } from './scriptSyntax';

export const tfjsChecker: ModelChecker = {
  name: 'tfjs-residual-shapes',
  framework: 'tfjs',
  check(context: CheckContext): CheckerOutput {
    try {
      const program = scriptProgram(syntaxOf(context), context.document.text);
      const result = interpretProgram(program, context.deadline, context.log);
      const findings: Finding[] = decideResidualSites(result, 'tfjs', 'script', tfjsProjectionFixes(program, context.document.grammar !== 'javascript'));
      return { findings, annotations: layersAnnotations(result, 'tfjs', context.document.text) };
    } catch (err) {
      context.log(`${context.document.uri}: TF.js checker gave up: ${err instanceof Error ? err.message : String(err)}`);
      return { findings: [] };
    }
  },
};
