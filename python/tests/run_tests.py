#!/usr/bin/python3
"""Runs the kvsp package's pytest suite under ctest, with the project's skip
convention (tests/kvsp_testing.py): a run where some test skipped for want
of data or a tool exits 77, or fails with CI=true.

    run_tests.py KVSP_BINARY BUILD_PYTHON_DIR RESOURCES CAPTURES [pytest args]
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests"))
import kvsp_testing  # noqa: E402


class CountSkips:
    def __init__(self):
        self.skipped = []

    def pytest_runtest_logreport(self, report):
        if report.skipped:
            self.skipped.append("%s: %s" % (report.nodeid, report.longrepr[-1]
                                            if isinstance(report.longrepr, tuple) else report.longrepr))


def main():
    try:
        import pytest
    except ImportError:
        sys.exit(kvsp_testing.skip_status("pytest is not installed (python3-pytest)"))
    kvsp, pydir, resources, captures = sys.argv[1:5]
    os.environ.update(KVSP=kvsp, KVSP_RESOURCES=resources, KVSP_CAPTURES_DIR=captures)
    sys.path.insert(0, pydir)
    os.environ["PYTHONPATH"] = os.pathsep.join([pydir, os.environ.get("PYTHONPATH", "")])
    counter = CountSkips()
    rc = pytest.main(["-p", "no:cacheprovider", "-q", HERE] + sys.argv[5:], plugins=[counter])
    if rc != 0:
        sys.exit(1)
    if counter.skipped:
        sys.exit(kvsp_testing.skip_status("; ".join(counter.skipped)))
    sys.exit(0)


if __name__ == "__main__":
    main()
