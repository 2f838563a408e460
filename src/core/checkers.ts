import { registerChecker, type ModelChecker } from './analysis';
import { pytorchChecker } from './pytorch/checker';

/** Every front end that ships with the extension, in the order they run. */
const builtinCheckers: ModelChecker[] = [pytorchChecker];

export function registerBuiltinCheckers(): void {
  for (const checker of builtinCheckers) registerChecker(checker);
}
