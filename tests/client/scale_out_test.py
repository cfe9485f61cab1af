#!/usr/bin/env python3
"""kvsp plan and kvsp run over kvsp serve: the manifest, the sharding, the
shard index from each engine's environment, --status, re-runs; and (part
Slurm) a real Slurm job array on a single-node cluster started by
scripts/slurm-cluster.sh.

usage: scale_out_test.py KVSP SOURCE_DIR CAPTURES_DIR Plan|Slurm|Dask
"""
import fcntl
import filecmp
import glob
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import kvsp_server  # noqa: E402
import kvsp_testing  # noqa: E402

KVSP = SOURCE = CAPTURES = None
TIMEOUT = 60
# Stream -> capture; the README of the captures gives their cluster counts
# (each Cluster is a fragment in kvsp serve): the oracle for the plan.
STREAMS = {'cam1': ('clusters.mkv', 8), 'cam2': ('bezos_vogels.mkv', 5)}
FROM, TO = '1699999999', '1700003600'
# A stream whose codec private data changes: 5 fragments of 640x360 H.264
# (300 frames), then 8 of 640x480 (444 frames), per the captures' README.
MIX = (('output_get_media.mkv', 640, 360, 300), ('kinesis_video_renderer_example_output.mkv', 640, 480, 444))


def env(home, **more):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(('AWS_', 'SLURM_', 'JOB_COMPLETION_INDEX'))}
    e.update(AWS_ACCESS_KEY_ID='AKIDSCALEOUT', AWS_SECRET_ACCESS_KEY='scale/out/secret',
             AWS_REGION='us-west-2', AWS_EC2_METADATA_DISABLED='true', HOME=home)
    e.update(more)
    return e


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='kvsp-scale-out-')
        root = os.path.join(cls.tmp, 'root')
        os.mkdir(root)
        for name, (capture, _) in STREAMS.items():
            os.symlink(os.path.join(CAPTURES, capture), os.path.join(root, name + '.mkv'))
        with open(os.path.join(root, 'mix.mkv'), 'wb') as mix:
            for capture, *_ in MIX:
                with open(os.path.join(CAPTURES, capture), 'rb') as f:
                    shutil.copyfileobj(f, mix)
        cls.server = kvsp_server.KvspServer(KVSP, root)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def kvsp(self, *args, expect=0, **more):
        r = subprocess.run([KVSP, *args], capture_output=True, timeout=TIMEOUT,
                           env=env(self.tmp, **more))
        if expect is not None:
            self.assertEqual(r.returncode, expect, r.stderr.decode(errors='replace'))
        return r

    def plan(self, path, *extra):
        self.kvsp('plan', '--stream', 'cam1', '--stream', 'cam2', '--from', FROM, '--to', TO,
                  '--endpoint-url', self.server.url, '-o', path, *extra)
        with open(path) as f:
            lines = [json.loads(line) for line in f]
        return lines[0], lines[1:]

    def run_shard(self, plan, shard, out, *sub, expect=0, **more):
        return self.kvsp('run', plan, '--shard', shard, '--out', out,
                         '--endpoint-url', self.server.url, '--', *(sub or ('merge',)),
                         expect=expect, **more)

    def results(self, out):
        lines = []
        for path in glob.glob(os.path.join(out, 'results-*.jsonl')):
            with open(path) as f:
                lines += [json.loads(line) for line in f]
        return lines

    def status(self, plan, out):
        r = self.kvsp('run', '--status', plan, out, expect=None)
        return r.returncode, json.loads(r.stdout)

    def outputs(self, out):
        return sorted(n for n in os.listdir(out) if not n.startswith(('results-', '.')))


