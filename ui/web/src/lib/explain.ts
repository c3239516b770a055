// explain.ts — EXPLAIN (FORMAT JSON) as a tree the plan view shows: each
// node with its relation and index, estimated and actual rows (per loop,
// as PostgreSQL reports them) and the misestimate factor between them,
// inclusive time (actual total time × loops) and exclusive time (minus its
// children's), loops and buffers; the costliest nodes are marked. Without
// ANALYZE the costs stand in for the times. textPlan() writes the tree the
// way EXPLAIN's text format does, for the "Text" view.

export interface PlanNode {
  id: number;
  depth: number;
  type: string; // "Hash Join", "Seq Scan", …
  relation: string | null; // "public.orders o"
  index: string | null;
  detail: string | null; // join type, strategy, parent relationship
  conds: string[]; // "Hash Cond: (…)", "Filter: (…)", "Rows Removed by Filter: 12"
  startupCost: number;
  totalCost: number;
  planRows: number;
  width: number;
  actualRows: number | null; // per loop
  actualStartup: number | null;
  actualTotal: number | null; // ms per loop
  loops: number | null;
  inclusive: number; // ms (or cost, without ANALYZE)
  exclusive: number;
  share: number; // exclusive / the whole plan's, 0..1
  misestimate: number | null; // ≥ 1: how far the estimate was off
  under: boolean; // more rows than estimated
  buffers: Record<string, number>; // "shared hit": 12, …
  hot: boolean; // one of the costliest
  children: PlanNode[];
  raw: Record<string, unknown>;
}

export interface Plan {
  analyze: boolean;
  root: PlanNode;
  nodes: PlanNode[]; // depth-first, as the tree lists them
  planningMs: number | null;
  executionMs: number | null;
  total: number; // the root's inclusive time (or cost)
  json: string; // as the server sent it, indented
}

const CONDS = ['Hash Cond', 'Merge Cond', 'Join Filter', 'Index Cond', 'Recheck Cond', 'Filter', 'One-Time Filter',
  'Sort Key', 'Group Key', 'Sort Method', 'Cache Key', 'Subplan Name', 'CTE Name', 'Function Name', 'Output'];
const REMOVED = ['Rows Removed by Filter', 'Rows Removed by Join Filter', 'Rows Removed by Index Recheck', 'Heap Fetches'];
const BUFFERS: [string, string][] = [
  ['Shared Hit Blocks', 'shared hit'], ['Shared Read Blocks', 'shared read'], ['Shared Dirtied Blocks', 'shared dirtied'],
  ['Shared Written Blocks', 'shared written'], ['Local Hit Blocks', 'local hit'], ['Local Read Blocks', 'local read'],
  ['Temp Read Blocks', 'temp read'], ['Temp Written Blocks', 'temp written'],
];

