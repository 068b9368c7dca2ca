//! Measuring one cell (shape, body, workers): the core and the floor alternate run after run
//! on the same graph, each going first after the core's build in every other round, and the
//! cell is summarised as one JSON object.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::body::Body;
use crate::core_api;
use crate::floor::Floor;
use crate::rss;
use crate::shapes::Shape;
use crate::watchdog::Watchdog;

/// One cell of the matrix.
pub struct Cell<'s> {
    /// The graph.
    pub shape: &'s Shape,
    /// The `--size` it was built from.
    pub size: usize,
    /// What every task does.
    pub body: Body,
    /// Pool threads (1: the core runs sequentially, the floor on a one-thread pool).
    pub workers: usize,
    /// Roots per leaf of the floor's initial split.
    pub floor_grain: usize,
    /// A log file every core task writes its engine lines to (emptied before each round).
    pub log_file: Option<&'s Path>,
}

impl Cell<'_> {
    fn describe(&self) -> String {
        format!(
            "shape {} ({} tasks), body {}, workers {}",
            self.shape.id,
            self.shape.tasks,
            self.body.label(),
            self.workers
        )
    }

    /// The longest any single phase may take before it counts as a hang: generous, since the
    /// machine is shared.
    fn limit(&self) -> Duration {
        let spin_us = match self.body {
            Body::Spin(micros) => micros,
            _ => 0,
        };
        Duration::from_secs(120) + Duration::from_micros(4 * spin_us * self.shape.tasks as u64)
    }

    /// Times `runs` measured runs of both systems after one warm-up; `memory` adds the peak
    /// resident memory of one core build and run taken in a fresh child process.
    pub fn measure(&self, runs: usize, memory: bool, watchdog: &Watchdog) -> Result<Json, String> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.workers)
            .thread_name(|i| format!("floor-worker-{i}"))
            .build()
            .map_err(|e| format!("could not start {} floor threads: {e}", self.workers))?;
        let floor = Floor::new(self.shape, self.floor_grain);
        let load = load_average();
        let tasks = self.shape.tasks;

        let (mut builds, mut core_runs, mut floor_runs, mut ratios) =
            (vec![], vec![], vec![], vec![]);
        let mut firsts = vec![];
        let mut checksum = 0;
        for round in 0..=runs {
            let what = format!("{}, run {round}", self.describe());
            watchdog.arm(format!("core build of {what}"), self.limit());
            if let Some(path) = self.log_file {
                std::fs::write(path, b"")
                    .map_err(|e| format!("cannot empty the log file {}: {e}", path.display()))?;
            }
            let (process, build) = core_api::build(self.shape, self.body, self.log_file)?;
            watchdog.disarm();
            // The building thread leaves the other CPUs idle for a while, and whichever system
            // runs first after it finds them slow to wake and their caches cold: the order
            // alternates so that each system starts first in half the rounds (the core in the
            // first measured one, so with an odd number of rounds it is the core that starts
            // first once more).
            let floor_first = round % 2 == 0;
            let floor_run = |watchdog: &Watchdog| {
                watchdog.arm(format!("floor run of {what}"), self.limit());
                let run = floor.run(&pool, self.body);
                watchdog.disarm();
                run
            };
            let early_floor = floor_first.then(|| floor_run(watchdog));
            watchdog.arm(format!("core run of {what}"), self.limit());
            let (report, run) = core_api::run(&process, self.workers)?;
            watchdog.disarm();
            checksum = core_api::check(&report, tasks).map_err(|e| format!("{what}: core: {e}"))?;
            drop(report);
            drop(process);
            let floor_run = match early_floor {
                Some(run) => run,
                None => floor_run(watchdog),
            };
            if floor_run.ran != tasks {
                return Err(format!(
                    "{what}: floor ran {} of {tasks} tasks",
                    floor_run.ran
                ));
            }
            if floor_run.checksum != checksum {
                return Err(format!(
                    "{what}: results differ: core sums to {checksum}, floor to {}",
                    floor_run.checksum
                ));
            }
            if round > 0 {
                builds.push(ms(build));
                core_runs.push(ms(run));
                floor_runs.push(ms(floor_run.elapsed));
                let ratio = run.as_secs_f64() / floor_run.elapsed.as_secs_f64().max(1e-9);
                ratios.push(ratio);
                firsts.push(floor_first);
            }
        }
        // The ratio in the rounds each system went first, for a reader to see how much the
        // order weighs.
        let ratio_when = |floor_first: bool| {
            let picked: Vec<f64> = (ratios.iter().zip(&firsts))
                .filter(|(_, &f)| f == floor_first)
                .map(|(&r, _)| r)
                .collect();
            round3(median(&picked))
        };
        let (run_ms, floor_run_ms) = (median(&core_runs), median(&floor_runs));
        let mut line = json!({
            "front_end": "rust",
            "shape": self.shape.id,
            "body": self.body.label(),
            "workers": self.workers,
            "size": self.size,
            "tasks": tasks,
            "edges": self.shape.edges(),
            "graph_digest": format!("{:016x}", self.shape.digest()),
            "log_file": self.log_file.is_some(),
            "runs": runs,
            "build_ms": round3(median(&builds)),
            "run_ms": round3(run_ms),
            "ns_per_task": round3(run_ms * 1e6 / tasks as f64),
            "floor_run_ms": round3(floor_run_ms),
            "floor_ns_per_task": round3(floor_run_ms * 1e6 / tasks as f64),
            "ratio_to_floor": round3(median(&ratios)),
            "ratio_core_first": ratio_when(false),
            "ratio_floor_first": ratio_when(true),
            "floor_grain": self.floor_grain,
            "run_ms_all": core_runs.iter().map(|&v| round3(v)).collect::<Vec<_>>(),
            "floor_run_ms_all": floor_runs.iter().map(|&v| round3(v)).collect::<Vec<_>>(),
            "load_avg_1m": load,
            "checksum": checksum,
            "check": "ok",
        });
        if let Body::Spin(micros) = self.body {
            let ideal_ms = tasks as f64 * micros as f64 / self.workers as f64 / 1e3;
            line["efficiency"] = json!(round3(ideal_ms / run_ms));
            line["floor_efficiency"] = json!(round3(ideal_ms / floor_run_ms));
        }
        let probe = if memory {
            self.probe_memory()?
        } else {
            Json::Null
        };
        let before = probe["rss_before_bytes"].as_u64();
        let peak = probe["peak_rss_bytes"].as_u64();
        let built = probe["peak_after_build_bytes"].as_u64();
        let per_task = |peak: Option<u64>| match (before, peak) {
            (Some(before), Some(peak)) => {
                json!(round3(peak.saturating_sub(before) as f64 / tasks as f64))
            }
            _ => Json::Null,
        };
        line["peak_rss_bytes"] = json!(peak);
        line["rss_before_bytes"] = json!(before);
        line["bytes_per_task"] = per_task(peak);
        line["build_bytes_per_task"] = per_task(built);
        line["rss_method"] = json!(match probe["peak_reset"].as_bool() {
            Some(true) => "fresh child process, VmHWM reset via clear_refs before build",
            Some(false) => "fresh child process, VmHWM since process start",
            None => "not measured",
        });
        Ok(line)
    }

    /// Runs this binary again as a fresh process that builds and runs this cell once, so that
    /// no memory kept by the allocator from earlier cells hides or inflates the figure.
    fn probe_memory(&self) -> Result<Json, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
        let output = Command::new(exe)
            .args(["--probe-memory", "--shape", self.shape.id])
            .args(["--size", &self.size.to_string()])
            .args(["--body", &self.body.label()])
            .args(["--workers", &self.workers.to_string()])
            .output()
            .map_err(|e| format!("cannot start the memory probe: {e}"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "memory probe of {} failed ({}): {}",
                self.describe(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        serde_json::from_str(text.trim())
            .map_err(|e| format!("memory probe printed `{}`: {e}", text.trim()))
    }
}

/// The probe's side: one build and run of the core, with resident memory before the build,
/// at its peak during the build, and at its peak over build and run.
pub fn memory_probe(shape: &Shape, body: Body, workers: usize) -> Result<Json, String> {
    let peak_reset = rss::reset_peak();
    let before = rss::current();
    let (process, _) = core_api::build(shape, body, None)?;
    let built = rss::peak();
    let (report, _) = core_api::run(&process, workers)?;
    let peak = rss::peak();
    core_api::check(&report, shape.tasks)?;
    Ok(json!({
        "rss_before_bytes": before,
        "peak_after_build_bytes": built,
        "peak_rss_bytes": peak,
        "peak_reset": peak_reset,
    }))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn round3(value: f64) -> f64 {
    (value * 1e3).round() / 1e3
}

/// The one-minute load average, to judge how much other work shared the machine.
fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}
