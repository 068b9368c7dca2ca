"""Checks the scheduler benchmark's output: every line a JSON object with the required
fields, numbers where numbers belong, every default cell present. Used by the smoke step."""

import json
import sys

REQUIRED = ["shape", "body", "workers", "tasks", "build_ms", "run_ms", "ns_per_task",
            "peak_rss_bytes", "bytes_per_task", "floor_run_ms", "floor_ns_per_task",
            "ratio_to_floor"]
SPIN_REQUIRED = ["efficiency", "floor_efficiency"]
SHAPES = ["independent", "chain", "fan", "layered", "tree"]
BODIES = ["empty", "spin:10", "pass"]


def check(path):
    seen = set()
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            where = f"line {number}"
            cell = json.loads(line)
            assert isinstance(cell, dict), f"{where}: not a JSON object"
            fields = REQUIRED + (SPIN_REQUIRED if cell.get("body", "").startswith("spin") else [])
            for field in fields:
                assert field in cell, f"{where}: missing {field}"
                value = cell[field]
                if field in ("shape", "body"):
                    assert isinstance(value, str), f"{where}: {field} = {value!r}"
                else:
                    number_ok = isinstance(value, (int, float)) and value >= 0
                    assert number_ok, f"{where}: {field} = {value!r}"
            assert cell.get("front_end") == "rust", f"{where}: front_end = {cell.get('front_end')!r}"
            assert cell.get("check") == "ok", f"{where}: check = {cell.get('check')!r}"
            seen.add((cell["shape"], cell["body"], cell["workers"]))
    expected = {(s, b, w) for s in SHAPES for b in BODIES for w in (1, 2)}
    missing = sorted(expected - seen)
    assert not missing, f"cells missing from the output: {missing}"
    print(f"bench smoke: {len(seen)} cells, every line well formed")


if __name__ == "__main__":
    check(sys.argv[1])
