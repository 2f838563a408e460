// Shape annotations for hovers and inlay hints from the Keras/TF.js interpreter's notes:
// what the file's own code reaches first, the symbolic helper runs where nothing else did.
import type { ShapeAnnotation } from '../diagnostic';
import type { InterpretResult, ShapeNote } from './interpreter';
import { formatLayersShape, type LayersFramework } from './residualSites';

const maxShapesShown = 3;

export function layersAnnotations(result: InterpretResult, framework: LayersFramework, text: string): ShapeAnnotation[] {
  const byKey = new Map<string, { note: ShapeNote; concrete: string[]; symbolic: string[] }>();
  for (const note of result.notes) {
    const key = `${note.kind}:${note.span.start}:${note.span.end}`;
    let entry = byKey.get(key);
    if (!entry) byKey.set(key, (entry = { note, concrete: [], symbolic: [] }));
    const list = note.concrete ? entry.concrete : entry.symbolic;
    if (list.length > maxShapesShown) continue;
    const shape = formatLayersShape(note.shape, framework);
    if (!list.includes(shape)) list.push(shape);
  }
  const annotations: ShapeAnnotation[] = [];
  const lastOnLine = new Map<number, ShapeAnnotation>();
  for (const { note, concrete, symbolic } of [...byKey.values()].sort((a, b) => a.note.span.start - b.note.span.start)) {
    const shapes = concrete.length ? concrete : symbolic;
    const shape = shapes.length > maxShapesShown ? `${shapes.slice(0, maxShapesShown).join(' | ')} | …` : shapes.join(' | ');
    const name = note.kind === 'layer' ? note.name.split('.').pop() ?? note.name : note.name;
    const annotation: ShapeAnnotation = { range: note.span.range, name, shape, kind: note.kind };
    annotations.push(annotation);
    // The hint goes after the whole statement: the end of its last line.
    if (note.kind === 'variable') lastOnLine.set(note.statementEndLine, annotation);
  }
  const lines = text.split('\n');
  for (const [line, a] of lastOnLine) {
    const end = { line, character: (lines[line] ?? '').replace(/\s+$/, '').length };
    annotations.push({ range: { start: end, end }, name: a.name, shape: a.shape, kind: 'line-end' });
  }
  return annotations;
}