type Raw = Record<string, unknown>;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Parse EXPLAIN (FORMAT JSON)'s text. Throws on anything else. */
export function parsePlan(text: string): Plan {
  const doc = JSON.parse(text) as unknown;
  const top = (Array.isArray(doc) ? doc[0] : doc) as Raw | undefined;
  const rootRaw = top?.['Plan'] as Raw | undefined;
  if (!top || !rootRaw || typeof rootRaw !== 'object') throw new Error('not an EXPLAIN (FORMAT JSON) plan');
  const analyze = num(rootRaw['Actual Total Time']) !== null || num(rootRaw['Actual Loops']) !== null;
  const nodes: PlanNode[] = [];
  const build = (r: Raw, depth: number): PlanNode => {
    const loops = num(r['Actual Loops']);
    const actualTotal = num(r['Actual Total Time']);
    const rel = str(r['Relation Name']);
    const schema = str(r['Schema']);
    const alias = str(r['Alias']);
    let relation = rel ? (schema ? schema + '.' : '') + rel : str(r['CTE Name']) ?? str(r['Function Name']);
    if (relation && alias && alias !== rel) relation += ' ' + alias;
    const conds: string[] = [];
    for (const k of CONDS) {
      const v = r[k];
      if (v === undefined || v === null || k === 'Output' || k === 'CTE Name' || k === 'Function Name') continue;
      conds.push(`${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`);
    }
    for (const k of REMOVED) if (num(r[k])) conds.push(`${k}: ${r[k]}`);
    const buffers: Record<string, number> = {};
    for (const [k, name] of BUFFERS) if (num(r[k])) buffers[name] = r[k] as number;
    const details = [str(r['Parent Relationship']) !== 'Outer' && str(r['Parent Relationship']) !== 'Inner' ? str(r['Parent Relationship']) : null,
      str(r['Join Type']), str(r['Strategy']), str(r['Scan Direction']) === 'Backward' ? 'Backward' : null,
      num(r['Workers Launched']) !== null ? `${r['Workers Launched']} workers` : null].filter(Boolean);
    // the names EXPLAIN's text format uses: "Delete", "HashAggregate", …
    let type = str(r['Node Type']) ?? '?';
    const op = str(r['Operation']), strat = str(r['Strategy']);
    if (type === 'ModifyTable' && op) type = op;
    else if (type === 'Aggregate' && strat === 'Hashed') type = 'HashAggregate';
    else if (type === 'Aggregate' && strat === 'Sorted') type = 'GroupAggregate';
    else if (type === 'Aggregate' && strat === 'Mixed') type = 'MixedAggregate';
    const n: PlanNode = {
      id: nodes.length, depth, type, relation: relation ?? null, index: str(r['Index Name']),
      detail: details.length ? details.join(', ') : null, conds,
      startupCost: num(r['Startup Cost']) ?? 0, totalCost: num(r['Total Cost']) ?? 0,
      planRows: num(r['Plan Rows']) ?? 0, width: num(r['Plan Width']) ?? 0,
      actualRows: num(r['Actual Rows']), actualStartup: num(r['Actual Startup Time']), actualTotal, loops,
      inclusive: 0, exclusive: 0, share: 0, misestimate: null, under: false, buffers, hot: false, children: [], raw: r,
    };
    nodes.push(n);
    const kids = Array.isArray(r['Plans']) ? (r['Plans'] as Raw[]) : [];
    n.children = kids.map((k) => build(k, depth + 1));
    if (analyze) {
      // a node that never ran has no times
      n.inclusive = actualTotal !== null ? actualTotal * (loops ?? 1) : 0;
      if (n.actualRows !== null && loops) {
        const est = Math.max(1, n.planRows);
        const act = Math.max(1, n.actualRows);
        n.misestimate = Math.max(est / act, act / est);
        n.under = act > est;
      }
    } else {
      n.inclusive = n.totalCost;
    }
    const kidsTime = n.children.reduce((a, k) => a + k.inclusive, 0);
    n.exclusive = Math.max(0, n.inclusive - kidsTime);
    return n;
  };
  const root = build(rootRaw, 0);
  const total = Math.max(root.inclusive, 1e-9);
  for (const n of nodes) n.share = Math.min(1, n.exclusive / total);
  // the costliest: what takes a fifth or more, and the top three that take a twentieth
  const ranked = [...nodes].sort((a, b) => b.exclusive - a.exclusive);
  ranked.forEach((n, i) => (n.hot = n.share >= 0.2 || (i < 3 && n.share >= 0.05)));
  return {
    analyze, root, nodes, total: root.inclusive,
    planningMs: num(top['Planning Time']), executionMs: num(top['Execution Time']),
    json: JSON.stringify(doc, null, 2),
  };
}

const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);

/** The plan as EXPLAIN's text format writes it. */
export function textPlan(p: Plan): string {
  const lines: string[] = [];
  const walk = (n: PlanNode, indent: string, first: boolean) => {
    let head = n.type;
    if (n.index && n.relation) head += ` using ${n.index} on ${n.relation}`;
    else if (n.relation) head += ` on ${n.relation}`;
    head += `  (cost=${f2(n.startupCost)}..${f2(n.totalCost)} rows=${n.planRows} width=${n.width})`;
    if (p.analyze) {
      head += n.loops
        ? ` (actual time=${f3(n.actualStartup ?? 0)}..${f3(n.actualTotal ?? 0)} rows=${n.actualRows ?? 0} loops=${n.loops})`
        : ' (never executed)';
    }
    const pad = first ? '' : indent + '->  ';
    const sub = first ? '  ' : indent + '      ';
    lines.push(pad + head);
    for (const c of n.conds) lines.push(sub + c);
    const b = Object.entries(n.buffers);
    if (b.length) lines.push(sub + 'Buffers: ' + b.map(([k, v]) => `${k}=${v}`).join(' '));
    for (const k of n.children) walk(k, first ? '  ' : indent + '      ', false);
  };
  walk(p.root, '', true);
  if (p.planningMs !== null) lines.push(`Planning Time: ${f3(p.planningMs)} ms`);
  if (p.executionMs !== null) lines.push(`Execution Time: ${f3(p.executionMs)} ms`);
  return lines.join('\n');
}

/** "12.3 ms", "1.20 s"; costs as plain numbers. */
export function planAmount(p: Plan, x: number): string {
  if (!p.analyze) return x.toFixed(2);
  return x < 1000 ? `${x < 10 ? x.toFixed(3) : x.toFixed(1)} ms` : `${(x / 1000).toFixed(2)} s`;
}
