//! Anchoring digests outside the host: a data directory rolled back to an older copy verifies
//! on its own, and `audit verify --anchor` catches it; so does a trail that went on from the
//! old copy (a fork), and a forged anchor line. Anchors go to an append-only file or to a
//! program; a program that fails gets the anchors again on the next pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::cli::{strongbox, succeeded};
use common::{TestServer, copy_private, create_key, encrypt};
use strongbox::audit::anchor::{AnchorBody, AnchorTarget};
use strongbox_core::audit::digest::open_signed;

const HOUR: i64 = 3600;

async fn serve(dir: &Path, target: &AnchorTarget) -> TestServer {
    let target = target.clone();
    TestServer::start_configured(dir, move |config| {
        config.dev_clock = true;
        config.audit_anchor = Some(target);
    })
    .await
}

/// Some calls, then the dev clock `hours` on from the real time (a restarted server's clock
/// starts there again), past the newest digest by an hour or more: the next digests, and
/// their anchors.
async fn calls_then(server: &TestServer, hours: i64) {
    let client = server.client();
    let key = create_key(&client).await;
    encrypt(&client, &key, b"anchored").await;
    server.advance_clock(hours * HOUR).await;
}

fn anchors(path: &Path) -> Vec<AnchorBody> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| open_signed::<AnchorBody>(line.as_bytes()).unwrap().body)
        .collect()
}

fn verify(dir: &Path, anchor: Option<&Path>) -> Output {
    let mut args = vec!["audit", "verify"];
    if let Some(anchor) = anchor {
        args.extend(["--anchor", anchor.to_str().unwrap()]);
    }
    strongbox(dir, &args)
}

/// The FAILED lines of a verification that failed.
fn findings(output: &Output) -> String {
    assert!(!output.status.success(), "expected findings");
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[tokio::test]
async fn a_rolled_back_or_forked_data_directory_is_caught_by_its_anchors() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let anchor = temp.path().join("elsewhere/anchors.jsonl");
    std::fs::create_dir_all(anchor.parent().unwrap()).unwrap();
    let target = AnchorTarget::File(anchor.clone());

    let server = serve(&dir, &target).await;
    calls_then(&server, 2).await;
    let first = anchors(&anchor);
    // Every chain's digests were anchored (the first pass at start, then the next hour's).
    let home: Vec<&AnchorBody> = first
        .iter()
        .filter(|a| a.aws_account_id == common::ACCOUNT && a.aws_region == common::REGION)
        .collect();
    assert_eq!(
        home.iter().map(|a| a.digest_sequence).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(home[1].last_record_sequence >= 2);
    assert!(first.iter().any(|a| a.aws_region == "eu-west-1"));
    assert_eq!(
        std::fs::metadata(&anchor).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let ok = succeeded(&verify(&dir, Some(&anchor)));
    assert!(ok.contains("anchors in") && ok.contains("OK:"), "{ok}");
    server.stop().await;

    // The operator's (or an intruder's) copy of the whole data directory, then more work.
    let backup = temp.path().join("backup");
    copy_private(&dir, &backup);
    let server = serve(&dir, &target).await;
    calls_then(&server, 4).await;
    server.stop().await;
    assert!(anchors(&anchor).iter().any(|a| a.digest_sequence == 3));

    // Rolled back: the old copy verifies on its own, with everything since gone...
    std::fs::remove_dir_all(&dir).unwrap();
    copy_private(&backup, &dir);
    succeeded(&verify(&dir, None));
    // ... but not against its anchors.
    let caught = findings(&verify(&dir, Some(&anchor)));
    assert!(caught.contains("rolled back"), "{caught}");
    assert!(caught.contains("digest 3"), "{caught}");

    // The rolled-back copy served on: its digest 3 is not the anchored digest 3.
    let server = serve(&dir, &target).await;
    calls_then(&server, 4).await;
    server.stop().await;
    let forked = findings(&verify(&dir, Some(&anchor)));
    assert!(forked.contains("rewritten or forked"), "{forked}");

    // A forged anchor line (its hash changed) is refused, whatever it claims.
    let forged_file = temp.path().join("forged.jsonl");
    let text = std::fs::read_to_string(&anchor).unwrap();
    let line = text.lines().find(|line| !line.is_empty()).unwrap();
    let at = line.find("\"digestHashValue\":\"").unwrap() + 19;
    let flipped = if &line[at..=at] == "0" { "1" } else { "0" };
    let forged = format!("{}{flipped}{}\n", &line[..at], &line[at + 1..]);
    std::fs::write(&forged_file, forged).unwrap();
    let refused = findings(&verify(&dir, Some(&forged_file)));
    assert!(refused.contains("signature does not verify"), "{refused}");
    // An empty anchor file proves nothing: a finding, not a pass.
    std::fs::write(&forged_file, "").unwrap();
    assert!(findings(&verify(&dir, Some(&forged_file))).contains("holds no anchor"));
}

/// A program that appends its standard input to `out`; while `gate` is absent it fails without
/// reading its input, after writing far more to standard error than a pipe holds (a server that
/// did not read both pipes at once would wait for it forever), and it says whether it saw a
/// `STRONGBOX_*` variable.
fn anchor_program(dir: &Path, out: &Path, gate: &Path) -> PathBuf {
    let program = dir.join("push-anchors");
    let script = format!(
        "#!/bin/sh\nset -e\nif env | grep -q '^STRONGBOX_'; then echo leaked >> '{out}.env'; fi\nif [ ! -e '{gate}' ]; then head -c 300000 /dev/zero | tr '\\0' x >&2; echo 'bucket unreachable' >&2; exit 3; fi\ncat >> '{out}'\n",
        gate = gate.display(),
        out = out.display()
    );
    std::fs::write(&program, script).unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o700)).unwrap();
    program
}

