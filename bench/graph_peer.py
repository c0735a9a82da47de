#!/usr/bin/python3
"""graph_peer.py - networkx as a graph peer of stele_bench benchmark 8.

Run with /usr/bin/python3 (Debian's python3-networkx, 2.8.8). It speaks the peer protocol
of bench/bench_graph_peer.c: one command per line on stdin, one JSON line per answer on
stdout.

  load DIR      read DIR/edges.tsv ("from<TAB>to<TAB>LABEL", node numbers) into a
                DiGraph G of every edge (attribute "label") and a DiGraph C of the CALLS
                edges only; read the start nodes from DIR/starts.txt
                -> {"load_s","open_ms":0,"rss_load_mb","rss_open_mb","disk_mb":0,"note"}
  n1 in|out     list(C.predecessors(s)) / list(C.successors(s)) per start, timed
                -> {"p50_us","p99_us","sum_us","counts":[...]}
  hop K         single_source_shortest_path_length(R, s, cutoff=K) on R = C.reverse(copy=False)
                (callers, transitively: the blast radius), start included -> the same
  mem           -> {"rss_mb"}: VmRSS now minus VmRSS before the load
  scc           strongly_connected_components(G), counted, largest kept -> {"s","ncomp","largest"}
  update R N    {"skip":true}: networkx keeps nothing durable
  quit          {} and exit

rss_load_mb is the growth of VmRSS (/proc/self/status) while loading G; rss_open_mb the
growth for G and C together. Node numbers are interned (one int object per node) and so
are the labels, as a careful user would. Standalone:
  /usr/bin/python3 bench/graph_peer.py --batch DIR  (load, 3 runs of everything, one JSON line)
"""
import json
import sys
import time

import networkx as nx

LABELS = {}


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def pct(sorted_v, p):
    """Nearest-rank percentile of a sorted list (as bench_percentile in C)."""
    n = len(sorted_v)
    rank = int(p / 100.0 * n + 0.999999)
    rank = min(max(rank, 1), n)
    return sorted_v[rank - 1]


class Peer:
    def __init__(self):
        self.G = None
        self.C = None
        self.R = None
        self.starts = []
        self.rss0 = 0.0

    def load(self, d):
        rss0 = self.rss0 = rss_mb()
        t0 = time.perf_counter()
        G = nx.DiGraph()
        calls = []
        ids = []  # interned node numbers
        with open(d + "/edges.tsv") as f:
            for line in f:
                a, b, lab = line.rstrip("\n").split("\t")
                a, b = int(a), int(b)
                while len(ids) <= max(a, b):
                    ids.extend(range(len(ids), max(a, b) + 1024))
                u, v = ids[a], ids[b]
                lab = LABELS.setdefault(lab, lab)
                G.add_edge(u, v, label=lab)
                if lab == "CALLS":
                    calls.append((u, v))
        load_s = time.perf_counter() - t0
        rss_g = rss_mb() - rss0
        C = nx.DiGraph()
        C.add_edges_from(calls)
        del calls
        self.G, self.C, self.R = G, C, C.reverse(copy=False)
        with open(d + "/starts.txt") as f:
            self.starts = [ids[int(x)] for x in f.read().split()]
        for s in self.starts:
            if s not in C:  # a function without calls in or out: no node in C
                C.add_node(s)
        return {"load_s": load_s, "open_ms": 0.0, "rss_load_mb": rss_g,
                "rss_open_mb": rss_mb() - rss0, "disk_mb": 0.0,
                "note": "G: %d nodes, %d edges; C (CALLS): %d nodes, %d edges" %
                (G.number_of_nodes(), G.number_of_edges(), C.number_of_nodes(),
                 C.number_of_edges())}

    def _timed(self, fn):
        lat, counts = [], []
        clock = time.perf_counter_ns
        for s in self.starts:
            t0 = clock()
            n = fn(s)
            lat.append((clock() - t0) / 1e3)
            counts.append(n)
        lat.sort()
        return {"p50_us": pct(lat, 50), "p99_us": pct(lat, 99), "sum_us": sum(lat),
                "counts": counts}

    def n1(self, direction):
        C = self.C
        if direction == "in":
            return self._timed(lambda s: len(list(C.predecessors(s))))
        return self._timed(lambda s: len(list(C.successors(s))))

    def hop(self, k):
        R = self.R
        sp = nx.single_source_shortest_path_length
        return self._timed(lambda s: len(sp(R, s, cutoff=k)))

    def scc(self):
        t0 = time.perf_counter()
        ncomp = largest = 0
        for c in nx.strongly_connected_components(self.G):
            ncomp += 1
            if len(c) > largest:
                largest = len(c)
        return {"s": time.perf_counter() - t0, "ncomp": ncomp, "largest": largest}

    def command(self, line):
        w = line.split()
        if not w:
            raise ValueError("empty command")
        if w[0] == "load":
            return self.load(w[1])
        if w[0] == "n1":
            return self.n1(w[1])
        if w[0] == "hop":
            return self.hop(int(w[1]))
        if w[0] == "scc":
            return self.scc()
        if w[0] == "mem":
            return {"rss_mb": rss_mb() - self.rss0}
        if w[0] == "update":
            return {"skip": True}
        raise ValueError("unknown command %r" % line)


def serve():
    peer = Peer()
    for line in sys.stdin:
        line = line.strip()
        if line == "quit":
            print("{}", flush=True)
            return 0
        try:
            ans = peer.command(line)
        except Exception as e:  # the harness prints it and fails the run
            ans = {"error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(ans, separators=(",", ":")), flush=True)
        if "error" in ans:
            return 1
    return 0


def batch(d):
    peer = Peer()
    out = {"load": peer.load(d)}
    for cmd in ("n1 in", "n1 out", "hop 3", "hop 5", "scc"):
        runs = [peer.command(cmd) for _ in range(3)]
        for r in runs:
            r.pop("counts", None)
        out[cmd] = runs
    print(json.dumps(out, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--batch":
        sys.exit(batch(sys.argv[2]))
    sys.exit(serve())
