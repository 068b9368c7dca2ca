"""Checks the scheduler benchmark's output: every line a JSON object with the required
fields, numbers where numbers belong, every expected cell present. Used by the smoke steps:
`bench_check.py FILE` for the Rust benchmark (with the floor and memory figures), and
`bench_check.py FILE c` for the C front end (benches/c), whose default bodies are empty and
pass."""

import json
import sys

COMMON = ["shape", "body", "workers", "tasks", "build_ms", "run_ms", "ns_per_task", "checksum"]
RUST_ONLY = ["peak_rss_bytes", "bytes_per_task", "floor_run_ms", "floor_ns_per_task",
             "ratio_to_floor"]
SPIN_REQUIRED = {"rust": ["efficiency", "floor_efficiency"], "c": ["efficiency"]}
SHAPES = ["independent", "chain", "fan", "layered", "tree"]
BODIES = {"rust": ["empty", "spin:10", "pass"], "c": ["empty", "pass"]}


def check(path, front_end="rust"):
    required = COMMON + (RUST_ONLY if front_end == "rust" else [])
    seen = set()
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            where = f"line {number}"
            cell = json.loads(line)
            assert isinstance(cell, dict), f"{where}: not a JSON object"
            spin = cell.get("body", "").startswith("spin")
            fields = required + (SPIN_REQUIRED[front_end] if spin else [])
            for field in fields:
                assert field in cell, f"{where}: missing {field}"
                value = cell[field]
                if field in ("shape", "body"):
                    assert isinstance(value, str), f"{where}: {field} = {value!r}"
                elif field != "checksum":
                    number_ok = isinstance(value, (int, float)) and value >= 0
                    assert number_ok, f"{where}: {field} = {value!r}"
            got = cell.get("front_end")
            assert got == front_end, f"{where}: front_end = {got!r}"
            assert cell.get("check") == "ok", f"{where}: check = {cell.get('check')!r}"
            seen.add((cell["shape"], cell["body"], cell["workers"]))
    expected = {(s, b, w) for s in SHAPES for b in BODIES[front_end] for w in (1, 2)}
    missing = sorted(expected - seen)
    assert not missing, f"cells missing from the output: {missing}"
    print(f"bench smoke ({front_end}): {len(seen)} cells, every line well formed")


if __name__ == "__main__":
    check(*sys.argv[1:3])