/// Moves a `--dev-clock` server's clock (a real binary's) and waits for the pass it runs.
async fn advance(address: std::net::SocketAddr, seconds: i64) {
    let body = format!("{{\"AdvanceSeconds\": {seconds}}}");
    let headers = [("host".to_owned(), "127.0.0.1".to_owned())];
    let request = common::raw::post_to(strongbox::http::DEV_CLOCK_PATH, &headers, body.as_bytes());
    let response = common::raw::send(address, &request).await.unwrap();
    assert_eq!(response.status, 200);
}

fn home_anchors(path: &Path) -> Vec<u64> {
    anchors(path)
        .iter()
        .filter(|a| a.aws_account_id == common::ACCOUNT && a.aws_region == common::REGION)
        .map(|a| a.digest_sequence)
        .collect()
}

#[tokio::test]
async fn a_failing_anchor_program_gets_the_anchors_again_on_the_next_pass() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let out = temp.path().join("received.jsonl");
    let gate = temp.path().join("reachable");
    let program = anchor_program(temp.path(), &out, &gate);
    let target = format!("command:{}", program.display());
    // The real binary: its environment holds STRONGBOX_ variables (bootstrap credentials),
    // which the program must not see.
    let port = common::process::free_port();
    let server = common::process::start(
        temp.path(),
        port,
        &["--dev-clock", "--audit-anchor", &target],
    )
    .await;
    let client = common::process::client(server.address);
    let key = create_key(&client).await;
    encrypt(&client, &key, b"anchored").await;
    advance(server.address, 2 * HOUR).await;
    assert!(!out.exists(), "nothing delivered while the program fails");

    std::fs::write(&gate, "").unwrap();
    advance(server.address, 2 * HOUR).await;
    assert_eq!(
        home_anchors(&out),
        [1, 2, 3],
        "the held anchors, then the new one"
    );
    succeeded(&verify(&dir, Some(&out)));

    // A digest made on demand is anchored with the chain's next scheduled one.
    succeeded(&strongbox(&dir, &["audit", "digest"]));
    advance(server.address, 2 * HOUR).await;
    assert_eq!(home_anchors(&out), [1, 2, 3, 4, 5]);
    assert!(
        !temp.path().join("received.jsonl.env").exists(),
        "the program saw no STRONGBOX_ variable"
    );
    let log = std::fs::read_to_string(temp.path().join("server.log")).unwrap();
    assert!(
        log.contains("bucket unreachable"),
        "the program's error is logged"
    );
    drop(server);
}

#[test]
fn anchor_targets_are_absolute_files_or_programs() {
    assert_eq!(
        AnchorTarget::parse("file:/mnt/a.jsonl").unwrap(),
        AnchorTarget::File("/mnt/a.jsonl".into())
    );
    assert_eq!(
        AnchorTarget::parse("command:/usr/local/bin/push").unwrap(),
        AnchorTarget::Command("/usr/local/bin/push".into())
    );
    assert!(
        AnchorTarget::parse("file:relative")
            .unwrap_err()
            .contains("absolute")
    );
    assert!(
        AnchorTarget::parse("s3://bucket")
            .unwrap_err()
            .contains("expected file:")
    );
}
