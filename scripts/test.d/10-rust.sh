#!/usr/bin/env bash
# The Rust core: formatting, lints, docs, unit and integration tests.
set -euo pipefail
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
cargo test --all-targets
cargo test --doc
