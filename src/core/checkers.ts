import { registerChecker, type ModelChecker } from './analysis';
import { pytorchChecker } from './pytorch/checker';
import { kerasChecker } from './keras/checker';
import { tfjsChecker } from './tfjs/checker';

/** Every front end that ships with the extension, in the order they run. */
const builtinCheckers: ModelChecker[] = [pytorchChecker, kerasChecker, tfjsChecker];

export function registerBuiltinCheckers(): void {
  for (const checker of builtinCheckers) registerChecker(checker);
}
