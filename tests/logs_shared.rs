//! Many tasks writing to one shared log file from two workers: every record arrives whole and
//! none is lost.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;

use processes::{Process, RunOptions, Task, TaskError};
use regex::Regex;

const TASKS: usize = 64;
const LINES: usize = 1_000;

/// Runs `f` on a thread of its own and fails if it takes longer than `limit`.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .expect("the run did not finish in time")
}

#[test]
fn sixty_four_tasks_share_one_file_without_tearing() {
    let dir = std::env::temp_dir().join(format!("processes-shared-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("shared.log");

    let tasks: Vec<Task> = (0..TASKS)
        .map(|t| {
            // Records long enough that a torn write would show.
            Task::new(&format!("t{t:02}"), move |ctx| {
                for line in 0..LINES {
                    ctx.info(format_args!(
                        "task={t} line={line} {}",
                        "x".repeat(40 + line % 50)
                    ));
                }
                Ok::<_, TaskError>(())
            })
            .log_file(&log)
        })
        .collect();
    let process = Process::new("shared", tasks).unwrap();
    let report = within(Duration::from_secs(120), move || {
        process
            .run(RunOptions::new().parallel(true).max_workers(2))
            .unwrap()
            .counts()
    });
    assert_eq!(report.success, TASKS);

    let record = Regex::new(
        r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} - processes\.t(\d{2}) - INFO - (?:task=(\d+) line=(\d+) (x+)|(Starting|Finished) t\d{2}\.)$",
    )
    .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let mut seen: HashMap<usize, Vec<bool>> = HashMap::new();
    let mut edges = 0;
    for line in text.lines() {
        let found = record
            .captures(line)
            .unwrap_or_else(|| panic!("torn record {line:?}"));
        let task: usize = found[1].parse().unwrap();
        if found.get(5).is_some() {
            edges += 1;
            continue;
        }
        assert_eq!(found[2].parse::<usize>().unwrap(), task);
        let at: usize = found[3].parse().unwrap();
        assert_eq!(found[4].len(), 40 + at % 50, "record {line:?} lost bytes");
        let lines = seen.entry(task).or_insert_with(|| vec![false; LINES]);
        assert!(!lines[at], "record {line:?} written twice");
        lines[at] = true;
    }
    assert_eq!(edges, 2 * TASKS, "Starting/Finished lines");
    assert_eq!(seen.len(), TASKS);
    assert!(
        seen.values().all(|lines| lines.iter().all(|&l| l)),
        "records lost"
    );
    assert_eq!(text.lines().count(), TASKS * (LINES + 2));
}
