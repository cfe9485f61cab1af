#!/usr/bin/python3
"""The kvsp Python package against the C library and PyAV, in one run.

    python_bench.py --build BUILD [--kvsp-bench PATH] [--repeat R] [--copies N] [--before DIR]

BUILD is a build directory of this tree (its python/ folder is put on
sys.path). Input: N copies of the capture output_get_media.mkv chained in
memory (default 20: 50 MB, 6,000 frames, 100 fragments). Cases, R passes
each, interleaved, over the same bytes in 64 KiB chunks (median and min):

  c-consumer     kvsp_bench --case consumer (reader + fragment + frame
                 visitors in C), when --kvsp-bench is given
  py-frames      kvsp.frames(): one Frame object per frame
  py-frames-data the same, touching frame.data (a memoryview) of each
  py-fragments   kvsp.fragments(): one Fragment per fragment, no frame objects
  py-decode-rgb  kvsp.decode() to (H, W, 3) RGB arrays (first 2 copies)
  pyav-decode-rgb PyAV: container.decode() + to_ndarray('rgb24'), threads AUTO
  py-decode-2x1t  two decodes of the same input (threads=1 each), one after the
                  other; py-decode-2thr: the same two in two Python threads at
                  once. Their ratio shows whether the GIL is released while C decodes
                  (about 2x on two free cores; 1x if it were held)

With --before DIR (the python/ folder of another build of the package,
e.g. a copy taken before a change), the cases before-py-frames,
before-py-frames-data and before-py-fragments run it, and the after-*
ones this build's, the same way: each pass in a child process over the same bytes
(its second pass timed), interleaved with the others. These count the
CPU time of the thread (time.thread_time; the C parsing runs on it with the
GIL released), which a loaded machine disturbs less than wall time; compare
them with each other.

Prints a table and one JSON line. Machines are shared and noisy: compare
the ratios within one run, not absolute numbers across runs.
"""
import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

CAPTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "kvs-captures",
                       "output_get_media.mkv")
CHUNK = 1 << 16


def chunks(data):
    view = memoryview(data)
    return (view[i:i + CHUNK] for i in range(0, len(view), CHUNK))


