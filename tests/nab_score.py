#!/usr/bin/env python3
"""NAB scoring (numenta/NAB, standard profile) for `dcmon detect --scores` output.

  tests/nab_score.py --labels combined_windows.json SCORES.csv [SCORES.csv ...]
  tests/nab_score.py --self-test

Each SCORES.csv has a header and rows `timestamp,value,score` (dcmon detect --scores) or NAB's
results format (`timestamp,value,anomaly_score,...`). --labels is NAB's label JSON: windows
(`combined_windows.json`: {"file.csv": [[start, end], ...]}) or anomaly points
(`combined_labels.json`: {"file.csv": [t, ...]}), from which windows are made as NAB does: 10 % of
the file's rows split evenly over its anomalies, centred on each. Files are matched by base name
(the scores file of `machine_temperature_system_failure.csv` may be called
`machine_temperature_system_failure.csv` or `..._scores.csv`).

The rules, as NAB's sweeper implements them:
- The first 15 % of each file (at most 750 rows) is probationary: not scored.
- A row is a detection when its score >= the threshold. Within a window only the earliest detection
  counts: its reward is tp_weight * S(p) / S(-1), S(x) = 2 / (1 + e^(5x)) - 1 the scaled sigmoid,
  p = -(right - i + 1) / width the row's position (-1 at the window's first row, near 0 at its last).
- A detection outside windows costs fp_weight * S(q): before the first window S = -1; after a
  window q = |right - i| / (width - 1) rows past it (S(q) = -1 beyond q = 3).
- A window without a detection costs fn_weight.
- The threshold is the one that maximises the total over all files; the total is normalised to
  100 * (raw - null) / (perfect - null), the null detector (no detection) scoring
  -fn_weight per window and the perfect one tp_weight per window.
Profiles: standard (tp 1, fp 0.11, fn 1), reward_low_fp (fp 0.22), reward_low_fn (fn 2).
"""
import argparse
import csv
import datetime as dt
import json
import math
import os
import sys

PROFILES = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_fp": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_fn": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}


def parse_time(text):
    text = text.strip().replace("T", " ")
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1]
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            pass
    try:
        return dt.datetime.fromisoformat(text).astimezone(dt.timezone.utc).replace(tzinfo=None)
    except ValueError:
        number = float(text)
        return dt.datetime.utcfromtimestamp(number / 1000 if number > 1e11 else number)


def scaled_sigmoid(x):
    if x > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def probation_rows(n, share=0.15):
    return min(math.floor(share * n), share * 5000)


