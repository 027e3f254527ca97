//! Runs `tests/e2e/access_matrix.py`: boto3 against the `strongbox` binary built for this test
//! run, as two accounts' users, a role session and keys with default, restrictive,
//! cross-account and locked-out policies, asserting for every (principal, key, operation) row
//! the success or the exact AWS error that the policy evaluation gives, so that `cargo test`
//! covers access control end to end.

use std::path::Path;
use std::process::Command;

#[test]
fn access_matrix_end_to_end() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/e2e/access_matrix.py");
    let status = Command::new("python3")
        .arg(&script)
        .env("STRONGBOX_BIN", env!("CARGO_BIN_EXE_strongbox"))
        .status()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", script.display()));
    assert!(status.success(), "{} failed: {status}", script.display());
}
