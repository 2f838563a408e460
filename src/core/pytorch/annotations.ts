// Shape annotations from the interpreter's notes: concrete instantiations first,
// the symbolic run of a class where nothing concrete reached it.
import type { ShapeAnnotation } from '../diagnostic';
import { rangeOf } from '../parse/python-ast';
import { describeLayer } from '../shapes/layers';
import { formatShape } from '../shapes/shape';
import type { ShapeNote } from './interpreter';
import type { PyTorchRunResult } from './checker';

const maxShapesShown = 3;

function noteText(note: ShapeNote): string {
  const shape = formatShape(note.shape);
  if (note.kind !== 'layer' || note.layer === undefined) return shape;
  return `${typeof note.layer === 'string' ? note.layer : describeLayer(note.layer)} → ${shape}`;
}

export function buildAnnotations(run: PyTorchRunResult): ShapeAnnotation[] {
  const byKey = new Map<number, { note: ShapeNote; concrete: string[]; symbolic: string[] }>();
  const add = (note: ShapeNote, kind: 'concrete' | 'symbolic'): void => {
    if (note.file.uri !== run.main.uri || note.file.source !== run.main.source) return;
    // A number, not a string: every layer call and assignment of every run leaves a note.
    const key = note.node.startIndex * 2 + (note.kind === 'layer' ? 1 : 0);
    let entry = byKey.get(key);
    if (!entry) byKey.set(key, (entry = { note, concrete: [], symbolic: [] }));
    const list = entry[kind];
    // One more than is shown is enough to know that there are more.
    if (list.length > maxShapesShown) return;
    const text = noteText(note);
    if (!list.includes(text)) list.push(text);
  };
  for (const n of run.concreteNotes) add(n, 'concrete');
  for (const n of run.symbolicNotes) add(n, 'symbolic');

  const annotations: ShapeAnnotation[] = [];
  const lastOnLine = new Map<number, ShapeAnnotation>();
  const lines = run.main.source.split('\n');
  for (const { note, concrete, symbolic } of [...byKey.values()].sort((a, b) => a.note.node.startIndex - b.note.node.startIndex)) {
    const shapes = concrete.length ? concrete : symbolic;
    const shape = shapes.length > maxShapesShown ? `${shapes.slice(0, maxShapesShown).join(' | ')} | …` : shapes.join(' | ');
    const annotation: ShapeAnnotation = { range: rangeOf(note.node), name: note.name, shape, kind: note.kind };
    annotations.push(annotation);
    if (note.kind === 'variable') lastOnLine.set(note.node.startRow, annotation);
  }
  for (const [line, a] of lastOnLine) {
    const end = { line, character: (lines[line] ?? '').replace(/\s+$/, '').length };
    annotations.push({ range: { start: end, end }, name: a.name, shape: a.shape, kind: 'line-end' });
  }
  return annotations;
}
