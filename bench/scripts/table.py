#!/usr/bin/env python3
"""Prints the Markdown table of docs/benchmarks.md from target/bench-peers/results.json.

Usage: bench/scripts/table.py [results.json]

Every number comes from the file: the medians as the benchmark wrote them, and Almanac/peer
computed from those medians (below 1: Almanac leads, lower is better for every figure).
"""

import json
import os
import subprocess
import sys
import time

SYSTEMS = ["almanac", "automerge", "yrs", "loro"]


def number(x):
    if x is None:
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def ratio(almanac, peer):
    if almanac is None or peer is None:
        return ""
    if peer == 0:
        return " (=)" if almanac == 0 else " (∞)"
    r = almanac / peer
    mark = "**" if r > 1.0 else ""
    return f" ({mark}{r:.2f}{mark})"


def machine():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown machine"
    model = next((l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Model name")), "?")
    cpus = next((l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("CPU(s)")), "?")
    return f"{cpus} × {model}"


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "target", "bench-peers", "results.json")
    with open(path) as f:
        figures = json.load(f)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(path)))
    runs = max((len(f["runs"]) for f in figures), default=0)
    print(f"Machine: {machine()}; results written {when}; up to {runs} runs per figure (median shown).")
    print()
    print("| workload | figure | unit | " + " | ".join(SYSTEMS) + " |")
    print("|---|---|---|" + "---:|" * len(SYSTEMS))
    rows = {}
    order = []
    for f in figures:
        key = (f["workload"], f["metric"], f["unit"])
        if key not in rows:
            rows[key] = {}
            order.append(key)
        rows[key][f["system"]] = f["median"]
    for key in order:
        workload, metric, unit = key
        values = rows[key]
        almanac = values.get("almanac")
        cells = []
        for system in SYSTEMS:
            if system not in values:
                cells.append("—")
            elif system == "almanac":
                cells.append(number(values[system]))
            else:
                cells.append(number(values[system]) + ratio(almanac, values[system]))
        print(f"| {workload} | {metric} | {unit} | " + " | ".join(cells) + " |")
    print()
    print("Peers' cells: median (Almanac/peer from the same run; **bold** where Almanac is behind).")


if __name__ == "__main__":
    main()
