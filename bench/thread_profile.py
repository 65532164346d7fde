#!/usr/bin/env python3
"""Where dcmon serve's CPU goes under HTTP ingest, by thread role, from `perf script -F tid,ip,sym`.

A thread's role is read from its stacks (what most of its samples run); each role's samples are turned into CPU
seconds per million records (samples / HZ / RECORDS * 1e6). Prints one `role<TAB>value` line per role, then
`HTTP side<TAB>value` (the I/O threads, the ingest workers and the producer's librdkafka thread).

  perf script -i perf.data -F tid,ip,sym --no-inline | bench/thread_profile.py HZ RECORDS
"""
import collections
import sys

# (role, test on the thread's stacks): the first role whose test holds names the thread.
ROLES = [
    ("HTTP I/O threads", lambda has: has("HttpServer::Start")),
    ("ingest workers", lambda has: has("WorkerPool::Run")),
    ("loader commit thread", lambda has: has("Loader::CommitLoop")),
    ("loader poll+decode thread, on_commit hooks", lambda has: has("Loader::RunOnce")),
    ("alert runtime", lambda has: has("alert::Runtime::Run")),
]
HTTP = {"HTTP I/O threads", "ingest workers", "producer librdkafka thread"}


def main():
    hz, records = float(sys.argv[1]), float(sys.argv[2])
    stacks = collections.defaultdict(list)  # tid -> [set of frames per sample]
    frames = None
    for line in sys.stdin:
        if not line.strip():
            continue
        if not line.startswith("\t"):
            frames = set()
            stacks[line.split()[0]].append(frames)
        elif frames is not None:
            parts = line.split(None, 1)
            if len(parts) > 1:
                frames.add(parts[1].strip())
    totals = collections.Counter()
    for samples in stacks.values():
        counts = collections.Counter(f for s in samples for f in s)

        def has(name):
            return any(name in f and c > len(samples) * 0.3 for f, c in counts.items())

        role = next((r for r, test in ROLES if test(has)), "other (DuckDB tasks, librdkafka main)")
        # A librdkafka broker thread (no dcmon frames) compresses (producer) or decompresses (consumer) in a
        # minority of its samples: the more frequent of the two names it.
        if role.startswith("other"):
            comp = sum(c for f, c in counts.items() if f.startswith("LZ4F_compress"))
            decomp = sum(c for f, c in counts.items() if f.startswith("LZ4F_decompress"))
            if comp or decomp:
                role = "producer librdkafka thread" if comp >= decomp else "consumer librdkafka thread"
        totals[role] += len(samples)
    per_million = lambda n: n / hz / records * 1e6
    for role, n in totals.most_common():
        print(f"{role}\t{per_million(n):.2f}")
    print(f"HTTP side\t{per_million(sum(n for r, n in totals.items() if r in HTTP)):.2f}")


if __name__ == "__main__":
    main()
