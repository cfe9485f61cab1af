#!/usr/bin/env python3
"""Merge throughput benchmark: `kvsp merge` against `ffmpeg -c copy` on the same input.

Builds a long chained GetMedia input by concatenating real KVS captures many times, then
runs `kvsp merge IN -o OUT` and `ffmpeg -v error -y -i IN -map 0 -c copy OUT` alternately,
K times each, in the same process, and compares median wall times (as a ratio, because the
machines are shared and noisy) and peak resident memory of each child process.

Targets (from the project requirements):
  * throughput: kvsp >= 3x ffmpeg on the same input in the same run;
  * memory: kvsp peak RSS < 16 MiB + the largest fragment of the input.

Python 3 standard library only. See bench/README.md.
"""

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Complete GetMedia chains from ../shared/kvs-captures. Not output-get-media-equal-timecode.mkv:
# its last SimpleBlock is cut off, so it cannot be repeated into a valid chain.
DEFAULT_FILES = ["output_get_media.mkv", "kinesis_video_renderer_example_output.mkv"]
TRUNCATED_FILES = {"output-get-media-equal-timecode.mkv"}
DEFAULT_TARGET_BYTES = 200 * 1000 * 1000

THROUGHPUT_TARGET = 3.0
MEMORY_BASE = 16 * 1024 * 1024

EXIT_TARGET_MISSED = 1
EXIT_FAILED = 2


class BenchError(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Benchmark `kvsp merge` against `ffmpeg -i IN -map 0 -c copy OUT.mkv` "
        "on a long chained input built from the shared KVS captures.")
    p.add_argument("--kvsp", default=os.path.join(REPO_ROOT, "build", "kvsp"),
                   help="kvsp binary (default: build/kvsp under the repo root)")
    p.add_argument("--captures", default=os.path.join(REPO_ROOT, "..", "shared", "kvs-captures"),
                   help="directory of the KVS captures (default: ../shared/kvs-captures "
                   "relative to the repo root)")
    p.add_argument("--files", default=",".join(DEFAULT_FILES),
                   help="comma-separated capture files concatenated, in order, per repetition "
                   "(default: %(default)s); each must be a complete chain")
    p.add_argument("--repeat", type=int, default=None,
                   help="how many times to concatenate the capture files (default: enough "
                   "for about 200 MB)")
    p.add_argument("--runs", type=int, default=5,
                   help="timed runs of each tool, interleaved (default: 5)")
    p.add_argument("--warmup", type=int, default=1,
                   help="untimed runs of each tool before the timed ones (default: 1)")
    p.add_argument("--workdir", default=None,
                   help="where the input and outputs go (default: a temporary directory, "
                   "removed afterwards; a given directory is kept)")
    p.add_argument("--ffmpeg", default="ffmpeg", help="ffmpeg binary (default: from PATH)")
    p.add_argument("--ffprobe", default="ffprobe", help="ffprobe binary (default: from PATH)")
    p.add_argument("--rss-method", choices=["auto", "time", "fork"], default="auto",
                   help="how peak RSS of each child is measured: time (GNU time wraps the "
                   "child), fork (this script forks it; higher floor) or auto (time when GNU "
                   "time is installed, else fork)")
    p.add_argument("--json", action="store_true",
                   help="print the results as one JSON object instead of the table")
    p.add_argument("--check", action="store_true",
                   help="exit 1 if the throughput or memory target is missed")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    if args.warmup < 0:
        p.error("--warmup must not be negative")
    if args.repeat is not None and args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def resolve_tool(path, what):
    if os.sep in path:
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise BenchError(f"{what} not found or not executable: {path}")
        return os.path.abspath(path)
    found = shutil.which(path)
    if not found:
        raise BenchError(f"{what} not found in PATH: {path}")
    return found


def inside(path, root):
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root + os.sep)


def build_input(captures, names, repeat, dest):
    paths = []
    for name in names:
        if name in TRUNCATED_FILES:
            raise BenchError(f"{name} is truncated; it cannot be chained")
        path = os.path.join(captures, name)
        if not os.path.isfile(path):
            raise BenchError(f"capture not found: {path}")
        paths.append(path)
    # Streamed copies: keeps this script's RSS (the floor of --rss-method fork) small.
    with open(dest, "wb") as out:
        for _ in range(repeat):
            for path in paths:
                with open(path, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
    return os.path.getsize(dest)


def run_capture(cmd):
    """Runs a short helper command, returns stdout; raises on failure."""
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        tail = r.stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise BenchError(f"{' '.join(cmd)} failed (exit {r.returncode}): " + " | ".join(tail))
    return r.stdout.decode(errors="replace")


def fragment_stats(kvsp, path):
    cmd = [kvsp, "fragments", path]
    count = frames = largest = 0
    incomplete = 0
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
        lines = list(fragment_lines(proc.stdout))
        code = proc.wait()
        if code != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-5:]
            raise BenchError(f"{' '.join(cmd)} failed (exit {code}): " + " | ".join(tail))
    for frag in lines:
        count += 1
        frames += frag.get("frames") or 0
        if not frag.get("complete"):
            incomplete += 1
        size = frag["end_offset"] - frag["offset"]
        largest = max(largest, size)
    if count == 0:
        raise BenchError("kvsp fragments found no fragment in the input")
    if incomplete:
        raise BenchError(f"{incomplete} incomplete fragment(s) in the input")
    return {"fragments": count, "frames": frames, "largest_fragment_bytes": largest}


