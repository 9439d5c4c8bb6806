// Cycle detection for order and mandatory colocation constraints. A cycle is reported once, as
// the path of resources that closes it (`a → b → c → a`) and the options that made its edges.

export interface Edge {
  from: string;
  to: string;
  /** the option that declared this edge, e.g. "resources.web.order[0]" or "groups.g.members" */
  source: string;
}

export interface Cycle {
  /** resources in order, the first repeated at the end */
  nodes: string[];
  /** the sources of the cycle's edges, in the same order */
  sources: string[];
}

/** Every elementary cycle found by a depth-first search (one per back edge), deterministic order. */
export function findCycles(edges: readonly Edge[]): Cycle[] {
  const out = new Map<string, Edge[]>();
  for (const e of edges) {
    const list = out.get(e.from) ?? [];
    list.push(e);
    out.set(e.from, list);
  }
  const state = new Map<string, 'open' | 'done'>();
  const stack: Edge[] = [];
  const stackNodes: string[] = [];
  const cycles: Cycle[] = [];
  const seen = new Set<string>();

  const visit = (node: string): void => {
    state.set(node, 'open');
    stackNodes.push(node);
    for (const edge of out.get(node) ?? []) {
      const s = state.get(edge.to);
      if (s === 'open') {
        const start = stackNodes.indexOf(edge.to);
        const cycleEdges = [...stack.slice(start), edge];
        const nodes = [...stackNodes.slice(start), edge.to];
        const key = [...new Set(nodes)].sort().join('\u0000');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push({ nodes, sources: cycleEdges.map((e) => e.source) });
        }
      } else if (s === undefined) {
        stack.push(edge);
        visit(edge.to);
        stack.pop();
      }
    }
    stackNodes.pop();
    state.set(node, 'done');
  };

  for (const node of [...out.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}
