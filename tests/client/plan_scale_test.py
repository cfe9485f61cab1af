#!/usr/bin/env python3
"""kvsp plan over a long stream (issue 23: "planning a month of one stream is
seconds"): kvsp serve --repeat makes a day of 2 s fragments (43,200) out of
one capture, and the plan of that day must hold exactly the fragments
botocore's ListFragments lists for the same range from the same server, in
producer-time order, cut into items of --batch-fragments, with their bytes.
The month figure is bench/plan_bench.py's (BENCHMARKS.md); no timing here.

usage: plan_scale_test.py KVSP CAPTURES_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import kvsp_server  # noqa: E402
import kvsp_testing  # noqa: E402

KVSP = CAPTURES = None
TIMEOUT = 120
# output_get_media.mkv: 5 fragments of 2 s (its README); 8,640 copies: a day
CAPTURE, REPEAT = 'output_get_media.mkv', 8640
BASE = 1700000000  # kvsp serve's default start time
DAY = 86400


class PlanDay(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='kvsp-plan-scale-')
        root = os.path.join(cls.tmp, 'root')
        os.mkdir(root)
        os.symlink(os.path.join(CAPTURES, CAPTURE), os.path.join(root, 'cam.mkv'))
        cls.server = kvsp_server.KvspServer(KVSP, root, '--repeat', str(REPEAT), timeout=TIMEOUT)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def botocore_listing(self, start, end):
        import botocore.session
        client = botocore.session.get_session().create_client(
            'kinesis-video-archived-media', region_name='us-west-2', endpoint_url=self.server.url,
            aws_access_key_id='AKIDPLANSCALE', aws_secret_access_key='plan/scale/secret')
        pages = client.get_paginator('list_fragments').paginate(
            StreamName='cam', PaginationConfig={'PageSize': 1000},
            FragmentSelector={'FragmentSelectorType': 'PRODUCER_TIMESTAMP',
                              'TimestampRange': {'StartTimestamp': start, 'EndTimestamp': end}})
        out, sizes = [], []
        for page in pages:
            sizes.append(len(page['Fragments']))
            out += page['Fragments']
        return out, sizes

    def test_day_plan_is_botocore_listing(self):
        # the range starts and ends inside the stream's day (and not on a fragment)
        start, end = BASE + 3601.5, BASE + 3601.5 + DAY - 7200
        listed, page_sizes = self.botocore_listing(start, end)
        self.assertEqual(len(listed), (DAY - 7200) // 2)
        self.assertTrue(all(n == 1000 for n in page_sizes[:-1]), 'pages of 1000')
        numbers = [f['FragmentNumber'] for f in listed]
        self.assertNotEqual(numbers, sorted(numbers, key=int), 'the server lists unordered')
        self.assertEqual(len(set(numbers)), len(numbers))
        listed.sort(key=lambda f: (f['ProducerTimestamp'], int(f['FragmentNumber'])))
        path = os.path.join(self.tmp, 'day.jsonl')
        env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
        env.update(AWS_ACCESS_KEY_ID='AKIDPLANSCALE', AWS_SECRET_ACCESS_KEY='plan/scale/secret',
                   AWS_REGION='us-west-2', AWS_EC2_METADATA_DISABLED='true', HOME=self.tmp)
        r = subprocess.run([KVSP, 'plan', '--stream', 'cam', '--from', repr(start), '--to', repr(end),
                            '--batch-fragments', '100', '--endpoint-url', self.server.url, '-o', path],
                           capture_output=True, timeout=TIMEOUT, env=env)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors='replace'))
        with open(path) as f:
            header, *items = [json.loads(line) for line in f]
        self.assertEqual(header['items'], len(items))
        self.assertEqual(len(items), -(-len(listed) // 100))
        planned = [n for i in items for n in i['fragments']]
        self.assertEqual(planned, [f['FragmentNumber'] for f in listed])
        k = 0
        for item in items:
            mine = listed[k:k + len(item['fragments'])]
            k += len(mine)
            self.assertEqual(item['bytes'], sum(f['FragmentSizeInBytes'] for f in mine))
            self.assertEqual(item['first_producer_ms'], round(mine[0]['ProducerTimestamp'].timestamp() * 1000))
            self.assertEqual(item['last_server_ms'], round(mine[-1]['ServerTimestamp'].timestamp() * 1000))


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    KVSP, CAPTURES = sys.argv[1], sys.argv[2]
    del sys.argv[1:]
    if not os.path.isfile(os.path.join(CAPTURES, CAPTURE)):
        kvsp_testing.skip('no captures folder: ' + CAPTURES)
    kvsp_testing.main()
