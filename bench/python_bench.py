#!/usr/bin/python3
"""The kvsp Python package against the C library and PyAV, in one run.

    python_bench.py --build BUILD [--kvsp-bench PATH] [--repeat R] [--copies N] [--before DIR]
                    [--only parse|decode]

BUILD is a build directory of this tree (its python/ folder is put on
sys.path). Every figure is a ratio against a reference measured in the
same run, passes interleaved (R of each, median and min), each timed by
wall clock and by CPU time (the thread's for parsing, which runs on it with
the GIL released; the process's, every decoder thread included, for
decoding), which a shared, loaded machine disturbs less.

Parsing: N copies of the capture output_get_media.mkv chained (default
100: 250 MB, 30,000 frames, 500 fragments; longer passes are steadier on a
loaded machine), in 64 KiB chunks, from memory:

  c-consumer     kvsp_bench --case consumer (reader + fragment + frame
                 visitors in C), when --kvsp-bench is given
  py-frames      kvsp.frames(): one Frame object per frame
  py-frames-data the same, touching frame.data (a memoryview) of each
  py-fragments   kvsp.fragments(): one Fragment per fragment, no frame objects

and from the file (written to a temporary directory, so in the page cache):

  c-consumer-file    kvsp_bench --case consumer --source read: read(2) of
                     64 KiB chunks into one buffer, fed to the consumer
  py-frames-file     kvsp.frames(path), which the parser reads itself
  py-fragments-file  kvsp.fragments(path)

Decoding and extraction for ML (issue 24): the capture 4 times with
increasing timestamps (bench/make_inputs.py's concat, ffmpeg -f concat -c
copy: 1,200 pictures 640x360, 40 s, a keyframe every 2 s), from memory,
kvsp.decode() into numpy arrays against PyAV doing the same (decoder
threads: all cores on both sides), each pair checked to give the same
number of pictures:

  rgb            every picture as an (H, W, 3) RGB array
                 PyAV: container.decode() + to_ndarray(format="rgb24")
  interval-1s    one picture per second (interval_ms=1000), as RGB
                 PyAV: every picture decoded, the first one of each second
                 (the library's rule: from the first kept picture's pts on)
                 converted
  keyframes      keyframes only (keyframes=True), as RGB
                 PyAV: codec_context.skip_frame = "NONKEY"
  rgb-224        every picture scaled to 224x224 RGB (size=(224, 224))
                 PyAV: to_ndarray(width=224, height=224, format="rgb24",
                 interpolation="BICUBIC"), the library's scaler flag
  py-decode-2x1t / py-decode-2thr: two decodes (threads=1 each) one after
                 the other, and the same two in two Python threads at once:
                 about 2x on two free cores if the GIL is released while C
                 decodes, 1x if it were held

With --before DIR (the python/ folder of another build of the package,
e.g. a copy taken before a change), the cases before-py-frames,
before-py-frames-data, before-py-fragments, before-py-frames-file and
before-py-fragments-file run it, and the after-* ones this build's, the
same way: each pass in a child process over the same
bytes (its second pass timed, CPU time of the thread), interleaved.

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

HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURE = os.path.join(HERE, "..", "..", "shared", "kvs-captures", "output_get_media.mkv")
CHUNK = 1 << 16
PY_PARSE = ("py-frames", "py-frames-data", "py-fragments", "py-frames-file", "py-fragments-file")


def chunks(data):
    view = memoryview(data)
    return (view[i:i + CHUNK] for i in range(0, len(view), CHUNK))


def worker(path, case, capture, copies, chained):
    """One child of --before: the case timed on its second pass."""
    sys.path.insert(0, path)
    import kvsp
    data = open(capture, "rb").read() * copies
    fn = {"py-frames": lambda: sum(1 for _ in kvsp.frames(chunks(data))),
          "py-frames-data": lambda: sum(len(f.data) > 0 for f in kvsp.frames(chunks(data))),
          "py-fragments": lambda: sum(f.frames for f in kvsp.fragments(chunks(data))),
          "py-frames-file": lambda: sum(1 for _ in kvsp.frames(chained, chunk_size=CHUNK)),
          "py-fragments-file": lambda: sum(f.frames for f in kvsp.fragments(chained, chunk_size=CHUNK))}[case]
    fn()
    t = time.thread_time()
    n = fn()
    print(json.dumps({"seconds": time.thread_time() - t, "frames": n}))


def pyav_cases(av, data):
    """PyAV pipelines for the decode cases: name -> function giving the count."""
    av.logging.set_level(av.logging.PANIC)  # its notes on KVS's unknown-size Segments

    def run(keep=None, nonkey=False, **convert):
        n = 0
        with av.open(io.BytesIO(data)) as c:
            s = c.streams.video[0]
            s.thread_type = "AUTO"
            if nonkey:
                s.codec_context.skip_frame = "NONKEY"
            for frame in c.decode(s):
                if keep is None or keep(float(frame.pts * s.time_base) * 1000.0):
                    frame.to_ndarray(format="rgb24", **convert)
                    n += 1
        return n

    def interval():
        state = {"next": None}

        def keep(pts_ms):
            if state["next"] is None:
                state["next"] = pts_ms + 1000.0
                return True
            if pts_ms < state["next"]:
                return False
            while state["next"] <= pts_ms:
                state["next"] += 1000.0
            return True
        return run(keep)

    return {"rgb": lambda: run(),
            "interval-1s": interval,
            "keyframes": lambda: run(nonkey=True),
            "rgb-224": lambda: run(width=224, height=224, interpolation="BICUBIC")}


def kvsp_cases(kvsp, data):
    def run(**kw):
        return sum(1 for _ in kvsp.decode(data, pixel_format="rgb24", **kw))
    return {"rgb": lambda: run(),
            "interval-1s": lambda: run(interval_ms=1000),
            "keyframes": lambda: run(keyframes=True),
            "rgb-224": lambda: run(size=(224, 224))}


def decode_input(capture, tmpdir):
    sys.path.insert(0, HERE)
    import make_inputs
    path = os.path.join(tmpdir, "decode.mkv")
    make_inputs.concat([capture] * 4, path)
    return open(path, "rb").read()


def main():
    if len(sys.argv) == 7 and sys.argv[1] == "--worker":
        return worker(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--kvsp-bench")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--copies", type=int, default=100)
    ap.add_argument("--capture", default=CAPTURE)
    ap.add_argument("--before")
    ap.add_argument("--only", choices=["parse", "decode"])
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(args.build, "python"))
    import kvsp

    tmpdir = tempfile.TemporaryDirectory()
    one = open(args.capture, "rb").read()
    data = one * args.copies
    # name -> (function, bytes, CPU clock); a function returns the count of
    # frames or pictures, or (wall s, CPU s, count) measured by a child
    cases = {}
    if args.only != "decode":
        chained = os.path.join(tmpdir.name, "chain.mkv")
        with open(chained, "wb") as f:
            f.write(data)
        if args.kvsp_bench:
            def c_consumer(source):
                def run():
                    out = subprocess.run([args.kvsp_bench, "--case", "consumer", "--chunk", str(CHUNK), "--repeat",
                                          "1", "--source", source, chained], check=True, capture_output=True).stdout
                    r = json.loads(out)
                    return r["seconds"][0], r["cpu_seconds"][0], r["frames"]
                return run
            cases["c-consumer"] = (c_consumer("mem"), len(data), None)
            cases["c-consumer-file"] = (c_consumer("read"), len(data), None)
        if args.before:
            def child(path, case):
                def run():
                    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", path, case,
                                          args.capture, str(args.copies), chained], check=True,
                                         capture_output=True).stdout
                    r = json.loads(out)
                    return r["seconds"], r["seconds"], r["frames"]
                return run
            for case in PY_PARSE:
                cases["before-" + case] = (child(os.path.abspath(args.before), case), len(data), None)
                cases["after-" + case] = (child(os.path.join(os.path.abspath(args.build), "python"), case),
                                          len(data), None)
        cases["py-frames"] = (lambda: sum(1 for _ in kvsp.frames(chunks(data))), len(data), time.thread_time)
        cases["py-frames-data"] = (lambda: sum(len(f.data) > 0 for f in kvsp.frames(chunks(data))), len(data),
                                   time.thread_time)
        cases["py-fragments"] = (lambda: sum(f.frames for f in kvsp.fragments(chunks(data))), len(data),
                                 time.thread_time)
        cases["py-frames-file"] = (lambda: sum(1 for _ in kvsp.frames(chained, chunk_size=CHUNK)), len(data), time.thread_time)
        cases["py-fragments-file"] = (lambda: sum(f.frames for f in kvsp.fragments(chained, chunk_size=CHUNK)), len(data),
                                      time.thread_time)
    pairs = []
    if args.only != "parse" and kvsp.have_decoder:
        video = decode_input(args.capture, tmpdir.name)
        ours = kvsp_cases(kvsp, video)
        try:
            import av
            theirs = pyav_cases(av, video)
        except ImportError:
            theirs = {}
        for name, fn in ours.items():
            cases["py-" + name] = (fn, len(video), time.process_time)
            if name in theirs:
                cases["pyav-" + name] = (theirs[name], len(video), time.process_time)
                pairs.append(name)
        import threading

        def decode_one():
            return sum(1 for p in kvsp.decode(video, pixel_format="rgb24", threads=1))

        def two_threads():
            counts = []
            ts = [threading.Thread(target=lambda: counts.append(decode_one())) for _ in range(2)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            return sum(counts)
        cases["py-decode-2x1t"] = (lambda: decode_one() + decode_one(), 2 * len(video), time.process_time)
        cases["py-decode-2thr"] = (two_threads, 2 * len(video), time.process_time)

    # Passes interleaved, so that the machine's load changes hit every case.
    wall = {k: [] for k in cases}
    cpu = {k: [] for k in cases}
    counts = {}
    for _ in range(args.repeat):
        for name, (fn, size, clock) in cases.items():
            c0 = clock() if clock else 0.0
            t = time.perf_counter()
            r = fn()
            w = time.perf_counter() - t
            c = clock() - c0 if clock else 0.0
            if isinstance(r, tuple):
                w, c, r = r
            wall[name].append(w)
            cpu[name].append(c)
            counts[name] = r
    rows = {k: {"wall": statistics.median(wall[k]), "wall_min": min(wall[k]), "cpu": statistics.median(cpu[k]),
                "cpu_min": min(cpu[k]), "count": counts[k], "bytes": cases[k][1]} for k in cases}

    print("%-22s %9s %9s %9s %9s %8s %12s" % ("case", "wall med", "wall min", "cpu med", "cpu min", "count",
                                              "count/s"))
    for name, r in rows.items():
        print("%-22s %9.4f %9.4f %9.4f %9.4f %8d %12.0f" % (name, r["wall"], r["wall_min"], r["cpu"], r["cpu_min"],
                                                            r["count"], r["count"] / r["wall"]))

    def ratio(ref, case):
        a, b = rows[ref], rows[case]
        return {"wall": a["wall"] / b["wall"], "wall_min": a["wall_min"] / b["wall_min"],
                "cpu": a["cpu"] / b["cpu"] if b["cpu"] else None}
    ratios = {}
    if "c-consumer" in rows:
        for k in ("py-frames", "py-frames-data", "py-fragments"):
            ratios[k + "/c"] = ratio("c-consumer", k)
        for k in ("py-frames-file", "py-fragments-file"):
            ratios[k + "/c-file"] = ratio("c-consumer-file", k)
    for k in PY_PARSE:
        if "before-" + k in rows:
            ratios[k + " after/before"] = ratio("before-" + k, "after-" + k)
    mismatch = []
    for name in pairs:
        ratios["py-%s/pyav" % name] = ratio("pyav-" + name, "py-" + name)
        if rows["py-" + name]["count"] != rows["pyav-" + name]["count"]:
            mismatch.append(name)
    if "py-decode-2thr" in rows:
        ratios["py-decode-2thr/2x1t"] = ratio("py-decode-2x1t", "py-decode-2thr")
    for k, v in ratios.items():
        print("throughput %-26s %.2fx wall (median), %.2fx wall (min), %s CPU (median)"
              % (k, v["wall"], v["wall_min"], "%.2fx" % v["cpu"] if v["cpu"] else "-"))
    print(json.dumps({"rows": rows, "ratios": ratios, "count_mismatch": mismatch}))
    if mismatch:
        print("picture counts differ between kvsp and PyAV: %s" % ", ".join(mismatch), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
