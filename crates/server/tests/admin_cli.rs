//! The admin commands as a user runs them from a shell: a closed stdout ends a command quietly
//! (and never leaves behind an access key whose secret nobody saw), tables line up, an unknown
//! account is an error everywhere, each access key prints under a profile of its own. Also what
//! an operator sees of a running server: `/health`, `/ready` and the debug log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::cli::strongbox;
use common::{TestServer, process, raw};

/// Runs the command with a standard output whose reader has already gone, as in
/// `strongbox ... | true`: every write fails with a broken pipe.
fn strongbox_into_closed_pipe(data_dir: &Path, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_strongbox"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// The access key ids listed for `account`.
fn access_key_ids(data_dir: &Path, account: &str) -> Vec<String> {
    let listed = strongbox(data_dir, &["access-key", "list", "--account", account]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    stdout(&listed)
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().next().unwrap().to_owned())
        .collect()
}

/// Every column's cells start where its heading starts.
fn assert_aligned(table: &str) {
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    // A heading starts at a non-blank after two blanks (headings may hold one blank).
    let starts: Vec<usize> = (2..header.len())
        .filter(|&at| &header[at - 2..at] == "  " && header.as_bytes()[at] != b' ')
        .collect();
    assert!(starts.len() >= 2, "{header:?}");
    for line in lines {
        for &at in &starts {
            assert_eq!(&line[at - 2..at], "  ", "{table}");
            assert_ne!(line.as_bytes()[at], b' ', "{table}");
        }
    }
}

#[tokio::test]
async fn a_closed_stdout_ends_commands_quietly() {
    let server = TestServer::start().await;
    let dir = &server.data_dir;
    for args in [
        &["account", "list"][..],
        &["audit", "public-key"],
        &["access-key", "list", "--account", common::ACCOUNT],
    ] {
        let output = strongbox_into_closed_pipe(dir, args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            !stderr(&output).contains("panicked"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn an_access_key_whose_secret_was_not_written_out_is_not_kept() {
    let server = TestServer::start().await;
    let dir = &server.data_dir;
    let before = access_key_ids(dir, common::ACCOUNT);
    let output =
        strongbox_into_closed_pipe(dir, &["access-key", "create", "--account", common::ACCOUNT]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("the access key was not kept"),
        "{}",
        stderr(&output)
    );
    assert_eq!(access_key_ids(dir, common::ACCOUNT), before);
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_account_is_an_error_everywhere() {
    let server = TestServer::start().await;
    let dir = &server.data_dir;
    let unknown = "999999999999";
    for args in [
        &["access-key", "list", "--account", unknown][..],
        &["access-key", "create", "--account", unknown],
        &[
            "access-key",
            "delete",
            "--account",
            unknown,
            "AKIAAAAAAAAAAAAAAAAA",
        ],
        &["audit", "digest", "--account", unknown],
    ] {
        let output = strongbox(dir, args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(stdout(&output).is_empty(), "{args:?}: {}", stdout(&output));
        assert!(
            stderr(&output).contains("Account 999999999999 does not exist"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn tables_line_up_with_their_headers() {
    let server = TestServer::start().await;
    let dir = &server.data_dir;
    let created = strongbox(
        dir,
        &["account", "create", "--name", "a tenant with a long name"],
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let account = stdout(&created).trim().to_owned();
    for user in ["alice", "a-much-longer-user-name"] {
        let created = strongbox(dir, &["user", "create", "--account", &account, user]);
        assert!(created.status.success(), "{}", stderr(&created));
        let key = strongbox(
            dir,
            &[
                "access-key",
                "create",
                "--account",
                &account,
                "--user",
                user,
            ],
        );
        assert!(key.status.success(), "{}", stderr(&key));
    }
    let accounts = strongbox(dir, &["account", "list"]);
    assert_aligned(&stdout(&accounts));
    assert_eq!(stdout(&accounts).lines().count(), 3);
    let keys = strongbox(dir, &["access-key", "list", "--account", &account]);
    assert_aligned(&stdout(&keys));
    assert_eq!(stdout(&keys).lines().count(), 3);
    server.stop().await;
}

#[tokio::test]
async fn each_access_key_prints_under_a_profile_of_its_own() {
    let server = TestServer::start().await;
    let dir = &server.data_dir;
    let unknown = strongbox(
        dir,
        &[
            "access-key",
            "create",
            "--account",
            common::ACCOUNT,
            "--user",
            "alice",
        ],
    );
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("The user with name alice cannot be found."),
        "{}",
        stderr(&unknown)
    );
    let user = strongbox(
        dir,
        &["user", "create", "--account", common::ACCOUNT, "alice"],
    );
    assert!(user.status.success(), "{}", stderr(&user));
    assert_eq!(
        stdout(&user).trim(),
        format!("arn:aws:iam::{}:user/alice", common::ACCOUNT)
    );
    let output = strongbox(
        dir,
        &[
            "access-key",
            "create",
            "--account",
            common::ACCOUNT,
            "--user",
            "alice",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let profile = format!("strongbox-{}-alice", common::ACCOUNT);
    let text = stdout(&output);
    assert!(text.starts_with(&format!("[{profile}]\n")), "{text}");
    assert!(!text.contains("[strongbox]"), "{text}");
    assert!(
        stderr(&output).contains(&format!("--profile {profile}")),
        "{}",
        stderr(&output)
    );
    // Appended to the bootstrap credentials file, both profiles work with the aws CLI's parser.
    let credentials = std::fs::read_to_string(dir.join("credentials")).unwrap() + &text;
    let sections: Vec<&str> = credentials
        .lines()
        .filter(|line| line.starts_with('['))
        .collect();
    assert_eq!(sections, ["[strongbox]", &format!("[{profile}]")]);

    let bad = strongbox(
        dir,
        &[
            "access-key",
            "create",
            "--account",
            common::ACCOUNT,
            "--user",
            "bad name]",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("userName"), "{}", stderr(&bad));
    server.stop().await;
}

#[tokio::test]
async fn readiness_checks_the_root_key_and_health_only_liveness() {
    let server = TestServer::start().await;
    let get = |path: &'static str| {
        let address = server.address;
        async move {
            let response = raw::send(address, &raw::get(path)).await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
            (response.status, body)
        }
    };
    assert_eq!(
        get("/ready").await,
        (200, serde_json::json!({"status": "ready"}))
    );
    assert_eq!(
        get("/health").await,
        (200, serde_json::json!({"status": "ok"}))
    );

    // The store now holds a check value sealed under another root key, as after restoring a
    // database next to the wrong root.key.
    let database = server.data_dir.join("strongbox.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", database.display()))
        .await
        .unwrap();
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT value FROM meta WHERE name = 'root-key-check'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let mut forged = stored.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    sqlx::query("UPDATE meta SET value = ? WHERE name = 'root-key-check'")
        .bind(&forged)
        .execute(&pool)
        .await
        .unwrap();
    let (status, body) = get("/ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["failed"][0]["check"], "root_key", "{body}");
    assert!(
        body["failed"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("root key"),
        "{body}"
    );
    // Alive all the same.
    assert_eq!(get("/health").await.0, 200);

    sqlx::query("UPDATE meta SET value = ? WHERE name = 'root-key-check'")
        .bind(&stored)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(get("/ready").await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn the_debug_log_has_request_lines_and_no_sql() {
    let dir = tempfile::tempdir().unwrap();
    let port = process::free_port();
    let mut server =
        process::start_with_env(dir.path(), port, &[], &[("STRONGBOX_LOG", "debug")]).await;
    let client = process::client(server.address);
    client.list_keys().send().await.unwrap();
    client.create_key().send().await.unwrap();
    server.child.kill().await.unwrap();
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    let request_line = log
        .lines()
        .find(|line| line.contains("request") && line.contains("CreateKey"))
        .unwrap_or_else(|| panic!("a request line for CreateKey: {log}"));
    for field in [
        "request_id=",
        "account=111122223333",
        "status=200",
        "micros=",
    ] {
        assert!(request_line.contains(field), "{field} in {request_line}");
    }
    assert!(
        !log.contains("sqlx::query"),
        "SQL statements belong at trace: {log}"
    );
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let port = process::free_port();
    let mut server = process::start_with_env(
        dir.path(),
        port,
        &["--log-format", "json"],
        &[("STRONGBOX_LOG", "debug")],
    )
    .await;
    process::client(server.address)
        .list_keys()
        .send()
        .await
        .unwrap();
    server.child.kill().await.unwrap();
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let request = lines
        .iter()
        .find(|line| line["fields"]["message"] == "request")
        .unwrap_or_else(|| panic!("a request line: {log}"));
    assert_eq!(request["fields"]["operation"], "ListKeys");
    assert_eq!(request["fields"]["account"], common::ACCOUNT);
    assert_eq!(request["fields"]["status"], 200);
    assert!(request["timestamp"].is_string() && request["level"] == "DEBUG");
}

#[tokio::test]
async fn metrics_are_served_in_prometheus_text() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = common::create_key(&client).await;
    client
        .encrypt()
        .key_id(&key)
        .plaintext(aws_sdk_kms::primitives::Blob::new("m"))
        .send()
        .await
        .unwrap();
    let _ = client.describe_key().key_id("alias/none").send().await;
    let response = raw::send(server.address, &raw::get("/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert!(
        response
            .header("content-type")
            .is_some_and(|value| value.starts_with("text/plain")),
    );
    let text = String::from_utf8(response.body).unwrap();
    for expected in [
        format!(
            r#"strongbox_requests_total{{operation="CreateKey",account="{}",code="OK"}}"#,
            common::ACCOUNT
        ),
        format!(
            r#"strongbox_requests_total{{operation="DescribeKey",account="{}",code="NotFoundException"}}"#,
            common::ACCOUNT
        ),
        r#"strongbox_request_duration_seconds_bucket{operation="Encrypt",le="0.005"}"#.to_owned(),
        "strongbox_audit_write_seconds_bucket".to_owned(),
        "strongbox_audit_batch_records".to_owned(),
        r#"strongbox_key_cache_lookups_total{result="hit"}"#.to_owned(),
        "strongbox_open_connections".to_owned(),
        "strongbox_data_dir_free_bytes".to_owned(),
        "strongbox_scheduler_lag_seconds".to_owned(),
        "strongbox_sealed 0".to_owned(),
        "strongbox_root_keys 1".to_owned(),
        "# HELP strongbox_requests_total".to_owned(),
    ] {
        assert!(text.contains(&expected), "{expected} in:\n{text}");
    }
    server.stop().await;
}

#[tokio::test]
async fn metrics_can_have_a_listener_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let metrics_port = process::free_port();
    let metrics_address = format!("127.0.0.1:{metrics_port}");
    let server = process::start(
        dir.path(),
        process::free_port(),
        &["--metrics-listen", &metrics_address],
    )
    .await;
    let main = raw::send(server.address, &raw::get("/metrics"))
        .await
        .unwrap();
    assert_eq!(main.status, 404, "not on the API listener");
    let own = raw::send(metrics_address.parse().unwrap(), &raw::get("/metrics"))
        .await
        .unwrap();
    assert_eq!(own.status, 200);
    assert!(String::from_utf8_lossy(&own.body).contains("strongbox_open_connections"));
}

#[tokio::test]
async fn the_server_process_writes_no_core_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = process::start(dir.path(), process::free_port(), &[]).await;
    let pid = server.child.id().expect("running");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|line| line.starts_with("Max core file size"))
        .expect("a core limit line");
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{core}");
}