class Plan(Base):
    def test_manifest(self):
        path = os.path.join(self.tmp, 'p2.jsonl')
        header, items = self.plan(path, '--batch-fragments', '3')
        with open(path, 'rb') as f:
            first = f.read()
        self.plan(path, '--batch-fragments', '3')
        with open(path, 'rb') as f:
            self.assertEqual(f.read(), first, 'the same listing gives the same plan')
        self.assertEqual(header['streams'], ['cam1', 'cam2'])
        self.assertEqual(header['items'], len(items))
        self.assertEqual(header['batch'], {'fragments': 3})
        self.assertEqual(header['limits_per_stream'], {'connections': 5, 'fragments_per_second': 500.0})
        self.assertEqual([i['index'] for i in items], list(range(len(items))))
        for name, (_, clusters) in STREAMS.items():
            mine = [i for i in items if i['stream'] == name]
            frags = [f for i in mine for f in i['fragments']]
            self.assertEqual(len(frags), clusters, name)
            self.assertEqual(frags, sorted(frags, key=int), 'fragments in order')
            self.assertEqual(len(mine), -(-clusters // 3))
            self.assertTrue(all(len(i['fragments']) <= 3 for i in mine))
            starts = [i['first_producer_ms'] for i in mine]
            self.assertEqual(starts, sorted(starts))
        self.assertEqual(len({i['name'] for i in items}), len(items), 'names unique')
        self.kvsp('plan', '--stream', 'cam1', '--from', 'yesterday', '--to', TO, '-o', path,
                  '--endpoint-url', self.server.url, expect=2)
        # the same range in ISO 8601 (1699999999 is 2023-11-14T22:13:19Z): the same plan
        iso = os.path.join(self.tmp, 'iso.jsonl')
        self.kvsp('plan', '--stream', 'cam1', '--stream', 'cam2', '--from', '2023-11-14T22:13:19Z',
                  '--to', '2023-11-14T23:13:20+00:00', '--endpoint-url', self.server.url, '-o', iso,
                  '--batch-fragments', '3')
        with open(iso, 'rb') as f:
            self.assertEqual(f.read(), first, 'ISO 8601 --from/--to give the epoch-second plan')
        r = self.kvsp('run', path, '--shard', '0/1', '--', 'inspect', expect=2)
        self.assertIn(b'not \'inspect\'', r.stderr)
        # by duration: cam1's clusters are ~2 s apart, so 5 s holds 3
        _, by_time = self.plan(path, '--batch-duration', '5')
        self.assertEqual([len(i['fragments']) for i in by_time if i['stream'] == 'cam1'], [3, 3, 2])

    def test_shards_cover_every_item_once(self):
        path = os.path.join(self.tmp, 'p1.jsonl')
        _, items = self.plan(path, '--batch-fragments', '1')
        self.assertEqual(len(items), 13)
        for n in range(1, 6):
            seen = []
            for i in range(n):
                r = self.kvsp('run', path, '--shard', '%d/%d' % (i, n), '--list')
                seen += [int(line.split()[0]) for line in r.stdout.decode().splitlines()]
            self.assertEqual(sorted(seen), list(range(len(items))), 'N=%d' % n)

    def listed(self, path, **environment):
        r = self.kvsp('run', path, '--shard', 'auto', '--list', **environment)
        return [int(line.split()[0]) for line in r.stdout.decode().splitlines()]

    def test_auto_shard_from_the_environment(self):
        path = os.path.join(self.tmp, 'p3.jsonl')
        self.plan(path, '--batch-fragments', '1', '--shards', '4')
        self.assertEqual(self.listed(path, SLURM_ARRAY_TASK_ID='2', SLURM_ARRAY_TASK_COUNT='5'), [2, 7, 12])
        self.assertEqual(self.listed(path, SLURM_ARRAY_TASK_ID='3', SLURM_ARRAY_TASK_COUNT='5',
                                     SLURM_ARRAY_TASK_MIN='1'), [2, 7, 12])
        self.assertEqual(self.listed(path, AWS_BATCH_JOB_ARRAY_INDEX='1'), [1, 5, 9])  # plan --shards 4
        r = self.kvsp('run', path, '--shard', 'auto', '--shard-count', '6', '--list',
                      AWS_BATCH_JOB_ARRAY_INDEX='1')
        self.assertEqual(r.stdout.decode().split()[::2], ['1', '7'])
        self.assertEqual(self.listed(path, JOB_COMPLETION_INDEX='0'), [0, 4, 8, 12])
        r = self.kvsp('run', path, '--shard', 'auto', '--list', expect=2)
        self.assertIn(b'SLURM_ARRAY_TASK_ID', r.stderr)
        noshards = os.path.join(self.tmp, 'p4.jsonl')
        self.plan(noshards, '--batch-fragments', '1')
        r = self.kvsp('run', noshards, '--shard', 'auto', '--list', expect=2, JOB_COMPLETION_INDEX='0')
        self.assertIn(b'--shard-count', r.stderr)
        self.kvsp('run', noshards, '--shard', '4/4', '--list', expect=2)

    def test_status_rerun_and_failures(self):
        path = os.path.join(self.tmp, 'p5.jsonl')
        _, items = self.plan(path, '--batch-fragments', '2')
        out = os.path.join(self.tmp, 'out5')
        self.assertEqual(self.status(path, out), (1, {'items': 7, 'done': 0, 'failed': 0, 'missing': 7}))
        self.run_shard(path, '0/2', out)
        self.assertEqual(self.status(path, out)[1], {'items': 7, 'done': 4, 'failed': 0, 'missing': 3})
        # a leftover of a killed task goes; a usage error in the subcommand fails every item
        leftover = os.path.join(out, '.%s.part-1.mkv' % items[1]['name'])
        open(leftover, 'w').close()
        self.run_shard(path, '1/2', out, 'merge', '--on-change', 'bogus', expect=1)
        self.assertFalse(os.path.exists(leftover))
        self.assertEqual(self.status(path, out)[1], {'items': 7, 'done': 4, 'failed': 3, 'missing': 0})
        failed = [r for r in self.results(out) if r['status'] == 'failed']
        self.assertEqual(sorted(r['index'] for r in failed), [1, 3, 5])
        self.assertTrue(all(r['attempts'] == 3 and 'exited with 2' in r['error'] for r in failed))
        self.run_shard(path, '1/2', out)
        self.assertEqual(self.status(path, out), (0, {'items': 7, 'done': 7, 'failed': 0, 'missing': 0}))
        before = self.results(out)
        self.run_shard(path, '0/2', out)
        self.assertEqual(self.results(out), before, 'a re-run of a done shard adds nothing')
        self.assertEqual(self.outputs(out), sorted(i['name'] + '.mkv' for i in items))
        ok = [r for r in before if r['status'] == 'ok']
        self.assertEqual(sorted(r['index'] for r in ok), list(range(7)))
        for r in ok:
            self.assertEqual(r['bytes'], os.path.getsize(os.path.join(out, r['name'] + '.mkv')))
        # a merged output holds every frame of its fragments (ffprobe's count as the oracle)
        if shutil.which('ffprobe'):
            one = os.path.join(out, items[0]['name'] + '.mkv')
            p = subprocess.run(['ffprobe', '-v', 'error', '-count_packets', '-show_entries',
                                'stream=nb_read_packets', '-of', 'csv=p=0', one],
                               capture_output=True, timeout=TIMEOUT, check=True)
            self.assertEqual(int(p.stdout), 118)  # 2 clusters of clusters.mkv: 59 + 59 frames

    def test_fragments_and_frames_outputs(self):
        path = os.path.join(self.tmp, 'p6.jsonl')
        _, items = self.plan(path, '--batch-fragments', '4')
        out = os.path.join(self.tmp, 'out6')
        self.run_shard(path, '0/1', out, 'fragments')
        for i in items:
            with open(os.path.join(out, i['name'] + '.jsonl')) as f:
                got = [json.loads(line) for line in f]
            self.assertEqual([g['fragment_number'] for g in got], i['fragments'])
        out = os.path.join(self.tmp, 'out7')
        self.run_shard(path, '0/4', out, 'frames', '--keyframes', '--format', 'ppm')
        first = os.path.join(out, items[0]['name'])
        self.assertTrue(os.path.isdir(first))
        (line,) = self.results(out)
        self.assertEqual(line['frames'], len([n for n in os.listdir(first) if n.endswith('.ppm')]))
        self.assertEqual(line['frames'], 4)  # one keyframe per cluster

    def test_codec_change_outputs_tracked(self):
        """An item across a codec change: merge --on-change new-file writes
        NAME.mkv and NAME.1.mkv; both are renamed from temporary names,
        listed in the results line, and a re-run and --status look at both."""
        if not shutil.which('ffprobe'):
            self.skipTest('ffprobe not installed')
        path = os.path.join(self.tmp, 'p9.jsonl')
        self.kvsp('plan', '--stream', 'mix', '--from', FROM, '--to', TO, '--batch-fragments', '100',
                  '--endpoint-url', self.server.url, '-o', path)
        with open(path) as f:
            (item,) = [json.loads(line) for line in f][1:]
        self.assertEqual(len(item['fragments']), 13)
        out = os.path.join(self.tmp, 'out9')
        self.run_shard(path, '0/1', out, 'merge', '--on-change', 'new-file')
        names = [item['name'] + '.mkv', item['name'] + '.1.mkv']
        self.assertEqual(self.outputs(out), sorted(names), 'no temporary names left')
        for name, (_, width, height, frames) in zip(names, MIX):
            p = subprocess.run(['ffprobe', '-v', 'error', '-count_packets', '-select_streams', 'v:0',
                                '-show_entries', 'stream=width,height,nb_read_packets', '-of', 'json',
                                os.path.join(out, name)], capture_output=True, timeout=TIMEOUT, check=True)
            (stream,) = json.loads(p.stdout)['streams']
            self.assertEqual((stream['width'], stream['height'], int(stream['nb_read_packets'])),
                             (width, height, frames), name)
        (line,) = self.results(out)
        self.assertEqual(line['status'], 'ok')
        self.assertEqual(line['outputs'], names)
        self.assertEqual(line['bytes'], sum(os.path.getsize(os.path.join(out, n)) for n in names))
        self.run_shard(path, '0/1', out, 'merge', '--on-change', 'new-file')
        self.assertEqual(len(self.results(out)), 1, 'complete: skipped, no second line')
        # an output other than the first is lost: the item is not done, and is made again
        extra = os.path.join(out, names[1])
        os.remove(extra)
        self.assertEqual(self.status(path, out), (1, {'items': 1, 'done': 0, 'failed': 0, 'missing': 1}))
        self.run_shard(path, '0/1', out, 'merge', '--on-change', 'new-file')
        self.assertTrue(os.path.isfile(extra))
        self.assertEqual(self.status(path, out), (0, {'items': 1, 'done': 1, 'failed': 0, 'missing': 0}))
        self.assertEqual([r['outputs'] for r in self.results(out)], [names, names])
        # killed after the renames, before its results line: recovered with both outputs
        os.remove(os.path.join(out, 'results-0-of-1.jsonl'))
        self.run_shard(path, '0/1', out, 'merge', '--on-change', 'new-file')
        (line,) = self.results(out)
        self.assertTrue(line['recovered'])
        self.assertEqual(line['outputs'], names)
        self.assertEqual(line['bytes'], sum(os.path.getsize(os.path.join(out, n)) for n in names))

    def test_connections_shared_through_lock_files(self):
        path = os.path.join(self.tmp, 'p8.jsonl')
        self.plan(path, '--batch-fragments', '8', '--connections', '2')
        out = os.path.join(self.tmp, 'out8')
        slots = os.path.join(out, '.kvsp-connections')
        os.makedirs(slots)
        held = []
        for k in range(2):  # another task holds both of cam1's connections
            f = open(os.path.join(slots, 'stream-0-%d' % k), 'w')
            fcntl.flock(f, fcntl.LOCK_EX)
            held.append(f)
        p = subprocess.Popen([KVSP, 'run', path, '--shard', '0/1', '--out', out, '--endpoint-url',
                              self.server.url, '--', 'fragments'], env=env(self.tmp),
                             stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        try:
            line = b''
            ready, _, _ = select.select([p.stderr], [], [], TIMEOUT)
            if ready:
                line = p.stderr.readline()
            self.assertIn(b'stream cam1: all 2 connections in use by other tasks, waiting', line)
            self.assertEqual(self.outputs(out), [], 'nothing fetched while the slots are held')
            for f in held:
                f.close()  # the other task ends: its locks go
            p.stderr.read()
            self.assertEqual(p.wait(timeout=TIMEOUT), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stderr.close()
        self.assertEqual(self.status(path, out)[1], {'items': 2, 'done': 2, 'failed': 0, 'missing': 0})


class Slurm(Base):
    """sbatch --array=0-3 --wait of `kvsp run --shard auto -- merge`."""

    def setUp(self):
        for tool in ('munged', 'slurmctld', 'slurmd', 'sbatch'):
            if not shutil.which(tool) and not os.path.exists('/usr/sbin/' + tool):
                kvsp_testing.skip('no %s (Debian slurm-wlm, munge)' % tool)
        os.environ['PATH'] = os.environ.get('PATH', '') + ':/usr/sbin'
        self.cluster = os.path.join(self.tmp, 'cluster')
        self.script = os.path.join(SOURCE, 'scripts', 'slurm-cluster.sh')
        subprocess.run([self.script, 'start', self.cluster], check=True, timeout=TIMEOUT,
                       stdout=subprocess.DEVNULL)
        self.addCleanup(subprocess.run, [self.script, 'stop', self.cluster], timeout=TIMEOUT)

    def sbatch(self, job, plan, out):
        e = env(self.tmp, SLURM_CONF=os.path.join(self.cluster, 'slurm.conf'),
                KVSP=KVSP, PLAN=plan, OUT=out, URL=self.server.url)
        logs = os.path.join(self.tmp, 'log-%a.txt')
        return subprocess.run(['sbatch', '--array=0-3', '--wait', '-o', logs, '-e', logs, job],
                              env=e, capture_output=True, timeout=120)

    def logs(self):
        text = ''
        for path in sorted(glob.glob(os.path.join(self.tmp, 'log-*.txt'))):
            with open(path, errors='replace') as f:
                text += '%s:\n%s\n' % (path, f.read()[-2000:])
        return text

    def test_array_job(self):
        plan = os.path.join(self.tmp, 'plan.jsonl')
        # 13 items of 1 fragment; task 1 has items 1 and 5 of cam1, then 9 of
        # cam2. At 2 fragments/s per stream for the job (0.5 per task) item 5
        # waits 2 s after item 1, so the kill below lands between them.
        _, items = self.plan(plan, '--batch-fragments', '1', '--fragment-rate', '2')
        self.assertEqual([items[i]['stream'] for i in (1, 5, 9)], ['cam1', 'cam1', 'cam2'])
        ref = os.path.join(self.tmp, 'one-process')
        self.run_shard(plan, '0/1', ref)
        out = os.path.join(self.tmp, 'array')
        jobs = os.path.join(self.tmp, 'jobs')
        os.mkdir(jobs)
        killer = os.path.join(jobs, 'killed.sh')
        with open(killer, 'w') as f:
            f.write('#!/bin/bash\n'
                    '# task 1 is killed (SIGKILL) after its first item\n'
                    '"$KVSP" run "$PLAN" --shard auto --out "$OUT" --endpoint-url "$URL" -- merge &\n'
                    'pid=$!\n'
                    'if [ "$SLURM_ARRAY_TASK_ID" = 1 ]; then\n'
                    '  r="$OUT/results-1-of-4.jsonl"\n'
                    '  for i in $(seq 600); do [ -s "$r" ] && break; sleep 0.05; done\n'
                    '  kill -KILL $pid\n'
                    'fi\n'
                    'wait $pid\n')
        plain = os.path.join(SOURCE, 'examples', 'scale-out', 'slurm', 'kvsp-array.sbatch')
        r = self.sbatch(killer, plan, out)
        self.assertNotEqual(r.returncode, 0, 'a task was killed: ' + self.logs())
        self.assertEqual(self.status(plan, out), (1, {'items': 13, 'done': 11, 'failed': 0, 'missing': 2}))
        r = self.sbatch(plain, plan, out)
        self.assertEqual(r.returncode, 0, r.stderr.decode() + self.logs())
        self.assertEqual(self.status(plan, out), (0, {'items': 13, 'done': 13, 'failed': 0, 'missing': 0}))
        self.assertEqual(self.outputs(out), self.outputs(ref))
        self.assertEqual(len(self.outputs(ref)), len(items))
        match, mismatch, errors = filecmp.cmpfiles(ref, out, self.outputs(ref), shallow=False)
        self.assertEqual((mismatch, errors), ([], []))
        ok = sorted(r['index'] for r in self.results(out) if r['status'] == 'ok')
        self.assertEqual(ok, list(range(len(items))), 'one results line per item, none twice')
        self.assertEqual([n for n in os.listdir(out) if n.startswith('.') and n != '.kvsp-connections'], [],
                         'no temporary files left')



class Dask(Base):
    def test_plan_as_dask_tasks(self):
        # examples/scale-out/dask/plan_dask.py on a LocalCluster writes the files `kvsp run --
        # merge` writes, byte for byte, and a second run skips every item.
        plan = os.path.join(self.tmp, 'dask-plan.jsonl')
        _, items = self.plan(plan, '--batch-fragments', '3')
        ref, out = os.path.join(self.tmp, 'dask-ref'), os.path.join(self.tmp, 'dask-out')
        self.run_shard(plan, '0/1', ref)
        script = os.path.join(SOURCE, 'examples', 'scale-out', 'dask', 'plan_dask.py')
        py_env = env(self.tmp, PYTHONPATH=os.path.join(os.path.dirname(KVSP), 'python'))
        probe = subprocess.run([sys.executable, '-c', 'import kvsp, distributed'], env=py_env,
                               capture_output=True)
        if probe.returncode != 0:
            kvsp_testing.skip('the Python package or Dask cannot be imported: %s' % probe.stderr.decode())
        cmd = [sys.executable, script, plan, out, '--endpoint-url', self.server.url, '--workers', '2']
        r = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, env=py_env)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors='replace'))
        lines = [json.loads(line) for line in r.stdout.decode().splitlines()]
        self.assertEqual(sorted(l['index'] for l in lines if l['status'] == 'done'), list(range(len(items))))
        names = sorted(os.listdir(out))
        self.assertEqual(names, sorted(i['name'] + '.mkv' for i in items))
        self.assertEqual(names, self.outputs(ref))
        match, mismatch, errors = filecmp.cmpfiles(ref, out, names, shallow=False)
        self.assertEqual((mismatch, errors), ([], []))
        r = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, env=py_env)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors='replace'))
        self.assertEqual({json.loads(line)['status'] for line in r.stdout.decode().splitlines()}, {'skipped'})


if __name__ == '__main__':
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    KVSP, SOURCE, CAPTURES = sys.argv[1:4]
    if not os.path.isfile(os.path.join(CAPTURES, 'clusters.mkv')):
        kvsp_testing.skip('no captures in %s' % CAPTURES)
    kvsp_testing.main(argv=[sys.argv[0], *sys.argv[4:]], verbosity=2)
