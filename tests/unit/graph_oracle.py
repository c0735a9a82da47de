#!/usr/bin/python3
"""graph_oracle.py — networkx answers for the differential test in graph_test.c.

Run as: /usr/bin/python3 graph_oracle.py IN OUT   (Debian's python3-networkx, 2.8.8)

IN holds graphs and queries, one per line:
  graph N                  a new graph with nodes 0..N-1 (a MultiDiGraph: parallel edges kept)
  e U V W                  edge U -> V of weight W (only the edges of the C side's view)
  set X1 X2 ...            the node set of the whole-set queries that follow
  q nb DIR A               distinct neighbours of A
  q khop DIR DEPTH INCL K S1..SK   k-hop from the start set with distances
  q sp DIR A B             hop distance and the lexicographically smallest shortest path
  q dij DIR A B            Dijkstra cost (parallel edges: the cheapest)
  q paths DIR A B MAXLEN   all simple paths of <= MAXLEN hops, sorted
  q scc | q cycles | q topo   on the subgraph induced by the set
  q deg DIR NTOP           degree statistics over the set
DIR is 1 (out), 2 (in: the reversed graph) or 3 (both: the undirected graph).
OUT gets one answer per query, whitespace-separated tokens, counts first (see each
function). Exit status 3 if networkx is missing, so that the C test can say so.
"""
import statistics
import sys

try:
    import networkx as nx
except ImportError:
    sys.stderr.write("graph_oracle: networkx is missing (apt-get install python3-networkx)\n")
    sys.exit(3)


class Graph:
    def __init__(self, n):
        self.g = nx.MultiDiGraph()
        self.g.add_nodes_from(range(n))
        self.nodes = []
        self._views = {}

    def view(self, d):
        """The graph walked in direction d (distances, Dijkstra)."""
        if d not in self._views:
            if d == 1:
                self._views[d] = self.g
            elif d == 2:
                self._views[d] = self.g.reverse(copy=False)
            else:
                # Not g.to_undirected(): it merges u->v and v->u edges that share a key
                # into one edge with one of the weights; both must stay, as parallel edges.
                ug = nx.MultiGraph()
                ug.add_nodes_from(self.g)
                ug.add_edges_from(self.g.edges(data=True))
                self._views[d] = ug
        return self._views[d]

    def back(self, d):
        """The graph walked against direction d."""
        return self.view({1: 2, 2: 1, 3: 3}[d])

    def simple(self, d):
        """Direction d without parallel edges (for path enumeration)."""
        key = ("simple", d)
        if key not in self._views:
            dg = nx.DiGraph(self.g)
            self._views[key] = dg if d == 1 else dg.reverse() if d == 2 else nx.Graph(dg)
        return self._views[key]


def succ(h, x):
    return h.neighbors(x) if not h.is_directed() else h.successors(x)


def pred(h, x):
    return h.neighbors(x) if not h.is_directed() else h.predecessors(x)


def q_nb(g, d, a):
    nb = sorted(set(succ(g.view(d), a)))
    return [len(nb)] + nb


def q_khop(g, d, depth, incl, starts):
    h = g.view(d)
    best = {}
    for s in starts:
        for x, k in nx.single_source_shortest_path_length(h, s, cutoff=depth).items():
            if k < best.get(x, depth + 1):
                best[x] = k
    if incl:
        res = best
    else:
        sset = set(starts)
        res = {x: k for x, k in best.items() if x not in sset}
        for s in sset:  # a start node counts only when a walk of >= 1 hop comes back
            back = [best[p] + 1 for p in pred(h, s) if p in best]
            if back and min(back) <= depth:
                res[s] = min(back)
    out = [len(res)]
    for x in sorted(res):
        out += [x, res[x]]
    return out


def q_sp(g, d, a, b):
    h = g.view(d)
    try:
        length = nx.shortest_path_length(h, a, b)
    except nx.NetworkXNoPath:
        return [-1]
    to_b = nx.single_source_shortest_path_length(g.back(d), b)
    path = [a]
    while path[-1] != b:
        here = to_b[path[-1]]
        path.append(min(w for w in succ(h, path[-1]) if to_b.get(w) == here - 1))
    assert len(path) == length + 1
    return [length] + path