def fragment_lines(stream):
    """Streams `kvsp fragments` output, keeping only the fields used here."""
    for line in stream:
        if line.strip():
            frag = json.loads(line)
            yield {k: frag.get(k) for k in ("frames", "complete", "offset", "end_offset")}


def video_packets(ffprobe, path):
    out = run_capture([ffprobe, "-v", "error", "-select_streams", "v", "-count_packets",
                       "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path])
    return sum(int(x) for x in out.split() if x.strip().isdigit())


def clear_dir(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def gnu_time_path():
    """GNU time >= 1.8 (1.7 reported ru_maxrss 4x too large on Linux), or None."""
    path = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    if not path or not os.path.isabs(path):
        return None
    try:
        r = subprocess.run([path, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return path if b"(GNU Time)" in r.stdout else None


class Spawner:
    """Runs a child and measures its wall time, CPU time and peak RSS.

    Peak RSS is ru_maxrss of the child (KiB on Linux). Linux carries the high-water mark of
    the memory the child had before exec() into ru_maxrss: with vfork/posix_spawn that is the
    whole Python parent's peak, with fork() the parent's RSS at the time of the fork. So:
      * "time": GNU time (a small C program) forks and execs the child and reports the
        child's own ru_maxrss; the floor left is GNU time's RSS (about 1 MiB);
      * "fork": os.fork() + exec from this script; the floor is this script's RSS (several
        MiB), so the value is an upper bound when it is near the floor.
    The floor is measured by running /bin/true the same way and reported.
    Wall time is measured here around the whole spawn, the same way for both tools.
    """

    def __init__(self, method, time_bin=None):
        self.method = method
        self.time_bin = time_bin

    def run(self, cmd, log_path):
        rss_path = log_path + ".rss"
        if self.method == "time":
            argv = [self.time_bin, "-f", "%M", "-o", rss_path, "--"] + list(cmd)
        else:
            argv = list(cmd)
        with open(log_path, "wb") as err, open(os.devnull, "rb") as null_in, \
                open(os.devnull, "wb") as null_out:
            start = time.perf_counter()
            pid = os.fork()
            if pid == 0:  # child: only async-signal-safe-ish calls, then exec
                try:
                    os.dup2(null_in.fileno(), 0)
                    os.dup2(null_out.fileno(), 1)
                    os.dup2(err.fileno(), 2)
                    os.execv(argv[0], argv)
                finally:
                    os._exit(127)
            _, status, ru = os.wait4(pid, 0)
            wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            with open(log_path, "rb") as f:
                tail = f.read().decode(errors="replace").strip().splitlines()[-5:]
            raise BenchError(f"{' '.join(cmd)} failed (exit {code}): " + " | ".join(tail))
        if self.method == "time":
            with open(rss_path) as f:
                rss = int(f.read().split()[-1]) * 1024
            os.unlink(rss_path)
        else:
            # ru_maxrss is in KiB on Linux (bytes on macOS).
            rss = ru.ru_maxrss if sys.platform == "darwin" else ru.ru_maxrss * 1024
        return wall, rss, ru.ru_utime + ru.ru_stime

    def floor(self, workdir):
        true = shutil.which("true") or "/bin/true"
        return self.run([true], os.path.join(workdir, "true.log"))[1]


def output_files(directory):
    return sorted(os.path.join(directory, n) for n in os.listdir(directory) if n.endswith(".mkv"))


def bench(args, workdir):
    kvsp = resolve_tool(args.kvsp, "kvsp")
    ffmpeg = resolve_tool(args.ffmpeg, "ffmpeg")
    ffprobe = resolve_tool(args.ffprobe, "ffprobe")
    names = [n.strip() for n in args.files.split(",") if n.strip()]
    if not names:
        raise BenchError("--files is empty")
    captures = os.path.abspath(args.captures)
    time_bin = gnu_time_path() if args.rss_method in ("auto", "time") else None
    if args.rss_method == "time" and not time_bin:
        raise BenchError("--rss-method time: GNU time (1.8 or later) not found")
    spawner = Spawner("time" if time_bin else "fork", time_bin)

    repeat = args.repeat
    if repeat is None:
        per_set = sum(os.path.getsize(os.path.join(captures, n)) for n in names
                      if os.path.isfile(os.path.join(captures, n)))
        repeat = max(1, math.ceil(DEFAULT_TARGET_BYTES / per_set)) if per_set else 1

    in_path = os.path.join(workdir, "chain.mkv")
    log(f"building input: {repeat} x ({' + '.join(names)}) -> {in_path}")
    in_bytes = build_input(captures, names, repeat, in_path)

    frags = fragment_stats(kvsp, in_path)
    in_packets = video_packets(ffprobe, in_path)
    log(f"input: {in_bytes} bytes, {frags['fragments']} fragments, {frags['frames']} frames "
        f"(kvsp fragments), {in_packets} video packets (ffprobe)")
    if in_packets != frags["frames"]:
        raise BenchError(f"ffprobe reads {in_packets} video packets from the input but kvsp "
                         f"fragments counts {frags['frames']} frames: ffmpeg does not read "
                         f"the chain through")

    kvsp_dir = os.path.join(workdir, "kvsp_out")
    ff_dir = os.path.join(workdir, "ffmpeg_out")
    kvsp_cmd = [kvsp, "merge", in_path, "-o", os.path.join(kvsp_dir, "out_kvsp.mkv")]
    ff_cmd = [ffmpeg, "-v", "error", "-y", "-i", in_path, "-map", "0", "-c", "copy",
              os.path.join(ff_dir, "out_ffmpeg.mkv")]
    tools = {
        "kvsp": (kvsp_cmd, kvsp_dir, os.path.join(workdir, "kvsp.log")),
        "ffmpeg": (ff_cmd, ff_dir, os.path.join(workdir, "ffmpeg.log")),
    }

    def one(name):
        cmd, out_dir, log_path = tools[name]
        clear_dir(out_dir)  # both tools create fresh files; removal is not timed
        return spawner.run(cmd, log_path)

    rss_floor = spawner.floor(workdir)

    for i in range(args.warmup):
        log(f"warmup {i + 1}/{args.warmup}")
        one("kvsp")
        one("ffmpeg")

    samples = {"kvsp": [], "ffmpeg": []}
    for i in range(args.runs):
        # Interleave, and alternate which tool goes first, so both share the same noise.
        order = ["kvsp", "ffmpeg"] if i % 2 == 0 else ["ffmpeg", "kvsp"]
        for name in order:
            samples[name].append(one(name))
        log(f"run {i + 1}/{args.runs}: kvsp {samples['kvsp'][-1][0]:.3f} s, "
            f"ffmpeg {samples['ffmpeg'][-1][0]:.3f} s")

    # Sanity: the outputs of the last runs carry the same number of video packets.
    kvsp_outputs = output_files(kvsp_dir)
    ff_outputs = output_files(ff_dir)
    kvsp_packets = sum(video_packets(ffprobe, p) for p in kvsp_outputs)
    ff_packets = sum(video_packets(ffprobe, p) for p in ff_outputs)

    results = {
        "input": {
            "path": in_path,
            "files": names,
            "repeat": repeat,
            "bytes": in_bytes,
            "fragments": frags["fragments"],
            "frames": frags["frames"],
            "video_packets_ffprobe": in_packets,
            "largest_fragment_bytes": frags["largest_fragment_bytes"],
        },
        "runs": args.runs,
        "rss_method": spawner.method,
        "rss_floor_bytes": rss_floor,
        "warmup": args.warmup,
        "commands": {"kvsp": kvsp_cmd, "ffmpeg": ff_cmd},
        "ffmpeg_version": run_capture([ffmpeg, "-version"]).splitlines()[0]
                          .split(" Copyright")[0],
        "kvsp_version": run_capture([kvsp, "--version"]).strip(),
    }
    for name in ("kvsp", "ffmpeg"):
        walls = [s[0] for s in samples[name]]
        med = statistics.median(walls)
        outs = kvsp_outputs if name == "kvsp" else ff_outputs
        results[name] = {
            "wall_seconds": walls,
            "median_seconds": med,
            "median_mb_per_s": in_bytes / med / 1e6 if med > 0 else None,
            "cpu_seconds_median": statistics.median(s[2] for s in samples[name]),
            "peak_rss_bytes": max(s[1] for s in samples[name]),
            "output_files": len(outs),
            "output_bytes": sum(os.path.getsize(p) for p in outs),
            "video_packets": kvsp_packets if name == "kvsp" else ff_packets,
        }
    k, f = results["kvsp"]["median_seconds"], results["ffmpeg"]["median_seconds"]
    ratio = f / k if k > 0 else math.inf
    limit = MEMORY_BASE + frags["largest_fragment_bytes"]
    results["throughput_ratio"] = ratio
    results["memory_limit_bytes"] = limit
    results["targets"] = {
        "throughput": {"target_ratio": THROUGHPUT_TARGET, "met": ratio >= THROUGHPUT_TARGET},
        "memory": {"limit_bytes": limit, "met": results["kvsp"]["peak_rss_bytes"] < limit},
    }
    results["sanity"] = {
        "packets_equal": kvsp_packets == ff_packets == in_packets,
        "kvsp_video_packets": kvsp_packets,
        "ffmpeg_video_packets": ff_packets,
        "input_video_packets": in_packets,
    }
    return results


def mib(n):
    return n / (1024 * 1024)


def print_table(r):
    i, k, f = r["input"], r["kvsp"], r["ffmpeg"]
    print(f"input: {i['bytes']:,} bytes ({i['bytes'] / 1e6:.1f} MB), {i['repeat']} x "
          f"({' + '.join(i['files'])}), {i['fragments']} fragments, "
          f"largest fragment {i['largest_fragment_bytes']:,} bytes")
    print(f"runs: {r['runs']} timed per tool, interleaved ({r['warmup']} warmup); "
          f"{r['kvsp_version']}; {r['ffmpeg_version']}")
    print()
    print(f"{'tool':<8}{'median s':>10}{'MB/s':>10}{'cpu s':>9}{'peak RSS MiB':>14}"
          f"{'out files':>11}{'video pkts':>12}")
    for name, t in (("kvsp", k), ("ffmpeg", f)):
        print(f"{name:<8}{t['median_seconds']:>10.3f}{t['median_mb_per_s']:>10.1f}"
              f"{t['cpu_seconds_median']:>9.3f}{mib(t['peak_rss_bytes']):>14.1f}"
              f"{t['output_files']:>11}{t['video_packets']:>12}")
    print()
    print(f"wall times kvsp:   {' '.join(f'{x:.3f}' for x in k['wall_seconds'])}")
    print(f"wall times ffmpeg: {' '.join(f'{x:.3f}' for x in f['wall_seconds'])}")
    print(f"throughput ratio kvsp/ffmpeg: {r['throughput_ratio']:.2f}x")
    print(f"kvsp peak RSS {mib(k['peak_rss_bytes']):.1f} MiB vs limit "
          f"{mib(r['memory_limit_bytes']):.1f} MiB (16 MiB + largest fragment); "
          f"peak RSS via {r['rss_method']}, floor {mib(r['rss_floor_bytes']):.1f} MiB "
          f"(/bin/true measured the same way)")
    if k["peak_rss_bytes"] <= r["rss_floor_bytes"] * 1.05:
        print("  (kvsp peak RSS is at the measurement floor: its true peak is at most this)")
    s = r["sanity"]
    print(f"video packets: input {s['input_video_packets']}, kvsp {s['kvsp_video_packets']}, "
          f"ffmpeg {s['ffmpeg_video_packets']}: {'equal' if s['packets_equal'] else 'DIFFERENT'}")
    print()
    t = r["targets"]
    print(f"throughput target (>= {THROUGHPUT_TARGET:g}x ffmpeg): "
          f"{'met' if t['throughput']['met'] else 'NOT met'}")
    print(f"memory target: {'met' if t['memory']['met'] else 'NOT met'}")


def main(argv=None):
    args = parse_args(argv)
    if args.workdir:
        workdir = os.path.abspath(args.workdir)
        if inside(workdir, REPO_ROOT):
            log(f"merge_bench: --workdir must be outside the repository: {workdir}")
            return EXIT_FAILED
        os.makedirs(workdir, exist_ok=True)
        cleanup = False
    else:
        workdir = tempfile.mkdtemp(prefix="kvsp-merge-bench-")
        cleanup = True
    try:
        results = bench(args, workdir)
    except (BenchError, OSError, ValueError, KeyError) as e:
        log(f"merge_bench: {e}")
        return EXIT_FAILED
    finally:
        if cleanup:
            shutil.rmtree(workdir, ignore_errors=True)
    if cleanup:
        results["input"]["path"] = None  # removed with the temporary directory
    if args.json:
        print(json.dumps(results, indent=None, sort_keys=True))
    else:
        print_table(results)
    if not results["sanity"]["packets_equal"]:
        log("merge_bench: the outputs do not carry the same number of video packets")
        return EXIT_FAILED
    if args.check and not all(t["met"] for t in results["targets"].values()):
        return EXIT_TARGET_MISSED
    return 0


if __name__ == "__main__":
    sys.exit(main())
