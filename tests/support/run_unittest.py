"""ctest's command for one integration test file: runs it with unittest and exits
0 when its tests passed, 1 when any failed or errored, and 77 (the tests'
SKIP_RETURN_CODE) when every test in it was skipped, so that a scenario that could
not run on this machine (no kubectl, no network namespaces, no prepared Debian
root) shows as "Skipped" in ctest's summary instead of "Passed".

Usage: python3 support/run_unittest.py integration/test_x.py   (from tests/)
"""
import os
import sys
import unittest

# As `python3 -m unittest` from tests/ would have it: tests/ first on the path, so that
# `integration.test_x` and `support.*` import (a script's own folder is first otherwise).
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log_skips(path, result):
    """Appends one line per skipped test to $KHA_SKIP_LOG (scripts/test.sh prints the
    count per reason at the end): "file<TAB>test<TAB>reason"."""
    log = os.environ.get("KHA_SKIP_LOG")
    if not log or not result.skipped:
        return
    lines = "".join(f"{path}\t{test.id()}\t{' '.join(str(reason).split())}\n" for test, reason in result.skipped)
    with open(log, "a") as f:  # one write: ctest runs files in parallel
        f.write(lines)


def main(path):
    program = unittest.main(module=None, argv=[sys.argv[0], "-v", path], exit=False)
    result = program.result
    log_skips(path, result)
    if not result.wasSuccessful():
        return 1
    skipped = len(result.skipped)
    # A setUpClass that raises SkipTest adds one skip and runs no test.
    if skipped and result.testsRun <= skipped:
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
