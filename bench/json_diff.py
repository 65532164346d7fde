#!/usr/bin/env python3
"""json_diff.py A B: how two JSON response bodies differ (bench/rollups.sh): prints "identical", or the
number of differing values, whether every difference is in the last digits of a double (relative 1e-12),
and the first difference."""
import json
import math
import sys


def leaves(v, path=""):
    if isinstance(v, dict):
        for k, x in v.items():
            yield from leaves(x, f"{path}.{k}")
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from leaves(x, f"{path}[{i}]")
    else:
        yield path, v


with open(sys.argv[1], "rb") as fa, open(sys.argv[2], "rb") as fb:
    raw_a, raw_b = fa.read(), fb.read()
if raw_a == raw_b:
    print("identical")
    sys.exit(0)
a, b = list(leaves(json.loads(raw_a))), list(leaves(json.loads(raw_b)))
same_shape = len(a) == len(b) and all(p == q for (p, _), (q, _) in zip(a, b))
diff = [(p, x, y) for (p, x), (q, y) in zip(a, b) if p != q or x != y]
last_digits = same_shape and all(
    isinstance(x, float) and isinstance(y, float) and math.isclose(x, y, rel_tol=1e-12)
    for _, x, y in diff)
first = f"; first {diff[0][0]}: {diff[0][1]!r} vs {diff[0][2]!r}" if diff else ""
print(f"DIFFERENT: {len(diff)} of {len(a)} values, "
      f"{'all in the last digits of doubles' if last_digits else 'NOT only in last digits'}{first}")
