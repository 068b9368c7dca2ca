//! Finds the test servers that `scripts/test.d/30-channels.sh` started, through the JSON file
//! named by `PROCESSES_CHANNEL_SERVERS`. A test that needs them fails loudly without them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The servers' description.
pub fn servers() -> Value {
    let path = std::env::var("PROCESSES_CHANNEL_SERVERS").unwrap_or_else(|_| {
        panic!(
            "PROCESSES_CHANNEL_SERVERS is not set: this test needs the SMTP, HTTP and browser \
             set-up of scripts/test.d/30-channels.sh; run that script (or ./scripts/test.sh)"
        )
    });
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read PROCESSES_CHANNEL_SERVERS={path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// A string field of the description.
pub fn text(value: &Value, key: &str) -> String {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("servers file: {key} is not a string"))
        .to_owned()
}

/// A port field of the description.
pub fn port(value: &Value, key: &str) -> u16 {
    value[key]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or_else(|| panic!("servers file: {key} is not a port"))
}

/// Waits up to `timeout` for a JSON record in `folder` that `matches`, and returns it.
pub fn wait_for_record(
    folder: &Path,
    timeout: Duration,
    matches: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        for entry in std::fs::read_dir(folder).expect("record folder") {
            let path: PathBuf = entry.expect("entry").path();
            let hidden = path
                .file_name()
                .and_then(|n| n.to_str())
                .map_or(true, |n| n.starts_with('.'));
            if hidden {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(record) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if matches(&record) {
                return record;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no matching record in {} within {timeout:?}",
            folder.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A port on 127.0.0.1 where nothing listens.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A server on 127.0.0.1 that accepts connections and never says a word; it lives as long as
/// the returned listener's thread keeps the connections.
pub fn silent_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

/// An SMTP server on 127.0.0.1 that greets, answers `EHLO`, then never answers another
/// command: a server that stalls in the middle of a session rather than at its start.
pub fn stalling_server() -> u16 {
    use std::io::{BufRead, BufReader, Write};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let Ok(reader) = stream.try_clone() else {
                    return;
                };
                let _ = stream.write_all(b"220 stalling test server\r\n");
                let mut held = Vec::new();
                for line in BufReader::new(reader).lines() {
                    let Ok(line) = line else { return };
                    if line.to_ascii_uppercase().starts_with("EHLO") {
                        let _ = stream.write_all(b"250-localhost\r\n250 8BITMIME\r\n");
                    } else {
                        // Heard, never answered.
                        held.push(line);
                    }
                }
            });
        }
    });
    port
}
