//! Scheduler benchmark: every shape and body of `shared/bench/WORKLOADS.md`, run by the
//! `processes` core and by a minimal "floor" executor on the same graph, in the same process,
//! run after run. Prints one JSON object per line per cell on stdout; progress on stderr.
//!
//! ```text
//! cargo bench --bench scheduler -- [--shape S[,S..]] [--body B[,B..]] [--workers W[,W..]]
//!                                  [--size N] [--runs N] [--no-memory] [--floor-grain N]
//!                                  [--log-file PATH]
//! ```
//!
//! Shapes: independent, chain, fan, layered, tree. Bodies: empty, pass, spin or spin:U
//! (U microseconds, default 10). Workers: 1 and 2 by default. `--size` replaces every
//! selected shape's default size (see `shapes.rs` for what it means per shape). `--runs` is
//! the number of measured runs after one warm-up (default 5); figures are medians.
//! `--floor-grain` sets how many roots a leaf of the floor's initial split runs: 1 by default,
//! splitting the roots down to single ones as the issue's description of the floor does (and
//! as its figures reflect); 32, the core's own grain, gives a stricter floor. `--no-memory`
//! skips the memory probe.
//! `--log-file PATH` makes every core task write its engine lines (`Starting`, `Finished`) to
//! that one shared file, emptied before each round: the cost of logging is the difference
//! from a run without it.
//!
//! Memory: each cell's `peak_rss_bytes` comes from a fresh child process (this binary with
//! `--probe-memory`) that builds and runs the core once: its peak (`VmHWM`, reset through
//! `/proc/self/clear_refs` just before building when the kernel allows) minus its resident
//! set before building, divided by the task count, is `bytes_per_task`; the same taken at the
//! end of the build alone is `build_bytes_per_task` (the graph without run state or report).
//!
//! When cargo runs this binary as a test (`cargo test --all-targets`, no `--bench` flag), the
//! defaults shrink to `--size 1000 --runs 1` so the test suite stays fast.

use std::io::Write;
use std::process::ExitCode;

#[path = "scheduler/body.rs"]
mod body;
#[path = "scheduler/cell.rs"]
mod cell;
#[path = "scheduler/core_api.rs"]
mod core_api;
#[path = "scheduler/floor.rs"]
mod floor;
#[path = "scheduler/rss.rs"]
mod rss;
#[path = "scheduler/shapes.rs"]
mod shapes;
#[path = "scheduler/watchdog.rs"]
mod watchdog;

use body::Body;
use cell::Cell;
use shapes::Shape;

/// What the command line asked for.
struct Options {
    shapes: Vec<String>,
    bodies: Vec<Body>,
    workers: Vec<usize>,
    size: Option<usize>,
    runs: usize,
    memory: bool,
    probe_memory: bool,
    floor_grain: usize,
    log_file: Option<std::path::PathBuf>,
}

const USAGE: &str = "usage: scheduler [--shape S,..] [--body empty|pass|spin[:U],..] \
                     [--workers W,..] [--size N] [--runs N] [--no-memory] [--floor-grain N] \
                     [--log-file PATH]";

fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        shapes: shapes::ALL.iter().map(|s| s.to_string()).collect(),
        bodies: vec![Body::Empty, Body::Spin(body::DEFAULT_SPIN_US), Body::Pass],
        workers: vec![1, 2],
        size: None,
        runs: 5,
        memory: true,
        probe_memory: false,
        floor_grain: floor::DEFAULT_GRAIN,
        log_file: None,
    };
    let mut bench_mode = false;
    let (mut size_given, mut runs_given) = (false, false);
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let mut value = |flag: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag}: missing value\n{USAGE}"))
        };
        match flag.as_str() {
            "--bench" => bench_mode = true,
            "--no-memory" => options.memory = false,
            "--probe-memory" => options.probe_memory = true,
            "--shape" => options.shapes = list(&value("--shape")?),
            "--body" => {
                let text = value("--body")?;
                options.bodies = list(&text)
                    .iter()
                    .map(|b| Body::parse(b))
                    .collect::<Result<_, _>>()?;
            }
            "--workers" => {
                let text = value("--workers")?;
                options.workers = list(&text)
                    .iter()
                    .map(|w| match w.parse::<usize>() {
                        Ok(n) if n >= 1 => Ok(n),
                        _ => Err(format!(
                            "--workers: `{w}` is not a thread count of at least 1"
                        )),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--size" => {
                let text = value("--size")?;
                options.size = Some(positive("--size", &text)?);
                size_given = true;
            }
            "--runs" => {
                let text = value("--runs")?;
                options.runs = positive("--runs", &text)?;
                runs_given = true;
            }
            "--floor-grain" => {
                let text = value("--floor-grain")?;
                options.floor_grain = positive("--floor-grain", &text)?;
            }
            "--log-file" => options.log_file = Some(value("--log-file")?.into()),
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if !bench_mode && !options.probe_memory {
        if !size_given {
            options.size = Some(1000);
        }
        if !runs_given {
            options.runs = 1;
        }
    }
    for shape in &options.shapes {
        if Shape::default_size(shape).is_none() {
            return Err(format!(
                "--shape: unknown shape `{shape}` (expected one of {})",
                shapes::ALL.join(", ")
            ));
        }
    }
    Ok(options)
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn positive(flag: &str, text: &str) -> Result<usize, String> {
    match text.replace('_', "").parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{flag}: `{text}` is not a positive integer")),
    }
}

fn main() -> ExitCode {
    let result = parse(std::env::args().skip(1)).and_then(|options| {
        if options.probe_memory {
            probe(&options)
        } else {
            run_matrix(&options)
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("scheduler bench: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Builds and runs the single selected cell once and prints its memory figures.
fn probe(options: &Options) -> Result<(), String> {
    let (Some(shape), Some(&body), Some(&workers)) = (
        options.shapes.first(),
        options.bodies.first(),
        options.workers.first(),
    ) else {
        return Err("--probe-memory needs a shape, a body and a worker count".into());
    };
    let size = options
        .size
        .or_else(|| Shape::default_size(shape))
        .unwrap_or(0);
    let graph = Shape::build(shape, size)?;
    let figures = cell::memory_probe(&graph, body, workers)?;
    println!("{figures}");
    Ok(())
}

fn run_matrix(options: &Options) -> Result<(), String> {
    let watchdog = watchdog::Watchdog::start();
    let mut stdout = std::io::stdout().lock();
    for shape_id in &options.shapes {
        let size = options
            .size
            .or_else(|| Shape::default_size(shape_id))
            .unwrap_or(0);
        let shape = Shape::build(shape_id, size)?;
        for &body in &options.bodies {
            for &workers in &options.workers {
                eprintln!(
                    "scheduler bench: {} ({} tasks) {} workers={workers}",
                    shape.id,
                    shape.tasks,
                    body.label()
                );
                let cell = Cell {
                    shape: &shape,
                    size,
                    body,
                    workers,
                    floor_grain: options.floor_grain,
                    log_file: options.log_file.as_deref(),
                };
                let line = cell.measure(options.runs, options.memory, &watchdog)?;
                writeln!(stdout, "{line}").map_err(|e| format!("cannot write stdout: {e}"))?;
                stdout
                    .flush()
                    .map_err(|e| format!("cannot write stdout: {e}"))?;
            }
        }
    }
    Ok(())
}