def worker(path, case, capture, copies):
    """One child of --before: the case timed on its second pass."""
    sys.path.insert(0, path)
    import kvsp
    data = open(capture, "rb").read() * copies
    fn = {"py-frames": lambda: sum(1 for _ in kvsp.frames(chunks(data))),
          "py-frames-data": lambda: sum(len(f.data) > 0 for f in kvsp.frames(chunks(data))),
          "py-fragments": lambda: sum(f.frames for f in kvsp.fragments(chunks(data)))}[case]
    fn()
    t = time.thread_time()
    n = fn()
    print(json.dumps({"seconds": time.thread_time() - t, "frames": n}))


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "--worker":
        return worker(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--kvsp-bench")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--capture", default=CAPTURE)
    ap.add_argument("--before")
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(args.build, "python"))
    import kvsp

    one = open(args.capture, "rb").read()
    data = one * args.copies
    small = one * 2
    cases = {}
    tmp = None
    if args.kvsp_bench:
        tmp = tempfile.NamedTemporaryFile(suffix=".mkv")
        tmp.write(data)
        tmp.flush()

        def c_consumer():
            out = subprocess.run([args.kvsp_bench, "--case", "consumer", "--chunk", str(CHUNK), "--repeat", "1",
                                  tmp.name], check=True, capture_output=True).stdout
            r = json.loads(out)
            return r["seconds"][0], r["frames"]
        cases["c-consumer"] = (c_consumer, len(data))
    if args.before:
        def child(path, case):
            def run():
                out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", path, case,
                                      args.capture, str(args.copies)], check=True, capture_output=True).stdout
                r = json.loads(out)
                return r["seconds"], r["frames"]
            return run
        for case in ("py-frames", "py-frames-data", "py-fragments"):
            cases["before-" + case] = (child(os.path.abspath(args.before), case), len(data))
            cases["after-" + case] = (child(os.path.join(os.path.abspath(args.build), "python"), case),
                                      len(data))
    cases["py-frames"] = (lambda: sum(1 for _ in kvsp.frames(chunks(data))), len(data))
    cases["py-frames-data"] = (lambda: sum(len(f.data) > 0 for f in kvsp.frames(chunks(data))), len(data))
    cases["py-fragments"] = (lambda: sum(f.frames for f in kvsp.fragments(chunks(data))), len(data))
    if kvsp.have_decoder:
        cases["py-decode-rgb"] = (lambda: sum(1 for p in kvsp.decode(chunks(small), pixel_format="rgb24")),
                                  len(small))
    try:
        import av
        av.logging.set_level(av.logging.PANIC)  # its notes on KVS's unknown-size Segments

        def pyav():
            n = 0
            with av.open(io.BytesIO(small)) as c:
                c.streams.video[0].thread_type = "AUTO"
                for frame in c.decode(video=0):
                    frame.to_ndarray(format="rgb24")
                    n += 1
            return n
        cases["pyav-decode-rgb"] = (pyav, len(small))
    except ImportError:
        pass

    if kvsp.have_decoder:
        import threading

        def decode_one():
            return sum(1 for p in kvsp.decode(chunks(small), pixel_format="rgb24", threads=1))

        def two_threads():
            counts = []
            ts = [threading.Thread(target=lambda: counts.append(decode_one())) for _ in range(2)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            return sum(counts)
        cases["py-decode-2x1t"] = (lambda: decode_one() + decode_one(), 2 * len(small))
        cases["py-decode-2thr"] = (two_threads, 2 * len(small))

    # Passes interleaved, so that the machine's load changes hit every case.
    times = {k: [] for k in cases}
    counts = {}
    for _ in range(args.repeat):
        for name, (fn, size) in cases.items():
            t = time.perf_counter()
            r = fn()
            elapsed = time.perf_counter() - t
            if isinstance(r, tuple):
                elapsed, r = r
            times[name].append(elapsed)
            counts[name] = r
    rows = {k: (statistics.median(times[k]), min(times[k]), counts[k], cases[k][1]) for k in cases}

    print("%-20s %10s %10s %12s %10s" % ("case", "median s", "min s", "frames/s", "MB/s"))
    for name, (t, best, n, b) in rows.items():
        print("%-20s %10.4f %10.4f %12.0f %10.1f" % (name, t, best, n / t, b / t / 1e6))
    ratios = {}
    if "c-consumer" in rows:
        for k in ("py-frames", "py-frames-data", "py-fragments"):
            ratios[k + "/c"] = {"median": rows["c-consumer"][0] / rows[k][0],
                                "min": rows["c-consumer"][1] / rows[k][1]}
    for k in ("py-frames", "py-frames-data", "py-fragments"):
        if "before-" + k in rows:
            ratios[k + " after/before"] = {"median": rows["before-" + k][0] / rows["after-" + k][0],
                                           "min": rows["before-" + k][1] / rows["after-" + k][1]}
    if "py-decode-rgb" in rows and "pyav-decode-rgb" in rows:
        ratios["py-decode/pyav"] = {"median": rows["pyav-decode-rgb"][0] / rows["py-decode-rgb"][0],
                                    "min": rows["pyav-decode-rgb"][1] / rows["py-decode-rgb"][1]}
    if "py-decode-2thr" in rows:
        ratios["py-decode-2thr/2x1t"] = {"median": rows["py-decode-2x1t"][0] / rows["py-decode-2thr"][0],
                                         "min": rows["py-decode-2x1t"][1] / rows["py-decode-2thr"][1]}
    for k, v in ratios.items():
        print("throughput %s: %.2fx (median), %.2fx (min)" % (k, v["median"], v["min"]))
    print(json.dumps({"rows": {k: {"median": t, "min": best, "frames": n, "bytes": b}
                               for k, (t, best, n, b) in rows.items()}, "ratios": ratios}))


if __name__ == "__main__":
    main()
