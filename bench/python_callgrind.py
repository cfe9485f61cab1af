#!/usr/bin/python3
"""Instruction counts of the Python package's parse paths, for before/after
comparisons that the shared machine's load does not disturb.

    python_callgrind.py --python DIR [--python DIR ...] [--copies N] [--cases a,b]

DIR is the python/ folder of a build (build/python, or a copy of it taken
before a change). Each case runs in a child under
`valgrind --tool=callgrind --toggle-collect=parser_iternext` with
PYTHONHASHSEED=0, two passes over N copies (default 20: 12,000 frames, 200
fragments) of output_get_media.mkv in 64 KiB chunks, and the instructions
counted inside the parser's tp_iternext are printed, one line per DIR and
case, then one JSON object. Cases (as bench/python_bench.py's):

  frames          kvsp.frames() of a generator of memoryview slices
  frames-data     the same, touching frame.data
  fragments       kvsp.fragments() of the generator
  frames-file     kvsp.frames(path): the parser reads the file itself
  fragments-file  kvsp.fragments(path)
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURE = os.path.join(HERE, "..", "..", "shared", "kvs-captures", "output_get_media.mkv")
CASES = ("frames", "frames-data", "fragments", "frames-file", "fragments-file")
CHUNK = 1 << 16


def child(path, case, data_path):
    """Runs the case twice (the package imported from path)."""
    sys.path.insert(0, path)
    import kvsp
    data = open(data_path, "rb").read()

    def chunks():
        view = memoryview(data)
        return (view[i:i + CHUNK] for i in range(0, len(view), CHUNK))
    run = {"frames": lambda: sum(1 for _ in kvsp.frames(chunks())),
           "frames-data": lambda: sum(len(f.data) > 0 for f in kvsp.frames(chunks())),
           "fragments": lambda: sum(f.frames for f in kvsp.fragments(chunks())),
           "frames-file": lambda: sum(1 for _ in kvsp.frames(data_path, chunk_size=CHUNK)),
           "fragments-file": lambda: sum(f.frames for f in kvsp.fragments(data_path, chunk_size=CHUNK))}[case]
    for _ in range(2):
        run()


def count(path, case, data_path):
    env = dict(os.environ, PYTHONHASHSEED="0")
    res = subprocess.run(["valgrind", "--tool=callgrind", "--toggle-collect=parser_iternext",
                          "--callgrind-out-file=/dev/null", sys.executable, os.path.abspath(__file__),
                          "--child", path, case, data_path], env=env, capture_output=True, text=True, check=True)
    m = re.search(r"Collected : (\d+)", res.stderr)
    if not m:
        raise SystemExit("callgrind printed no total:\n" + res.stderr)
    return int(m.group(1))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        return child(sys.argv[2], sys.argv[3], sys.argv[4])
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", action="append", required=True)
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--capture", default=CAPTURE)
    ap.add_argument("--cases", default=",".join(CASES))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_path = os.path.join(tmp, "chain.mkv")
        with open(data_path, "wb") as f:
            f.write(open(args.capture, "rb").read() * args.copies)
        out = {}
        for path in args.python:
            for case in args.cases.split(","):
                n = count(os.path.abspath(path), case, data_path)
                out.setdefault(path, {})[case] = n
                print("%-40s %-15s %12d" % (path, case, n), flush=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
