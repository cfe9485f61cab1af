#!/usr/bin/env python3
"""The shape of examples/scale-out/ (these cannot run here): the AWS Batch
job definition and array submission validated against botocore's Batch
service model (the inputs of RegisterJobDefinition and SubmitJob), the
Kubernetes Indexed Job parsed with PyYAML, and in each the kvsp command
and the array size agreeing.

usage: scale_out_examples_test.py EXAMPLES_DIR
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import kvsp_testing  # noqa: E402

DIR = None
SUBCOMMANDS = {'merge', 'fragments', 'frames', 'audio'}


def option(command, name):
    return command[command.index(name) + 1]


class Examples(unittest.TestCase):
    def check_run_command(self, command):
        self.assertEqual(command[:2], ['kvsp', 'run'])
        self.assertEqual(option(command, '--shard'), 'auto')
        self.assertIn('--out', command)
        self.assertIn(command[command.index('--') + 1], SUBCOMMANDS)

    def load(self, *path):
        with open(os.path.join(DIR, *path)) as f:
            return json.load(f)

    def test_aws_batch(self):
        try:
            import botocore.session
            from botocore.validate import ParamValidator
        except ImportError:
            kvsp_testing.skip('no botocore (python3-botocore)')
        model = botocore.session.get_session().get_service_model('batch')
        definition = self.load('aws-batch', 'job-definition.json')
        submit = self.load('aws-batch', 'submit-array.json')
        for op, params in (('RegisterJobDefinition', definition), ('SubmitJob', submit)):
            report = ParamValidator().validate(params, model.operation_model(op).input_shape)
            self.assertFalse(report.has_errors(), op + ': ' + report.generate_report())
        command = definition['containerProperties']['command']
        self.check_run_command(command)
        # Batch does not tell a child the array size: the command must
        shards = option(command, '--shard-count')
        self.assertTrue(shards.startswith('Ref::'))
        self.assertEqual(int(submit['parameters'][shards[5:]]), submit['arrayProperties']['size'])
        self.assertEqual(submit['jobDefinition'], definition['jobDefinitionName'])
        for ref in (c[5:] for c in command if c.startswith('Ref::')):
            self.assertIn(ref, submit['parameters'])
        mounts = [m['containerPath'] for m in definition['containerProperties']['mountPoints']]
        for ref in ('plan', 'out'):
            self.assertTrue(any(submit['parameters'][ref].startswith(m + '/') for m in mounts),
                            ref + ' on the shared volume')

    def test_kubernetes_indexed_job(self):
        try:
            import yaml
        except ImportError:
            kvsp_testing.skip('no PyYAML (python3-yaml)')
        with open(os.path.join(DIR, 'kubernetes', 'indexed-job.yaml')) as f:
            (job,) = list(yaml.safe_load_all(f))
        self.assertEqual((job['apiVersion'], job['kind']), ('batch/v1', 'Job'))
        spec = job['spec']
        self.assertEqual(spec['completionMode'], 'Indexed')
        self.assertLessEqual(spec['parallelism'], 5, 'KVS allows 5 connections per stream')
        pod = spec['template']['spec']
        self.assertIn(pod['restartPolicy'], ('Never', 'OnFailure'))
        (container,) = pod['containers']
        command = container['command']
        self.assertTrue(all(isinstance(c, str) for c in command))
        self.check_run_command(command)
        self.assertEqual(int(option(command, '--shard-count')), spec['completions'])
        mounts = [m['mountPath'] for m in container['volumeMounts']]
        self.assertTrue(any(option(command, '--out').startswith(m + '/') for m in mounts))
        claims = {v['name'] for v in pod['volumes'] if 'persistentVolumeClaim' in v}
        self.assertEqual({m['name'] for m in container['volumeMounts']}, claims)

    def test_slurm_script(self):
        with open(os.path.join(DIR, 'slurm', 'kvsp-array.sbatch')) as f:
            text = f.read()
        self.assertTrue(text.startswith('#!/bin/bash\n'))
        self.assertIn('--shard auto', text)
        self.assertTrue(os.access(os.path.join(DIR, 'slurm', 'kvsp-array.sbatch'), os.X_OK))


if __name__ == '__main__':
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    DIR = sys.argv[1]
    kvsp_testing.main(argv=[sys.argv[0], *sys.argv[2:]], verbosity=2)
