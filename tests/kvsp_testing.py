"""The skip convention of kvsparser's tests (README, Tests), Python side.

A test that cannot run for want of data or a tool says why and exits 77,
which ctest counts as skipped (every test has SKIP_RETURN_CODE 77). With
CI=true in the environment a skip is a failure (exit 1, "CI: cannot skip:
why"), unless ctest marked the test allowed to skip (KVSP_SKIP_ALLOWED=1,
given to the tests named in tests/allowed_skips.txt). The C side is
kvsp_test_skip and its companions in tests/test_util.c.

    import kvsp_testing
    kvsp_testing.skip('no captures folder')     # the whole test: exits
    kvsp_testing.skipped_part('captures absent, fixtures only')
                                                # a part not run: the run ends in a skip
    kvsp_testing.main(argv=..., verbosity=2)    # unittest.main, exiting with status()
    sys.exit(kvsp_testing.status(result))       # a unittest result: 1, 77 or 0

A unittest case skips the usual way (unittest.SkipTest, skipTest, skipIf);
status() turns those into the test's skip.

    python3 kvsp_testing.py missing WHAT        # the command of a test registered
                                                # without WHAT it needs (CMake)
"""

import os
import sys
import unittest

SKIPPED = 77

_parts = []


def skip_is_failure():
    return os.environ.get('CI') == 'true' and os.environ.get('KVSP_SKIP_ALLOWED') != '1'


def skip_status(why, allowed=True):
    """Says why the test skips and returns its exit status: 77, or 1 in CI
    (also for an allowed test when allowed is False)."""
    if skip_is_failure() or (not allowed and os.environ.get('CI') == 'true'):
        print('CI: cannot skip: ' + why, flush=True)
        return 1
    print('SKIP: ' + why, flush=True)
    return SKIPPED


def skip(why):
    """The whole test cannot run: exits with skip_status."""
    sys.exit(skip_status(why))


def skipped_part(why):
    """Notes a part of the test that cannot run; status() then gives a skip."""
    if why not in _parts:
        print('skipped: ' + why, flush=True)
        _parts.append(why)


def status(result=None):
    """The exit status of a run: 1 when the unittest result (if any) failed,
    else a skip when a case or a part was skipped, else 0."""
    reasons = list(_parts)
    if result is not None:
        if not result.wasSuccessful():
            return 1
        reasons += ['%s: %s' % (case.id(), why) for case, why in result.skipped]
    if not reasons:
        return 0
    return skip_status('; '.join(reasons))


def main(**kwargs):
    """unittest.main (its keyword arguments), exiting with status()."""
    program = unittest.main(exit=False, **kwargs)
    sys.exit(status(program.result))


if __name__ == '__main__':
    if len(sys.argv) != 3 or sys.argv[1] != 'missing':
        sys.exit('usage: kvsp_testing.py missing WHAT')
    # A missing library or tool fails in CI even for a test allowed to skip:
    # the allowed reasons are the test's own, not an incomplete install.
    sys.exit(skip_status('not built: %s not found when CMake configured this build' % sys.argv[2],
                         allowed=False))
