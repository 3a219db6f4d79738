#!/usr/bin/env python3
"""skip_summary.py LOG TITLE: prints how many tests were skipped and why, from the lines
tests/support/run_unittest.py appended to LOG ("file<TAB>test<TAB>reason")."""
import collections
import sys

path, title = sys.argv[1], sys.argv[2]
try:
    rows = [line.rstrip("\n").split("\t", 2) for line in open(path) if line.count("\t") >= 2]
except FileNotFoundError:
    rows = []
reasons = collections.Counter(reason for _, _, reason in rows)
print(f"{title}: {len(rows)} tests skipped" + (":" if rows else ""))
for reason, count in reasons.most_common():
    files = sorted({f for f, _, r in rows if r == reason})
    print(f"  {count:4d}  {reason}  ({', '.join(files)})")
