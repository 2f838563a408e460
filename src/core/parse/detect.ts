import type { SourceDocument } from '../analysis';

export type Framework = 'pytorch' | 'keras' | 'tfjs';

// Cheap text tests, so that the ordinary files of a workspace are skipped before any
// parse. They err towards "maybe": the front ends decide for real.
const pytorchPattern = /\b(?:import\s+torch|from\s+torch\b|nn\.Module\b|from\s+\.\w*\s+import\b[^\n]*\b\w*(?:Block|Bottleneck|Net|Layer)\b)/;
const kerasPattern = /\b(?:import\s+keras|from\s+keras\b|from\s+tensorflow(?:\.\w+)*\s+import\s+\w*|import\s+tensorflow\b|tf\.keras\b)/;
const tfjsPattern = /@tensorflow\/tfjs|\btf\.layers\.|\btf\.input\s*\(/;

export function detectFrameworks(document: SourceDocument): Framework[] {
  const { text } = document;
  if (document.grammar === 'python') {
    const found: Framework[] = [];
    if (pytorchPattern.test(text)) found.push('pytorch');
    if (kerasPattern.test(text)) found.push('keras');
    return found;
  }
  if (document.grammar === 'tsx' && !/\btf\.layers\./.test(text)) return [];
  return tfjsPattern.test(text) ? ['tfjs'] : [];
}