def windows_from_points(times, points):
    """NAB's window rule: 10 % of the rows, split over the anomalies, centred on each."""
    if not points:
        return []
    width = int(0.1 * len(times) / len(points))
    out = []
    for p in sorted(points):
        i = min(range(len(times)), key=lambda k: abs((times[k] - p).total_seconds()))
        lo, hi = max(0, i - width // 2), min(len(times) - 1, i + width // 2)
        out.append((times[lo], times[hi]))
    return out


def sweep(times, scores, windows, weights, probation):
    """Per row: (score, weighted reward if it is a detection, window index or None)."""
    bounds = []
    for start, end in windows:
        idx = [i for i, t in enumerate(times) if start <= t <= end]
        if idx:
            bounds.append((idx[0], idx[-1]))
    max_tp = scaled_sigmoid(-1.0)
    rows = []
    w = 0
    prev = None
    for i, (t, s) in enumerate(zip(times, scores)):
        if w < len(bounds) and bounds[w][0] <= i <= bounds[w][1]:
            left, right = bounds[w]
            width = right - left + 1
            reward = weights["tp"] * scaled_sigmoid(-(right - i + 1) / width) / max_tp
            window = w
            if i == right:
                prev = (right, width)
                w += 1
        else:
            if prev is None:
                reward = -1.0
            else:
                right, width = prev
                reward = scaled_sigmoid(abs(right - i) / max(1, width - 1))
            reward *= weights["fp"]
            window = None
        if i >= probation:
            rows.append((s, reward, window))
    return rows, len(bounds)


def score_at_thresholds(files, weights):
    """Total raw score of all files at every candidate threshold; returns [(threshold, raw)]."""
    events = []  # (score, file, reward, window)
    windows = 0
    for f, (rows, n) in enumerate(files):
        windows += n
        for s, reward, window in rows:
            events.append((s, f, reward, window))
    events.sort(key=lambda e: -e[0])
    parts = {}
    fp = 0.0
    base = -weights["fn"] * windows
    raw = base
    out = [(math.inf, raw)]
    for k, (s, f, reward, window) in enumerate(events):
        if window is None:
            fp += reward
            raw += reward
        else:
            key = (f, window)
            old = parts.get(key, -weights["fn"])
            if reward > old:
                parts[key] = reward
                raw += reward - old
        if k + 1 == len(events) or events[k + 1][0] != s:
            out.append((s, raw))
    return out, windows


def nab_score(files, weights):
    curve, windows = score_at_thresholds(files, weights)
    threshold, raw = max(curve, key=lambda c: c[1])
    null = -weights["fn"] * windows
    perfect = weights["tp"] * windows
    normalised = 100.0 * (raw - null) / (perfect - null) if perfect != null else 0.0
    return normalised, threshold, raw


def read_scores(path):
    times, scores = [], []
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        col = header.index("score") if "score" in header else header.index("anomaly_score")
        for row in reader:
            if row:
                times.append(parse_time(row[0]))
                scores.append(float(row[col]))
    return times, scores


def label_key(path, labels):
    base = os.path.basename(path)
    stem = base[: -len("_scores.csv")] + ".csv" if base.endswith("_scores.csv") else base
    for key in labels:
        if os.path.basename(key) in (base, stem):
            return key
    return None


def self_test():
    """Hand-computed cases: 100 rows, no probation, one window on rows 40..49 (width 10)."""
    t0 = dt.datetime(2025, 1, 1)
    times = [t0 + dt.timedelta(minutes=5 * i) for i in range(100)]
    window = [(times[40], times[49])]
    w = PROFILES["standard"]

    def run(detections):
        scores = [1.0 if i in detections else 0.0 for i in range(100)]
        rows, n = sweep(times, scores, window, w, probation=0)
        return nab_score([(rows, n)], w)

    checks = []
    # Detection at the window's first row: reward 1 = perfect.
    checks.append(("first row", run({40})[0], 100.0))
    # No detection: the null detector.
    checks.append(("none", run(set())[0], 0.0))
    # Row 44: p = -(49-44+1)/10 = -0.6; S(-0.6) = 2/(1+e^-3)-1 = 0.905148; S(-1) = 0.986614;
    # reward 0.917430; raw 0.917430, null -1, perfect 1: 100*(1.917430)/2 = 95.8715.
    checks.append(("row 44", run({44})[0], 95.8715))
    # Row 44 and a false positive before the window (-0.11): raw 0.807430 -> 90.3715.
    checks.append(("row 44 + early fp", run({10, 44})[0], 90.3715))
    # Row 44 and rows 45..49: only the earliest counts.
    checks.append(("earliest only", run({44, 45, 46, 47, 48, 49})[0], 95.8715))
    # A false positive after the window, row 60: q = 11/9 = 1.2222, S = 2/(1+e^6.1111)-1 =
    # -0.995571, x 0.11 = -0.109513; with row 40: raw 0.890487 -> 94.5244.
    checks.append(("row 40 + late fp", run({40, 60})[0], 94.5244))
    # Threshold sweep: scores 0.9 at row 10 (fp), 0.5 at row 40: best threshold 0.5 keeps both?
    # At 0.9: raw -1 - 0.11 = -1.11; at 0.5: 1 - 0.11 = 0.89; at inf: -1. Best 0.89 -> 94.5.
    scores = [0.0] * 100
    scores[10], scores[40] = 0.9, 0.5
    rows, n = sweep(times, scores, window, w, probation=0)
    checks.append(("sweep", nab_score([(rows, n)], w)[0], 94.5))
    # Probation: 15 % of 100 rows = 15; a detection at row 10 is not scored -> row 40 alone = 100.
    rows, n = sweep(times, [1.0 if i in (10, 40) else 0.0 for i in range(100)], window, w,
                    probation_rows(100))
    checks.append(("probation", nab_score([(rows, n)], w)[0], 100.0))
    # Windows from points: 10 % of 100 rows over one anomaly = 10 rows centred on row 45: 40..50.
    made = windows_from_points(times, [times[45]])
    checks.append(("window from point", (made[0][0] - t0).total_seconds() / 300, 40.0))
    ok = True
    for name, got, want in checks:
        good = abs(got - want) < 1e-3
        ok = ok and good
        print(f"{'ok  ' if good else 'FAIL'} {name}: {got:.4f} (hand-computed {want:.4f})")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", help="NAB label JSON (windows or anomaly points)")
    ap.add_argument("--profile", default="standard", choices=sorted(PROFILES))
    ap.add_argument("--self-test", action="store_true", help="check the scorer on hand-computed cases")
    ap.add_argument("scores", nargs="*")
    args = ap.parse_args()
    if args.self_test:
        sys.exit(0 if self_test() else 1)
    if not args.labels or not args.scores:
        ap.error("--labels and at least one scores file are needed")
    with open(args.labels) as f:
        labels = json.load(f)
    weights = PROFILES[args.profile]
    files = []
    for path in args.scores:
        key = label_key(path, labels)
        if key is None:
            sys.exit(f"nab_score: {path}: no labels for it in {args.labels}")
        times, scores = read_scores(path)
        entries = labels[key]
        if entries and isinstance(entries[0], list):
            windows = [(parse_time(a), parse_time(b)) for a, b in entries]
        else:
            windows = windows_from_points(times, [parse_time(p) for p in entries])
        rows, n = sweep(times, scores, windows, weights, probation_rows(len(times)))
        files.append((rows, n))
        one, thr, _ = nab_score([(rows, n)], weights)
        print(f"{os.path.basename(path)}: {len(times)} rows, {n} windows, {one:.1f} at its own best threshold {thr:.3f}")
    total, threshold, raw = nab_score(files, weights)
    print(f"NAB {args.profile}: {total:.1f} (threshold {threshold:.3f}, raw {raw:.3f}, {len(files)} files)")


if __name__ == "__main__":
    main()
