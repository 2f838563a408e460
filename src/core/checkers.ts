import { registerChecker, type ModelChecker } from './analysis';

/** Every front end that ships with the extension, in the order they run. */
const builtinCheckers: ModelChecker[] = [];

export function registerBuiltinCheckers(): void {
  for (const checker of builtinCheckers) registerChecker(checker);
}
