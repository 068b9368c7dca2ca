"""The C front end against the Rust core: runs the C benchmark program (benches/c) and the Rust
scheduler benchmark in turn on each cell, round after round, and compares their run times as
a ratio taken within each round. Both build the same graph (the digests must match) and, for
`pass`, must sum to the same result.

    python3 scripts/bench_c.py C_PROGRAM RUST_PROGRAM [--rounds N] [--runs N] [cell options]

C_PROGRAM is the built `scheduler_c`, RUST_PROGRAM the built Rust benchmark binary; the cell
options (--shape, --body, --workers, --size) go to both. Prints one JSON line per cell (the C
front end's figures with `rust_run_ms`, `ratio_to_rust` and the per-round ratios), then a
markdown table on stderr. Exits 1 when the two disagree on the graph or the results."""

import argparse
import json
import statistics
import subprocess
import sys

TARGET = 1.1


def lines(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("c_program")
    parser.add_argument("rust_program")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--shape", default="independent,chain,fan,layered,tree")
    parser.add_argument("--body", default="empty,pass")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--size")
    args = parser.parse_args()

    results = []
    for shape in args.shape.split(","):
        for body in args.body.split(","):
            for workers in args.workers.split(","):
                cell = ["--shape", shape, "--body", body, "--workers", workers,
                        "--runs", str(args.runs)]
                if args.size:
                    cell += ["--size", args.size]
                print(f"bench_c: {shape} {body} workers={workers}", file=sys.stderr)
                ratios, c_runs, rust_runs, c_line = [], [], [], None
                for _ in range(args.rounds):
                    (c_line,) = lines([args.c_program] + cell)
                    (rust,) = lines([args.rust_program, "--bench", "--no-memory"] + cell)
                    for field in ("graph_digest", "tasks", "checksum"):
                        if c_line[field] != rust[field]:
                            sys.exit(f"bench_c: {shape} {body}: {field} differs: "
                                     f"C {c_line[field]}, Rust {rust[field]}")
                    ratios.append(c_line["run_ms"] / rust["run_ms"])
                    c_runs.append(c_line["run_ms"])
                    rust_runs.append(rust["run_ms"])
                line = dict(c_line)
                line.update({
                    "rounds": args.rounds,
                    "run_ms": round(statistics.median(c_runs), 3),
                    "ns_per_task": round(statistics.median(c_runs) * 1e6 / line["tasks"], 3),
                    "rust_run_ms": round(statistics.median(rust_runs), 3),
                    "ratio_to_rust": round(statistics.median(ratios), 3),
                    "ratios": [round(r, 3) for r in ratios],
                })
                print(json.dumps(line), flush=True)
                results.append(line)

    print("| shape | body | W | tasks | C ns/task | Rust ns/task | C / Rust | within 1.1x |",
          file=sys.stderr)
    print("|---|---|--:|--:|--:|--:|--:|---|", file=sys.stderr)
    for r in results:
        rust_ns = r["rust_run_ms"] * 1e6 / r["tasks"]
        met = "yes" if r["ratio_to_rust"] <= TARGET else "NO"
        print(f"| {r['shape']} | {r['body']} | {r['workers']} | {r['tasks']:,} "
              f"| {r['ns_per_task']:.1f} | {rust_ns:.1f} | {r['ratio_to_rust']:.3f} | {met} |",
              file=sys.stderr)


if __name__ == "__main__":
    main()
