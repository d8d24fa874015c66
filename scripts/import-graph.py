#!/usr/bin/env python3
"""import-graph.py [SRC] — the module import graph of obsgen, from the `crate::` and
`super::` paths each file under src/ uses (comments and `#[cfg(test)]` modules left out).

Prints: the number of files, import cycles (strongly connected components of more than one
file, with their members), imports against the pipeline (a module importing one of a later
stage; the stages are listed in STAGES below, the order data flows in), and the largest
files (lines without their test module). Used to record the figures of a restructure.
"""
import os, re, sys

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")

# Stage of each top-level module, in the order data flows (ARCHITECTURE.md).
STAGES = [
    ["model"],
    ["units", "quote", "dialect", "diag", "fsx", "gitignore", "signals", "assets", "parallel"],
    ["manifest", "settings"],
    ["layers"],
    ["load"],
    ["validate"],
    ["resolve"],
    ["rules", "grafana", "dashboards"],
    ["components", "stack", "exporters", "alertmanager"],
    ["assemble", "environments"],
    ["delivery", "ci", "aws"],
    ["plan"],
    ["render"],
    ["metrics", "verify"],
    ["lock"],
    ["project"],
    ["secrets", "explain", "validators"],
    ["detect", "init", "wizard"],
    ["cli", "lib", "main"],
]
STAGE = {m: i for i, ms in enumerate(STAGES) for m in ms}


def module_of(path):
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    return rel


def strip(text):
    text = re.split(r"\n#\[cfg\(test\)\]\n(?:pub(?:\(crate\))? )?mod \w+ \{", text)[0]
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def paths(text):
    """Every `crate::a::b` path, with `use crate::{a, b::{c, d}}` groups expanded."""
    out = []
    for m in re.finditer(r"\b(crate|super)((?:::\w+)*)::\{", text):
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        for part in re.split(r"[,{}\s]+", text[m.end():i - 1]):
            if part and part != "self":
                out.append((m.group(1), m.group(2).strip(":").split("::") + part.split("::")))
    for m in re.finditer(r"\b(crate|super)((?:::\w+)+)", text):
        out.append((m.group(1), m.group(2).strip(":").split("::")))
    return out


def main():
    files = {}
    for root, _, names in os.walk(SRC):
        for n in names:
            if n.endswith(".rs"):
                p = os.path.join(root, n)
                files[tuple(module_of(p))] = open(p, encoding="utf-8").read()
    mods = set(files)
    # `pub use child::{a, b}` in a folder module: `crate::folder::a` is defined in the child.
    reexports = {}
    for m, text in files.items():
        for child, names in re.findall(r"pub use (\w+)::\{?([^;]*?)\}?;", strip(text)):
            if m + (child,) in mods:
                for n in re.split(r"[,\s]+", names):
                    n = n.split(" as ")[-1].strip()
                    if n:
                        reexports[(m, n)] = m + (child,)
    edges = {m: set() for m in mods}
    for m, text in files.items():
        body = strip(text)
        for kind, parts in paths(body):
            parts = [p for p in parts if p]
            full = (list(m[:-1]) if kind == "super" else []) + parts
            target = None
            for k in range(len(full), 0, -1):
                if tuple(full[:k]) in mods:
                    target = tuple(full[:k])
                    if k < len(full):
                        target = reexports.get((target, full[k]), target)
                    break
            # A folder module and its own files are one unit: no edge between them.
            if target and target[: len(m)] != m and m[: len(target)] != target:
                edges[m].add(target)
    # strongly connected components (Tarjan)
    index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            sccs.append(comp)

    for v in sorted(mods):
        if v not in index:
            visit(v)
    cycles = [sorted("::".join(c) for c in comp) for comp in sccs if len(comp) > 1]
    name = lambda m: "::".join(m)
    against = []
    for a in sorted(edges):
        for b in sorted(edges[a]):
            sa, sb = STAGE.get(a[0]), STAGE.get(b[0])
            if sa is not None and sb is not None and sb > sa:
                against.append(f"{name(a)} -> {name(b)}")
    sizes = sorted(
        ((len(strip_tests(t).splitlines()), "/".join(k) or "lib") for k, t in files.items()),
        reverse=True,
    )
    print(f"files: {len(files)}")
    print(f"import cycles: {len(cycles)}")
    for c in cycles:
        print(f"  {len(c)} files: {', '.join(c)}")
    print(f"imports against the pipeline: {len(against)}")
    for a in against:
        print(f"  {a}")
    print("largest files (lines without the test module):")
    for size, f in sizes[:8]:
        print(f"  {size:5} {f}")


def strip_tests(text):
    return re.split(r"\n#\[cfg\(test\)\]\n(?:pub(?:\(crate\))? )?mod \w+ \{", text)[0]


if __name__ == "__main__":
    main()