def q_dij(g, d, a, b):
    try:
        return [repr(float(nx.dijkstra_path_length(g.view(d), a, b, weight="weight")))]
    except nx.NetworkXNoPath:
        return ["none"]


def q_paths(g, d, a, b, maxlen):
    paths = sorted(nx.all_simple_paths(g.simple(d), a, b, cutoff=maxlen))
    out = [len(paths)]
    for p in paths:
        out += [len(p)] + p
    return out


def q_scc(g):
    sg = g.g.subgraph(g.nodes)
    comps = sorted(sorted(c) for c in nx.strongly_connected_components(sg))
    out = [len(comps)]
    for c in comps:
        out += [len(c)] + c
    return out


def q_cycles(g):
    sg = g.g.subgraph(g.nodes)
    comps = sorted(sorted(c) for c in nx.strongly_connected_components(sg))
    cycles = []
    for c in comps:
        s = c[0]
        if len(c) == 1 and not sg.has_edge(s, s):
            continue
        sub = sg.subgraph(c)
        to_s = nx.single_source_shortest_path_length(sub.reverse(copy=False), s)
        first = min(to_s[w] for w in sub.successors(s))  # self-loop: to_s[s] == 0
        cyc, here = [s], first
        while here > 0:
            cyc.append(min(w for w in sub.successors(cyc[-1]) if to_s[w] == here))
            here -= 1
        cycles.append(cyc)
    out = [len(cycles)]
    for cyc in cycles:
        out += [len(cyc)] + cyc
    return out


def q_topo(g):
    sg = g.g.subgraph(g.nodes)
    if not nx.is_directed_acyclic_graph(sg):
        return ["cycle"]
    order = list(nx.lexicographical_topological_sort(sg))
    return [len(order)] + order


def q_deg(g, d, ntop):
    deg = {1: g.g.out_degree, 2: g.g.in_degree, 3: g.g.degree}[d]
    ds = {x: deg(x) for x in g.nodes}
    if not ds:
        return [0, 0, 0, 0, repr(0.0), repr(0.0), 0]
    vals = list(ds.values())
    top = sorted(ds, key=lambda x: (-ds[x], x))[:ntop]
    out = [len(vals), sum(vals), min(vals), max(vals), repr(sum(vals) / len(vals)),
           repr(float(statistics.median(vals))), len(top)]
    for x in top:
        out += [x, ds[x]]
    return out


def answer(g, t):
    op, a = t[0], [int(x) for x in t[1:]]
    if op == "nb":
        return q_nb(g, a[0], a[1])
    if op == "khop":
        return q_khop(g, a[0], a[1], a[2], a[4:4 + a[3]])
    if op == "sp":
        return q_sp(g, a[0], a[1], a[2])
    if op == "dij":
        return q_dij(g, a[0], a[1], a[2])
    if op == "paths":
        return q_paths(g, a[0], a[1], a[2], a[3])
    if op == "scc":
        return q_scc(g)
    if op == "cycles":
        return q_cycles(g)
    if op == "topo":
        return q_topo(g)
    if op == "deg":
        return q_deg(g, a[0], a[1])
    raise ValueError("unknown query %r" % op)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: graph_oracle.py IN OUT\n")
        return 2
    g = None
    with open(argv[1]) as f, open(argv[2], "w") as out:
        for line in f:
            t = line.split()
            if not t:
                continue
            if t[0] == "graph":
                g = Graph(int(t[1]))
            elif t[0] == "e":
                g.g.add_edge(int(t[1]), int(t[2]), weight=float(t[3]))
            elif t[0] == "set":
                g.nodes = [int(x) for x in t[1:]]
            elif t[0] == "q":
                out.write(" ".join(str(x) for x in answer(g, t[1:])) + "\n")
            else:
                raise ValueError("bad line %r" % line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
