//! Runs `tests/e2e/awscli.sh`: the real aws CLI against the `strongbox` binary built for this
//! test run, so that `cargo test` covers the end-to-end path too.

use std::path::Path;
use std::process::Command;

#[test]
fn aws_cli_end_to_end() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/e2e/awscli.sh");
    let status = Command::new("bash")
        .arg(&script)
        .env("STRONGBOX_BIN", env!("CARGO_BIN_EXE_strongbox"))
        .status()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", script.display()));
    assert!(status.success(), "{} failed: {status}", script.display());
}
