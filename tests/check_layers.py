#!/usr/bin/python3
"""Layers without back edges (issue 18): every #include "..." in src/, tools/,
examples/ and fuzz/ goes down the layers, or stays in its own module, or is a
documented internal interface listed below with its reason.

The layers, lowest first (ARCHITECTURE.md):
    common (src/*.c|h) < ebml < reader < dispatch < visitors
    < merger, decoder (peers) < mp4, client (peers) < tools, examples, fuzz, python

An include fails when it goes up a layer, or when it reaches into another
module's headers and is not listed in INTERFACES. A module is a directory
(tools/ and its subfolders are one module). Headers of the common layer and
of ebml are the interfaces every core module builds on; public headers
(include/kvsparser/) may be included from anywhere.

    check_layers.py [ROOT]     exit 0 when clean, 1 with one line per bad edge
"""
import os
import re
import sys

RANKS = {
    "common": 0, "ebml": 1, "reader": 2, "dispatch": 3, "visitors": 4,
    "merger": 5, "decoder": 5, "mp4": 6, "client": 6, "tools": 7,
}
SCANNED = ("src", "tools", "examples", "fuzz", "python")
SOURCE_EXT = (".c", ".h")

# Documented internal interfaces: target header -> (includers allowed, reason).
# An includer is a file path or a folder ending in "/".
INTERFACES = {
    "src/reader/content_cursor.h": (
        ["src/visitors/"],
        "the reader's in-place content cursor, inline for the fragment visitor"),
    "src/visitors/meta_pair.h": (
        ["src/merger/merger.c"],
        "the merger reads fragment metadata after the same fragment visitor"),
    "src/visitors/fragment_fields.h": (
        ["tools/kvsp/fragment_json.c"],
        "one field table for the fragment visitor and `kvsp fragments` JSON"),
    "src/client/client_internal.h": (
        ["fuzz/fuzz_list_fragments.c"],
        "the fuzzer builds ListFragments paging from its sources with stub HTTP calls"),
    "src/merger/ebml_out.h": (
        ["tools/kvsp/serve/serve.h"],
        "kvsp serve writes EBML with the internal library kvsp_ebml_out (CMake OBJECT target)"),
    "src/merger/timeline.h": (
        ["src/mp4/mp4_sink.c"],
        "the MP4 sink places frames by the merger's timeline rule (internal library kvsp_timeline)"),
    "src/reader/reader_fast.h": (
        ["src/dispatch/reader_run.c"],
        "the run loop drives the reader's per-element fast path inline (zero cost per event)"),
}
# Edges that go up a layer, tolerated for now: (includer, target) -> reason.
BACK_EDGES = {}

# Include folders a CMakeLists.txt adds for one file (target_include_directories).
EXTRA_DIRS = {"fuzz/fuzz_list_fragments.c": ["src/client"],
              "tools/kvsp/serve/serve.h": ["src/merger"],
              "src/mp4/mp4_sink.c": ["src/merger"]}

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def layer(path):
    """The layer of a repository-relative path, or None outside the layers."""
    parts = path.split("/")
    if parts[0] in ("tools", "examples", "fuzz", "python"):
        return "tools"
    if parts[0] != "src":
        return None
    if len(parts) == 2:
        return "common"
    return parts[1] if parts[1] in RANKS else None


def module(path):
    parts = path.split("/")
    if parts[0] in ("tools", "examples", "fuzz", "python"):
        return parts[0]
    return os.path.dirname(path)


def allowed_includer(includer, patterns):
    return any(includer == p or (p.endswith("/") and includer.startswith(p)) for p in patterns)


def check_edge(includer, target):
    """None when the edge is fine, else why not."""
    if target.startswith("include/kvsparser/"):
        return None
    if module(includer) == module(target):
        return None
    lo, lt = layer(includer), layer(target)
    if lt is None:
        return "includes %s, outside every layer" % target
    if lo is None:
        return "is outside every layer"
    if (includer, target) in BACK_EDGES:
        return None
    if RANKS[lt] > RANKS[lo]:
        return "goes up a layer (%s -> %s) to %s" % (lo, lt, target)
    if RANKS[lt] == RANKS[lo] and lt != lo:
        return "goes across to a peer layer (%s -> %s) to %s" % (lo, lt, target)
    if lt in ("common", "ebml") and includer.startswith("src/"):
        return None
    if target in INTERFACES and allowed_includer(includer, INTERFACES[target][0]):
        return None
    return "reaches into %s's internals: %s (not a listed interface)" % (module(target), target)


def resolve(root, includer, name):
    """The repository-relative path an include names, or None if not found."""
    local = os.path.normpath(os.path.join(os.path.dirname(includer), name))
    if os.path.isfile(os.path.join(root, local)):
        return local
    for d in EXTRA_DIRS.get(includer, []):
        extra = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(os.path.join(root, extra)):
            return extra
    public = os.path.normpath(os.path.join("include", name))
    # A public header CMake generates (configure_file) counts as its template.
    if os.path.isfile(os.path.join(root, public)) or os.path.isfile(os.path.join(root, public + ".in")):
        return public
    return None


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                           else os.path.join(os.path.dirname(__file__), ".."))
    bad, edges = [], 0
    for top in SCANNED:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for fn in sorted(filenames):
                if not fn.endswith(SOURCE_EXT):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, fn), root).replace(os.sep, "/")
                with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for m in INCLUDE.finditer(text):
                    edges += 1
                    line = text.count("\n", 0, m.start()) + 1
                    target = resolve(root, rel, m.group(1))
                    why = ("includes \"%s\", which is no file of the tree" % m.group(1)
                           if target is None else check_edge(rel, target.replace(os.sep, "/")))
                    if why:
                        bad.append("%s:%d: %s" % (rel, line, why))
    # A listed exception that no longer occurs is stale: say so, so the list stays true.
    for (includer, target), _ in BACK_EDGES.items():
        path = os.path.join(root, includer)
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                names = INCLUDE.findall(f.read())
            if not any(resolve(root, includer, n) == target for n in names):
                print("note: listed back edge %s -> %s no longer occurs" % (includer, target))
    for b in bad:
        print(b)
    print("%d includes checked, %d bad" % (edges, len(bad)))
    return 1 if bad or edges == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
