#!/usr/bin/env python3
"""Module dependency cycles of a Rust crate, at file level.

Usage: python3 scripts/module-cycles.py [SRC_DIR]   (default: src)
Reads every .rs file under SRC_DIR, resolves `crate::`, `super::` and `self::` paths (in `use`
items, brace groups included, and inline paths) to the module files they name, and prints each
strongly connected component of more than one file (a cycle), with the edges that close it.
Exit status 0 when there is no cycle, 1 otherwise. Test modules (`#[cfg(test)] mod tests`) and
files under tests/ or benches/ are not read. Standard library only.
"""
import os, re, sys

src = sys.argv[1] if len(sys.argv) > 1 else "src"
mods = {}  # module path tuple -> file
for root, _, files in os.walk(src):
    for f in files:
        if not f.endswith(".rs"):
            continue
        path = os.path.join(root, f)
        rel = os.path.relpath(path, src)[:-3].split(os.sep)
        if rel[-1] in ("mod", "lib", "main"):
            rel = rel[:-1]
        mods[tuple(rel)] = path

def strip(text):
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    # drop inline test modules
    m = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)
    return text[:m.start()] if m else text

def expand(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']"""
    tree = re.sub(r"\s+", "", tree)
    i = tree.find("{")
    if i < 0:
        return [tree]
    depth, j = 0, i
    for j in range(i, len(tree)):
        depth += tree[j] == "{"
        depth -= tree[j] == "}"
        if depth == 0:
            break
    inner, parts, depth, cur = tree[i + 1:j], [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur); cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        if p:
            out += expand(tree[:i] + p)
    return out

def resolve(here, path):
    segs = [s for s in re.split(r"::", path) if s and s != "*"]
    segs = [s.split(" as ")[0] for s in segs]
    if not segs:
        return None
    if segs[0] == "crate":
        base, segs = (), segs[1:]
    elif segs[0] in ("super", "self"):
        base = here
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
    else:
        return None
    best = None
    for k in range(len(segs), -1, -1):
        cand = base + tuple(segs[:k])
        if cand in mods:
            best = cand
            break
    return best

edges = {m: set() for m in mods}
for m, path in mods.items():
    here = m if os.path.basename(path) in ("mod.rs", "lib.rs", "main.rs") else m
    # `super` in a non-mod file refers to the parent of the file's own module
    text = strip(open(path, encoding="utf-8", errors="replace").read())
    paths = []
    for u in re.finditer(r"\buse\s+([^;]+);", text):
        paths += expand(u.group(1))
    paths += re.findall(r"\b(?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+", text)
    aliases = {}
    for p in paths:
        t = resolve(m, p)
        if t is not None and t != m and t != ():
            edges[m].add(t)
        # `use crate::incidents;` (or `... as x`) makes `incidents::web::f` a path too
        segs = [s for s in p.split("::") if s]
        if t is not None and segs and len(t) and segs[-1].split(" as ")[0] == t[-1]:
            alias = segs[-1].split(" as ")[-1]
            aliases[alias] = t
    for alias, base in aliases.items():
        for q in re.findall(r"(?<![:\w])" + re.escape(alias) + r"((?:::[A-Za-z_][A-Za-z0-9_]*)+)", text):
            segs = [s for s in q.split("::") if s]
            for k in range(len(segs), -1, -1):
                cand = base + tuple(segs[:k])
                if cand in mods:
                    if cand != m:
                        edges[m].add(cand)
                    break

# Tarjan's strongly connected components
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)
def visit(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        sccs.append(comp)
for v in mods:
    if v not in index:
        visit(v)
cycles = [sorted(c) for c in sccs if len(c) > 1]
name = lambda m: mods[m]
print(f"{len(mods)} module files, {sum(len(e) for e in edges.values())} dependencies, {len(cycles)} cycle(s)")
for c in sorted(cycles, key=len, reverse=True):
    members = set(c)
    print(f"\ncycle of {len(c)} files:")
    for m in c:
        inside = sorted(name(t) for t in edges[m] if t in members)
        print(f"  {name(m)} -> {', '.join(inside)}")
sys.exit(1 if cycles else 0)
