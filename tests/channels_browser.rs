//! The HTML file of a failing run, opened in headless Chromium (path from
//! scripts/test.d/30-channels.sh): the parsed page has every task row and badge, the failure
//! section open, the hostile message as text; a screenshot per palette is kept in
//! target/channels-screenshots/ for people to look at.

#[path = "support/fixture.rs"]
#[allow(dead_code)] // Shared by several test crates; each uses part of it.
mod fixture;
#[path = "support/servers.rs"]
#[allow(dead_code)] // Shared by several test crates; each uses part of it.
mod servers;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use processes::channels::{HtmlFileChannel, Language, NotifyOptions, Palette};

use fixture::failing_report;

/// Longest a Chromium run may take before the test gives up on it.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

fn artifacts() -> PathBuf {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target folder")
        .join("channels-screenshots");
    std::fs::create_dir_all(&folder).expect("artifact folder");
    folder
}

/// Runs Chromium headless on `page` with `action` (`--dump-dom` or `--screenshot=...`) and
/// returns its standard output.
fn chromium(browser: &str, page: &Path, action: &str, profile: &Path) -> String {
    let _ = std::fs::remove_dir_all(profile);
    let output = artifacts().join(format!("chromium-{}.out", std::process::id()));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1000,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(action)
        .arg(format!("file://{}", page.display()))
        .stdout(std::fs::File::create(&output).expect("output file"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {browser}: {e}"));
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {action} did not finish within {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "chromium {action} failed: {status}");
    let text = std::fs::read_to_string(&output).expect("chromium output");
    let _ = std::fs::remove_file(&output);
    text
}

#[test]
#[ignore = "needs Chromium, installed by scripts/test.d/30-channels.sh"]
fn the_failing_run_reads_right_in_chromium() {
    let browser = servers::text(&servers::servers(), "chromium");
    let report = failing_report("nightly <etl>");
    let folder = artifacts();
    let languages = [Language::En, Language::Fr, Language::Es, Language::De];

    for (palette, language) in Palette::ALL.into_iter().zip(languages) {
        let page = folder.join(format!("report-{palette}-{language}.html"));
        let channel = HtmlFileChannel::builder(&page)
            .palette(palette.name())
            .language(language.code())
            .build()
            .expect("valid");
        let outcomes = report
            .notify(&[&channel], &NotifyOptions::new())
            .expect("notify");
        assert!(outcomes[0].is_delivered(), "{}", outcomes[0]);

        let profile = folder.join(format!("profile-{}-{palette}", std::process::id()));
        let dom = chromium(&browser, &page, "--dump-dom", &profile);
        assert!(
            dom.contains("<main>"),
            "Chromium parsed the page: {dom:.200}"
        );

        let rows: Vec<&str> = dom
            .split("<details")
            .skip(1)
            .map(|row| &row[..row.find("</details>").expect("closed row")])
            .collect();
        assert_eq!(rows.len(), 6, "{palette}: one row per task");
        for row in &rows {
            let head = &row[..row.find('>').expect("tag end")];
            let errored = head.contains("data-status=\"errored\"");
            assert_eq!(head.contains(" open=\"\""), errored, "{palette}: {head}");
            assert!(row.contains("class=\"badge status-"), "badge in {head}");
        }
        let load = rows
            .iter()
            .find(|r| r.contains("data-task=\"load\""))
            .expect("load row");
        assert!(load.contains("&lt;script&gt;alert('x')&lt;/script&gt;"));
        assert!(load.contains("<li>publish</li><li>notify_team</li>"));
        assert!(load.contains("batch_size"));
        assert!(
            !dom.contains("<script"),
            "no script element reached the page"
        );

        let screenshot = folder.join(format!("report-{palette}-{language}.png"));
        let _ = std::fs::remove_file(&screenshot);
        chromium(
            &browser,
            &page,
            &format!("--screenshot={}", screenshot.display()),
            &profile,
        );
        let png = std::fs::read(&screenshot).expect("screenshot written");
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{}",
            screenshot.display()
        );
        assert!(
            png.len() > 10_000,
            "a blank screenshot is small: {} bytes",
            png.len()
        );
        let _ = std::fs::remove_dir_all(&profile);
    }
}
