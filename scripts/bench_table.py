"""Prints the scheduler benchmark's JSON lines as a markdown table, then checks the core's
targets (issue 2) against the figures: empty bodies on 2 workers against Taskflow and the
floor, spin:10 efficiency, memory per task and build time of 1,000,000 tasks."""

import json
import sys

# Taskflow, 2 workers, empty bodies, ns per task (issue 2).
TASKFLOW_NS = {"independent": 114, "chain": 51, "fan": 150, "layered": 371, "tree": 101}
# Shapes where the core must stay within 2x of the floor.
FLOOR_BOUND_SHAPES = ("independent", "fan", "layered", "tree")


def fmt(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def main(path):
    with open(path, encoding="utf-8") as lines:
        cells = [json.loads(line) for line in lines if line.strip()]

    print("| shape | body | W | tasks | build ms | run ms | ns/task | floor ns/task "
          "| floor grain | x floor | x floor, core first | x floor, floor first "
          "| eff | floor eff | bytes/task | load |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for c in cells:
        print(f"| {c['shape']} | {c['body']} | {c['workers']} | {fmt(c['tasks'])} "
              f"| {fmt(c['build_ms'])} | {fmt(c['run_ms'])} | {fmt(c['ns_per_task'])} "
              f"| {fmt(c['floor_ns_per_task'])} | {c.get('floor_grain', '-')} "
              f"| {fmt(c['ratio_to_floor'], 2)} | {fmt(c.get('ratio_core_first'), 2)} "
              f"| {fmt(c.get('ratio_floor_first'), 2)} "
              f"| {fmt(c.get('efficiency'), 3)} | {fmt(c.get('floor_efficiency'), 3)} "
              f"| {fmt(c['bytes_per_task'])} | {fmt(c.get('load_avg_1m'), 2)} |")

    def cell(shape, body, workers):
        for c in cells:
            if (c["shape"], c["body"], c["workers"]) == (shape, body, workers):
                return c
        return None

    print()
    print("| target (2 workers) | measured | goal | met |")
    print("|---|--:|--:|---|")
    for shape, taskflow in TASKFLOW_NS.items():
        c = cell(shape, "empty", 2)
        if c is None:
            continue
        ns = c["ns_per_task"]
        print(f"| {shape} empty vs Taskflow, ns/task | {fmt(ns)} | < {taskflow} "
              f"| {'yes' if ns < taskflow else f'NO ({ns / taskflow:.2f}x Taskflow)'} |")
        if shape in FLOOR_BOUND_SHAPES:
            ratio = c["ratio_to_floor"]
            print(f"| {shape} empty vs floor, ratio | {fmt(ratio, 2)} | <= 2 "
                  f"| {'yes' if ratio <= 2 else 'NO'} |")
    for shape in TASKFLOW_NS:
        c = cell(shape, "spin:10", 2)
        if c is None:
            continue
        eff = c["efficiency"]
        note = " (ideal assumes P-way parallelism a chain lacks)" if shape == "chain" else ""
        met = "n/a" if shape == "chain" else ("yes" if eff >= 0.93 else "NO")
        print(f"| {shape} spin:10 efficiency{note} | {fmt(eff, 3)} | >= 0.93 | {met} |")
    for workers in (1, 2):
        c = cell("independent", "empty", workers)
        if c is None or c["tasks"] != 1_000_000:
            continue
        per_task = c["bytes_per_task"]
        print(f"| independent 1M empty, W={workers}: bytes/task | {fmt(per_task)} | <= 200 "
              f"| {'yes' if per_task is not None and per_task <= 200 else 'NO'} |")
        build = c["build_ms"]
        print(f"| independent 1M, W={workers}: build+validate ms | {fmt(build)} | < 500 "
              f"| {'yes' if build < 500 else 'NO'} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/bench/scheduler.jsonl")
