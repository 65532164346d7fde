#!/usr/bin/env python3
"""Synthetic recorded series with known anomalies, in NAB's format, for `dcmon detect` and
tests/nab_score.py: writes OUT/<name>.csv (timestamp,value) and OUT/labels.json (anomaly points,
like NAB's combined_labels.json). Seeded; the seed is printed.

  tests/detect_nab_data.py OUT [--seed N]

Series (each in a different timestamp form and cadence):
- machine: 5 min, 30 days, ~80 degC with slow wander; a failure (a slide to 40 over 4 h, then
  recovery) and a spike - like NAB's machine_temperature_system_failure.
- ambient: hourly, 200 days, daily and annual cycles; a two-day +7 degC excursion and a sensor
  dropping to 5 degC for 6 h - like NAB's ambient_temperature_system_failure.
- fast: 10 s, 2 days, epoch seconds; a step of +3 degC that stays (a new regime).
- millis: 1 min, 5 days, epoch milliseconds, daily cycle; a +6 degC spike lasting 3 samples.
"""
import argparse
import datetime as dt
import json
import math
import os
import random


def ar_noise(rng, n, phi, sigma):
    x, out = 0.0, []
    for _ in range(n):
        x = phi * x + rng.gauss(0, sigma)
        out.append(x)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    print(f"detect_nab_data: seed {args.seed}")
    os.makedirs(args.out, exist_ok=True)
    t0 = dt.datetime(2025, 1, 6)
    labels = {}

    def write(name, times, values, anomalies, form):
        with open(os.path.join(args.out, name + ".csv"), "w") as f:
            f.write("timestamp,value\n")
            for t, v in zip(times, values):
                if form == "nab":
                    ts = t.strftime("%Y-%m-%d %H:%M:%S")
                elif form == "rfc3339":
                    ts = t.strftime("%Y-%m-%dT%H:%M:%SZ")
                elif form == "epoch":
                    ts = str(int(t.replace(tzinfo=dt.timezone.utc).timestamp()))
                else:
                    ts = str(int(t.replace(tzinfo=dt.timezone.utc).timestamp() * 1000))
                f.write(f"{ts},{v:.3f}\n")
        labels[name + ".csv"] = [times[i].strftime("%Y-%m-%d %H:%M:%S.000000") for i in anomalies]

    # machine
    n = 30 * 288
    times = [t0 + dt.timedelta(minutes=5 * i) for i in range(n)]
    wander = ar_noise(rng, n, 0.995, 0.15)
    v = [80 + w + rng.gauss(0, 0.4) for w in wander]
    fail_at, spike_at = int(n * 0.55), int(n * 0.8)
    for k in range(48):  # 4 h slide to 40, then 4 h back
        v[fail_at + k] -= 40 * k / 48
    for k in range(48):
        v[fail_at + 48 + k] -= 40 * (1 - k / 48)
    v[spike_at] += 12
    write("machine", times, v, [fail_at, spike_at], "nab")

    # ambient
    n = 200 * 24
    times = [t0 + dt.timedelta(hours=i) for i in range(n)]
    wander = ar_noise(rng, n, 0.97, 0.35)
    v = [21 + 3 * math.sin(2 * math.pi * i / (365 * 24)) + 1.5 * math.cos(2 * math.pi * (i % 24 - 15) / 24)
         + w for i, w in enumerate(wander)]
    heat_at, drop_at = int(n * 0.45), int(n * 0.75)
    for k in range(48):
        v[heat_at + k] += 7
    for k in range(6):
        v[drop_at + k] = 5 + rng.gauss(0, 0.1)
    write("ambient", times, v, [heat_at, drop_at], "rfc3339")

    # fast
    n = 2 * 8640
    times = [t0 + dt.timedelta(seconds=10 * i) for i in range(n)]
    wander = ar_noise(rng, n, 0.999, 0.01)
    step_at = int(n * 0.6)
    v = [22 + w + rng.gauss(0, 0.05) + (3 if i >= step_at else 0) for i, w in enumerate(wander)]
    write("fast", times, v, [step_at], "epoch")

    # millis
    n = 5 * 1440
    times = [t0 + dt.timedelta(minutes=i) for i in range(n)]
    wander = ar_noise(rng, n, 0.99, 0.05)
    spike_at = int(n * 0.7)
    v = [24 + 2 * math.cos(2 * math.pi * (i % 1440 - 900) / 1440) + w + rng.gauss(0, 0.1)
         for i, w in enumerate(wander)]
    for k in range(3):
        v[spike_at + k] += 6
    write("millis", times, v, [spike_at], "millis")

    with open(os.path.join(args.out, "labels.json"), "w") as f:
        json.dump(labels, f, indent=1)


if __name__ == "__main__":
    main()
