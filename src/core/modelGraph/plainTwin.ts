// The plain twin of a model: the same network with every skip addition removed. Each
// residual `add` is replaced by its residual-branch operand (F(x) of y = F(x) + x), and
// whatever then feeds nothing (projection shortcuts, option A's pad and slice) is
// pruned. Comparing a model with its twin shows what the skips do for gradient flow,
// the ResNet paper's plain-versus-residual experiment on the user's own architecture.
import type { GraphNode, ModelGraph } from './graph';

export interface PlainTwin {
  graph: ModelGraph;
  /** Names of the residual additions removed. */
  removedAdds: string[];
  /** Residual additions left in place because the analysis could not tell which operand is the skip. */
  undecidedAdds: string[];
  /** Names of the nodes that only fed a skip (projection convs, their norms, pads). */
  prunedNodes: string[];
}

export function plainTwin(graph: ModelGraph): PlainTwin {
  const removedAdds: string[] = [];
  const undecidedAdds: string[] = [];
  // What each node's value is in the twin: itself, or the branch operand of a removed add.
  const replacement = graph.nodes.map((node) => node.id);
  for (const node of graph.nodes) {
    const op = node.op;
    if (op.op !== 'add' || !op.residual) continue;
    if (op.skipInput === undefined || node.inputs.length !== 2) {
      undecidedAdds.push(node.name);
      continue;
    }
    const branch = node.inputs[1 - op.skipInput]!;
    replacement[node.id] = replacement[branch]!;
    removedAdds.push(node.name);
  }
  const resolve = (id: number): number => replacement[id]!;

  // Keep what the output (and every input, so that the model's signature stays) reaches.
  const live = new Set<number>();
  const stack = [resolve(graph.output)];
  while (stack.length) {
    const id = stack.pop()!;
    if (live.has(id)) continue;
    live.add(id);
    for (const input of graph.nodes[id]!.inputs) stack.push(resolve(input));
  }
  for (const input of graph.inputs) live.add(input.node);

  const newId = new Map<number, number>();
  const nodes: GraphNode[] = [];
  const prunedNodes: string[] = [];
  // A kept repeat of a layer whose first call was pruned becomes the owner of the weights.
  const weightOwner = new Map<number, number>();
  for (const node of graph.nodes) {
    if (!live.has(node.id)) {
      if (replacement[node.id] === node.id) prunedNodes.push(node.name);
      continue;
    }
    const id = nodes.length;
    newId.set(node.id, id);
    const copy: GraphNode = { ...node, id, inputs: node.inputs.map((input) => newId.get(resolve(input))!) };
    delete copy.sharesWeightsWith;
    if (node.sharesWeightsWith !== undefined) {
      const owner = newId.get(node.sharesWeightsWith) ?? weightOwner.get(node.sharesWeightsWith);
      if (owner === undefined) weightOwner.set(node.sharesWeightsWith, id);
      else copy.sharesWeightsWith = owner;
    }
    nodes.push(copy);
  }
  return {
    graph: {
      ...graph,
      inputs: graph.inputs.map((input) => ({ ...input, node: newId.get(input.node)! })),
      output: newId.get(resolve(graph.output))!,
      nodes,
    },
    removedAdds,
    undecidedAdds,
    prunedNodes,
  };
}
