// How the two layers APIs are spelled: import paths reduced to one canonical name
// per library object (`tensorflow.keras.layers.Conv2D` → `keras.layers.Conv2D`,
// `@tensorflow/tfjs-node` → `tf`), and TF.js's camelCase options to Keras's names.

export type Language = 'python' | 'script';

const tfjsModules = new Set(['@tensorflow/tfjs', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-core']);

/** The canonical path of an imported module or name, or undefined for other libraries. */
export function importPath(path: string, language: Language): string | undefined {
  if (language === 'script') {
    const [module, name] = path.split('#');
    if (!module || !tfjsModules.has(module)) return undefined;
    return name ? `tf.${name}` : 'tf';
  }
  return canonicalPythonPath(path);
}

// Every attribute read of a library object asks; a file names few distinct paths. Bounded,
// since a long session sees many files.
const canonicalPaths = new Map<string, string>();
const snakeCases = new Map<string, string>();
const maxRemembered = 4096;

function remembered(cache: Map<string, string>, key: string, compute: (key: string) => string): string {
  let value = cache.get(key);
  if (value === undefined) {
    if (cache.size >= maxRemembered) cache.clear();
    value = compute(key);
    cache.set(key, value);
  }
  return value;
}

export function canonicalPythonPath(path: string): string {
  return remembered(canonicalPaths, path, computeCanonicalPythonPath);
}

function computeCanonicalPythonPath(path: string): string {
  let p = path.replace(/^tensorflow\b/, 'tf');
  p = p.replace(/^tf\.compat\.v\d\.keras\b/, 'keras').replace(/^tf\.python\.keras\b/, 'keras').replace(/^tf\.keras\b/, 'keras').replace(/^tf_keras\b/, 'keras');
  p = p.replace(/^keras\.(?:src|api|_tf_keras\.keras)\./, 'keras.');
  // keras.layers.convolutional.Conv2D and friends: the submodule does not matter.
  p = p.replace(/^keras\.layers\.(?:[a-z_0-9]+\.)+([A-Za-z]\w*)$/, 'keras.layers.$1');
  p = p.replace(/^keras\.(?:models|engine(?:\.\w+)?)\.(Model|Sequential)$/, 'keras.$1');
  p = p.replace(/^keras\.layers\.(Input)$/, 'keras.$1');
  return p;
}

export function canonicalAttribute(path: string, name: string, language: Language): string {
  const joined = `${path}.${name}`;
  return language === 'python' ? canonicalPythonPath(joined) : joined;
}

/** `kernelSize` → `kernel_size`. */
export function snakeCase(name: string): string {
  return remembered(snakeCases, name, computeSnakeCase);
}

function computeSnakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
