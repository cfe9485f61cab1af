#!/usr/bin/python3
"""A kvsp plan's items as Dask tasks, over the Python package.

    plan_dask.py PLAN OUT [--endpoint-url URL] [--region R] [--workers N] [--scheduler ADDR]

The Dask counterpart of `kvsp run PLAN --shard auto --out OUT -- merge`: every item of the plan
(`kvsp plan`) becomes one task that fetches the item's fragments with GetMediaForFragmentList
(kvsp.Client) and merges them into OUT/NAME.mkv (kvsp.merge), written under a temporary name and
renamed when complete. An item whose output exists is skipped, so a failed run is simply run
again. Without --scheduler, a LocalCluster of --workers processes on this machine; with it, the
workers of an existing cluster (each needs the package and a view of OUT).

Only the item (a dict) and the client settings travel to the workers: kvsp.Client is a live
handle and does not pickle, so each task makes its own. Prints one JSON line per item (index,
name, status, bytes).
"""
import argparse
import json
import os


def read_plan(path):
    with open(path) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    header, items = lines[0], lines[1:]
    if 'kvsp_plan' not in header:
        raise SystemExit('%s: not a kvsp plan' % path)
    return header, items


def run_item(item, out, client_settings):
    import kvsp  # imported on the worker

    final = os.path.join(out, item['name'] + '.mkv')
    if os.path.exists(final):
        return {'index': item['index'], 'name': item['name'], 'status': 'skipped'}
    tmp = final + '.part-%d' % os.getpid()
    client = kvsp.Client(**client_settings)
    chunks = client.get_media_for_fragment_list(item['stream'], item['fragments'])
    payload = b''.join(chunks)
    # kvsp merge's WritingApp, so that the files are those of `kvsp run -- merge`
    kvsp.merge(payload, tmp, writing_app='kvsp merge ' + kvsp.library_version)
    os.replace(tmp, final)
    return {'index': item['index'], 'name': item['name'], 'status': 'done', 'bytes': len(payload)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('plan')
    ap.add_argument('out')
    ap.add_argument('--endpoint-url')
    ap.add_argument('--region')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--scheduler', help='address of an existing Dask scheduler')
    a = ap.parse_args()
    from distributed import Client, LocalCluster

    _, items = read_plan(a.plan)
    os.makedirs(a.out, exist_ok=True)
    settings = {'endpoint_url': a.endpoint_url, 'region': a.region}
    if a.scheduler:
        dask, cluster = Client(a.scheduler), None
    else:
        cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1, host='127.0.0.1',
                               dashboard_address=None)
        dask = Client(cluster)
    try:
        futures = dask.map(run_item, items, out=os.path.abspath(a.out), client_settings=settings,
                           pure=False)
        for r in dask.gather(futures):
            print(json.dumps(r), flush=True)
    finally:
        dask.close()
        if cluster:
            cluster.close()


if __name__ == '__main__':
    main()
