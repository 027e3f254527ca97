//! The passphrase and Shamir seals end to end, as an operator runs them: `strongbox init`, the
//! real binary serving (sealed until `strongbox operator unseal`), wrong secrets refused with
//! clear messages and nothing unsealed, rekey, root rotation, and the root key's bytes found
//! nowhere on disk. Also: a crashing server leaves no core dump.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use aws_sdk_kms::primitives::Blob;
use common::cli::{failed, files_holding, strongbox_with, succeeded};
use common::{failure, process, raw};
use strongbox_seal::{KeyWrapper, SealChoice, SealFile, passphrase};

const PASSPHRASE: &str = "correct horse battery staple";

/// A file holding `text` (mode 0600).
fn secret_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{text}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

async fn ready(address: std::net::SocketAddr) -> (u16, serde_json::Value) {
    let response = raw::send(address, &raw::get("/ready")).await.unwrap();
    (response.status, response.json())
}

async fn encrypt(client: &aws_sdk_kms::Client) -> (String, Blob) {
    let key = common::create_key(client).await;
    let blob = common::encrypt(client, &key, b"sealed away").await;
    (key, blob)
}

async fn decrypts(client: &aws_sdk_kms::Client, blob: &Blob) {
    assert_eq!(common::decrypt(client, blob).await, b"sealed away");
}

/// While sealed: `/ready` says so, and every call answers `KMSInternalException` saying the
/// service is sealed, nothing more.
async fn answers_sealed(address: std::net::SocketAddr) {
    let (status, body) = ready(address).await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "sealed");
    let metrics = raw::send(address, &raw::get("/metrics")).await.unwrap();
    assert!(String::from_utf8_lossy(&metrics.body).contains("strongbox_sealed 1"));
    let client = process::client(address);
    let (code, message) = failure(client.list_keys().send().await);
    assert_eq!(code, "KMSInternalException");
    assert!(message.starts_with("The service is sealed"), "{message}");
}

#[tokio::test]
async fn the_passphrase_seal_from_init_to_rekey() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let passphrase_file = secret_file(temp.path(), "passphrase", PASSPHRASE);
    let short = secret_file(temp.path(), "short", "too short");
    let with = |file: &Path| vec![("STRONGBOX_PASSPHRASE_FILE", file.to_owned())];
    let env =
        |pairs: &[(&'static str, PathBuf)]| -> Vec<(&'static str, PathBuf)> { pairs.to_vec() };

    let refused = strongbox_with(
        &dir,
        &["init", "--seal", "passphrase"],
        &[("STRONGBOX_PASSPHRASE_FILE", &short)],
        "",
    );
    assert!(failed(&refused).contains("at least 12 characters"));
    let made = strongbox_with(
        &dir,
        &["init", "--seal", "passphrase"],
        &[("STRONGBOX_PASSPHRASE_FILE", &passphrase_file)],
        "",
    );
    assert!(succeeded(&made).contains("passphrase seal"));
    let again = strongbox_with(&dir, &["init", "--seal", "shamir"], &[], "");
    assert!(failed(&again).contains("already has a seal"));
    // The choice and its parameters are recorded; the passphrase, nowhere.
    let file = SealFile::read(&dir.join("root.sealed")).unwrap();
    let SealChoice::Passphrase { argon2id, salt } = &file.choice else {
        panic!("{:?}", file.choice)
    };
    assert_eq!(argon2id.memory_kib, 64 * 1024);
    assert!(files_holding(&dir, PASSPHRASE.as_bytes()).is_empty());

    // Started with the passphrase (from a file descriptor: fd 0 as /dev/fd/0).
    let port = process::free_port();
    let mut server = {
        let env = env(&with(Path::new("/dev/fd/0")));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.to_str().unwrap())).collect();
        let server = process::spawn_with_stdin(temp.path(), port, &[], &env, PASSPHRASE);
        process::wait_healthy(&server, temp.path()).await;
        server
    };
    let client = process::client(server.address);
    let (_, blob) = encrypt(&client).await;
    // The root key, unwrapped here with the passphrase, is in no file of the data directory.
    let salt = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, salt).unwrap();
    let wrapping = passphrase::derive(PASSPHRASE.as_bytes(), &salt, *argon2id).unwrap();
    let roots = file.open_roots(&KeyWrapper(wrapping)).unwrap();
    let root = roots[0].expose().to_vec();
    assert!(files_holding(&dir, &root).is_empty());
    server.child.kill().await.unwrap();

    // Started without it: sealed until an operator unseals.
    let mut server = process::start_with_env(temp.path(), port, &[], &[]).await;
    answers_sealed(server.address).await;
    // A root.sealed that the passphrase opens, but whose root key is not this store's (another
    // deployment's, same passphrase and salt): refused, still sealed.
    let ours = std::fs::read(dir.join("root.sealed")).unwrap();
    let mut foreign = file.clone();
    foreign.roots.clear();
    let wrapping = passphrase::derive(PASSPHRASE.as_bytes(), &salt, *argon2id).unwrap();
    foreign
        .push_root(
            &KeyWrapper(wrapping),
            &strongbox_crypto::LockedKey::generate().unwrap(),
        )
        .unwrap();
    std::fs::remove_file(dir.join("root.sealed")).unwrap();
    foreign.write(&dir.join("root.sealed"), true).unwrap();
    let foreign = strongbox_with(
        &dir,
        &["operator", "unseal"],
        &[],
        &format!("{PASSPHRASE}\n"),
    );
    assert!(failed(&foreign).contains("does not match this store"));
    answers_sealed(server.address).await;
    std::fs::write(dir.join("root.sealed"), ours).unwrap();
    let wrong = strongbox_with(&dir, &["operator", "unseal"], &[], "not the passphrase\n");
    assert!(failed(&wrong).contains("the passphrase does not open the root key"));
    answers_sealed(server.address).await;
    let unsealed = strongbox_with(
        &dir,
        &["operator", "unseal"],
        &[],
        &format!("{PASSPHRASE}\n"),
    );
    assert!(succeeded(&unsealed).contains("unsealed (passphrase seal)"));
    assert_eq!(ready(server.address).await.0, 200);
    decrypts(&client_of(&server), &blob).await;
    // Unsealed over the admin socket: the root key lives once, in its locked page; neither
    // the passphrase nor a copy of the root key is left in the server's memory.
    let pid = server.child.id().unwrap();
    let readable = copies_in_memory(pid, &root);
    assert!(
        readable.is_some() || !rustix::process::geteuid().is_root(),
        "root reads any process's memory"
    );
    if let Some(copies) = readable {
        assert_eq!(copies.len(), 1, "{copies:x?}");
        assert!(!memlock_allowed() || copies[0].1, "in a locked mapping");
        let passphrase = copies_in_memory(pid, PASSPHRASE.as_bytes()).unwrap();
        assert!(passphrase.is_empty(), "{passphrase:x?}");
    }
    let status = strongbox_with(&dir, &["operator", "status"], &[], "");
    assert!(succeeded(&status).contains("unsealed"));

    // Admin commands ask for the passphrase too; the root rotates while the server serves.
    let listed = strongbox_with(&dir, &["account", "list"], &[], &format!("{PASSPHRASE}\n"));
    assert!(succeeded(&listed).contains("111122223333"));
    let wrong = strongbox_with(&dir, &["account", "list"], &[], "nope nope nope\n");
    assert!(failed(&wrong).contains("does not open the root key"));
    let rotated = strongbox_with(
        &dir,
        &["operator", "rotate-root"],
        &[("STRONGBOX_PASSPHRASE_FILE", &passphrase_file)],
        "",
    );
    assert!(succeeded(&rotated).contains("root key rotated"));
    assert_eq!(
        SealFile::read(&dir.join("root.sealed"))
            .unwrap()
            .roots
            .len(),
        1
    );
    decrypts(&client_of(&server), &blob).await;

    // Rekey: refused while the server runs, then done with the old and the new passphrase.
    let new_file = secret_file(temp.path(), "new", "a brand new passphrase");
    let rekey_env = [
        ("STRONGBOX_PASSPHRASE_FILE", passphrase_file.as_path()),
        ("STRONGBOX_NEW_PASSPHRASE_FILE", new_file.as_path()),
    ];
    let busy = strongbox_with(&dir, &["operator", "rekey"], &rekey_env, "");
    assert!(failed(&busy).contains("stop it to rekey"));
    server.child.kill().await.unwrap();
    server.child.wait().await.unwrap();
    let rekeyed = strongbox_with(&dir, &["operator", "rekey"], &rekey_env, "");
    assert!(succeeded(&rekeyed).contains("rekeyed"));
    // The old passphrase no longer starts it: the server refuses to start, saying why.
    let old = Command::new(env!("CARGO_BIN_EXE_strongbox"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env("STRONGBOX_PASSPHRASE_FILE", &passphrase_file)
        .output()
        .unwrap();
    assert!(failed(&old).contains("the passphrase does not open the root key"));
    let server = process::start_with_env(
        temp.path(),
        port,
        &[],
        &[("STRONGBOX_PASSPHRASE_FILE", new_file.to_str().unwrap())],
    )
    .await;
    decrypts(&client_of(&server), &blob).await;
}

fn client_of(server: &process::Server) -> aws_sdk_kms::Client {
    process::client(server.address)
}

/// `strongbox init --seal shamir --shares 3 --threshold 2` on `dir`, with `extra` flags.
fn init_shamir_3_of_2(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "init",
        "--seal",
        "shamir",
        "--shares",
        "3",
        "--threshold",
        "2",
    ];
    args.extend_from_slice(extra);
    strongbox_with(dir, &args, &[], "")
}

/// The shares `init` wrote to `dir`, in order.
fn shares_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    names.sort();
    names
        .iter()
        .map(|path| {
            assert_eq!(
                std::fs::metadata(path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            std::fs::read_to_string(path).unwrap().trim().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_shamir_seal_starts_sealed_and_opens_at_its_threshold() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let share_dir = temp.path().join("shares");
    let share_dir_arg = share_dir.to_str().unwrap();
    let refused = strongbox_with(
        &dir,
        &[
            "init",
            "--seal",
            "shamir",
            "--shares",
            "3",
            "--threshold",
            "4",
        ],
        &[],
        "",
    );
    assert!(failed(&refused).contains("--threshold"));
    let made = init_shamir_3_of_2(&dir, &["--share-dir", share_dir_arg]);
    assert!(succeeded(&made).contains("wrote 3 shares"));
    let shares = shares_in(&share_dir);
    assert_eq!(shares.len(), 3);

    let port = process::free_port();
    let server = process::start_with_env(temp.path(), port, &[], &[]).await;
    // Sealed at its first start: nothing is made (not even the default account) until then.
    let (status, body) = ready(server.address).await;
    assert_eq!((status, body["status"].as_str()), (503, Some("sealed")));
    assert!(!dir.join("credentials").exists());
    let unseal =
        |share: &str| strongbox_with(&dir, &["operator", "unseal"], &[], &format!("{share}\n"));
    assert!(succeeded(&unseal(&shares[0])).contains("1 of 2 shares held; 1 more needed"));
    // The same share again counts once; not-a-share and a share of another set are refused.
    assert!(succeeded(&unseal(&shares[0])).contains("1 of 2 shares held"));
    assert!(failed(&unseal("hello")).contains("not a Strongbox share"));
    let foreign = format!("00000000{}", &shares[1][8..]);
    let refused = failed(&unseal(&foreign));
    assert!(refused.contains("belongs to another set"), "{refused}");
    assert!(
        !refused.contains("00000000"),
        "what was submitted is not echoed"
    );
    // A mistyped share: the threshold is reached, the key is wrong, nothing unseals, and the
    // shares are forgotten.
    let mut typo = shares[1].clone().into_bytes();
    let at = typo.len() - 5;
    typo[at] = if typo[at] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).unwrap();
    assert!(failed(&unseal(&typo)).contains("the shares do not open the root key"));
    assert_eq!(ready(server.address).await.0, 503);
    assert!(succeeded(&unseal(&shares[2])).contains("1 of 2 shares held"));
    assert!(succeeded(&unseal(&shares[1])).contains("unsealed (shamir seal)"));
    assert_eq!(ready(server.address).await.0, 200);
    // The first start's bootstrap ran once unsealed: the default account answers.
    let client = client_of(&server);
    let (_, blob) = encrypt(&client).await;
    drop(server);

    // A rekey whose shares cannot be written (the directory already holds share files)
    // changes nothing: the old shares still open it.
    let refused = strongbox_with(
        &dir,
        &["operator", "rekey", "--share-dir", share_dir_arg],
        &[],
        &format!("{}\n{}\n", shares[0], shares[2]),
    );
    assert!(failed(&refused).contains("share-1"));
    let unchanged = SealFile::read(&dir.join("root.sealed")).unwrap();
    let SealChoice::Shamir { set, .. } = &unchanged.choice else {
        panic!()
    };
    assert!(shares[0].starts_with(set.as_str()));
    // Rekey to a new set of 2 (the old shares, two of them, on standard input).
    let new_dir = temp.path().join("new-shares");
    let rekeyed = strongbox_with(
        &dir,
        &[
            "operator",
            "rekey",
            "--shares",
            "2",
            "--threshold",
            "2",
            "--share-dir",
            new_dir.to_str().unwrap(),
        ],
        &[],
        &format!("{}\n{}\n", shares[0], shares[2]),
    );
    assert!(succeeded(&rekeyed).contains("rekeyed"));
    let new_shares = shares_in(&new_dir);
    assert_eq!(new_shares.len(), 2);
    let server = process::start_with_env(temp.path(), port, &[], &[]).await;
    answers_sealed(server.address).await;
    assert!(failed(&unseal(&shares[0])).contains("belongs to another set"));
    unseal(&new_shares[0]);
    assert!(succeeded(&unseal(&new_shares[1])).contains("unsealed"));
    decrypts(&client_of(&server), &blob).await;
}

#[tokio::test]
async fn a_crashing_server_leaves_no_core_dump() {
    // Allow core dumps as far as this machine does (the server inherits the limit), so that
    // only the server's own hardening can prevent one.
    let core = rustix::process::getrlimit(rustix::process::Resource::Core);
    rustix::process::setrlimit(
        rustix::process::Resource::Core,
        rustix::process::Rlimit {
            current: core.maximum,
            maximum: core.maximum,
        },
    )
    .unwrap();
    let temp = tempfile::tempdir().unwrap();
    let port = process::free_port();
    let mut server = process::start(temp.path(), port, &[]).await;
    let pid = server.child.id().unwrap();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap(),
        // SIGABRT: its default action dumps core (Rust handles SIGSEGV itself, for stack
        // overflows, and a SIGSEGV sent by kill(2) would not end the process).
        rustix::process::Signal::ABORT,
    )
    .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), server.child.wait())
        .await
        .unwrap()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(6), "{status:?}");
    assert!(!status.core_dumped(), "the kernel wrote no core dump");
    let root = std::fs::read(temp.path().join("data/root.key")).unwrap();
    for dir in [temp.path().to_owned(), temp.path().join("data")] {
        assert!(
            files_holding(&dir, &root)
                .iter()
                .all(|path| path.ends_with("data/root.key")),
            "only root.key holds the root key"
        );
    }
}

/// A SoftHSM2 token labelled `strongbox` (user PIN 1234) in `dir`; returns its configuration
/// file, for `SOFTHSM2_CONF`.
fn softhsm_token(dir: &Path) -> PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let made = Command::new("softhsm2-util")
        .args([
            "--init-token",
            "--free",
            "--label",
            "strongbox",
            "--so-pin",
            "87654321",
            "--pin",
            "1234",
        ])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("softhsm2-util runs (install the softhsm2 package: .ci/run does)");
    assert!(made.status.success(), "{made:?}");
    conf
}

const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

#[tokio::test]
async fn the_pkcs11_seal_with_softhsm() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let conf = softhsm_token(temp.path());
    let pin = secret_file(temp.path(), "pin", "1234");
    let wrong_pin = secret_file(temp.path(), "wrong-pin", "4321");
    let init = |token: &str, pin: &Path| {
        strongbox_with(
            &dir,
            &[
                "init",
                "--seal",
                "pkcs11",
                "--pkcs11-module",
                SOFTHSM_MODULE,
                "--pkcs11-token-label",
                token,
            ],
            &[("SOFTHSM2_CONF", &conf), ("STRONGBOX_PKCS11_PIN_FILE", pin)],
            "",
        )
    };
    assert!(failed(&init("nonesuch", &pin)).contains("no token labelled \"nonesuch\""));
    // A module others could write is never loaded (it would be handed the PIN).
    let writable = temp.path().join("libother.so");
    std::fs::copy(SOFTHSM_MODULE, &writable).unwrap();
    std::fs::set_permissions(&writable, std::fs::Permissions::from_mode(0o666)).unwrap();
    let refused = strongbox_with(
        &dir,
        &[
            "init",
            "--seal",
            "pkcs11",
            "--pkcs11-module",
            writable.to_str().unwrap(),
            "--pkcs11-token-label",
            "strongbox",
        ],
        &[
            ("SOFTHSM2_CONF", &conf),
            ("STRONGBOX_PKCS11_PIN_FILE", &pin),
        ],
        "",
    );
    assert!(failed(&refused).contains("writable by no one else"));
    assert!(failed(&init("strongbox", &wrong_pin)).contains("refused the PIN (CKR_PIN_INCORRECT)"));
    assert!(!dir.join("root.sealed").exists(), "nothing made");
    assert!(succeeded(&init("strongbox", &pin)).contains("pkcs11 seal"));
    let file = SealFile::read(&dir.join("root.sealed")).unwrap();
    assert!(
        matches!(file.choice, SealChoice::Pkcs11 { .. }),
        "{:?}",
        file.choice
    );

    let port = process::free_port();
    let env = [
        ("SOFTHSM2_CONF", conf.to_str().unwrap()),
        ("STRONGBOX_PKCS11_PIN_FILE", pin.to_str().unwrap()),
    ];
    let mut server = process::start_with_env(temp.path(), port, &[], &env).await;
    assert_eq!(ready(server.address).await.0, 200);
    let client = client_of(&server);
    let (_, blob) = encrypt(&client).await;
    // The root rotates while the server serves (the admin CLI logs in to the token too).
    let hsm_env = [
        ("SOFTHSM2_CONF", conf.as_path()),
        ("STRONGBOX_PKCS11_PIN_FILE", pin.as_path()),
    ];
    let rotated = strongbox_with(&dir, &["operator", "rotate-root"], &hsm_env, "");
    assert!(succeeded(&rotated).contains("root key rotated"));
    let after = SealFile::read(&dir.join("root.sealed")).unwrap();
    assert_eq!(after.roots.len(), 1);
    assert_ne!(after.roots, file.roots);
    decrypts(&client, &blob).await;
    server.child.kill().await.unwrap();
    server.child.wait().await.unwrap();
    // A wrong PIN, or none: the server refuses to start, saying why.
    let serve = |env: &[(&str, &Path)]| {
        Command::new(env!("CARGO_BIN_EXE_strongbox"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&dir)
            .env_remove("STRONGBOX_PKCS11_PIN")
            .envs(env.iter().map(|(name, value)| (*name, value.as_os_str())))
            .output()
            .unwrap()
    };
    let refused = serve(&[
        ("SOFTHSM2_CONF", &conf),
        ("STRONGBOX_PKCS11_PIN_FILE", &wrong_pin),
    ]);
    assert!(failed(&refused).contains("CKR_PIN_INCORRECT"));
    let refused = serve(&[("SOFTHSM2_CONF", &conf)]);
    assert!(failed(&refused).contains("STRONGBOX_PKCS11_PIN_FILE"));
    // Started again with the right PIN, the data written before the rotation decrypts.
    let server = process::start_with_env(temp.path(), port, &[], &env).await;
    decrypts(&client_of(&server), &blob).await;
}

#[tokio::test]
async fn the_file_seal_warns_when_others_can_reach_the_server() {
    let temp = tempfile::tempdir().unwrap();
    let log_of = |listen: &str, name: &str| {
        let log = temp.path().join(name);
        let mut child = Command::new(env!("CARGO_BIN_EXE_strongbox"))
            .args(["serve", "--listen", listen, "--data-dir"])
            .arg(temp.path().join("data"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut text = String::new();
        for _ in 0..400 {
            text = std::fs::read_to_string(&log).unwrap();
            if text.contains("strongbox is serving") {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        text
    };
    let port = process::free_port();
    let warning = "the root key is a plain file in the data directory";
    let everywhere = log_of(&format!("0.0.0.0:{port}"), "everywhere.log");
    assert!(everywhere.contains("strongbox is serving"), "{everywhere}");
    assert!(everywhere.contains(warning), "{everywhere}");
    let loopback = log_of(&format!("127.0.0.1:{port}"), "loopback.log");
    assert!(loopback.contains("strongbox is serving"), "{loopback}");
    assert!(!loopback.contains(warning), "{loopback}");
}

#[tokio::test]
async fn a_file_seal_converts_to_a_passphrase_seal() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let passphrase_file = secret_file(temp.path(), "passphrase", PASSPHRASE);
    let with_passphrase = [("STRONGBOX_PASSPHRASE_FILE", passphrase_file.as_path())];
    let convert = ["init", "--convert", "--seal", "passphrase"];
    let port = process::free_port();
    let mut server = process::start(temp.path(), port, &[]).await;
    let (_, blob) = encrypt(&client_of(&server)).await;
    let old_root = std::fs::read(dir.join("root.key")).unwrap();
    let busy = strongbox_with(&dir, &convert, &with_passphrase, "");
    assert!(failed(&busy).contains("stop it to convert"));
    server.child.kill().await.unwrap();
    server.child.wait().await.unwrap();
    let refused = strongbox_with(&dir, &["init", "--convert", "--seal", "file"], &[], "");
    assert!(failed(&refused).contains("choose --seal passphrase"));

    let converted = succeeded(&strongbox_with(&dir, &convert, &with_passphrase, ""));
    assert!(converted.contains("operator rotate-root"), "{converted}");
    assert!(!dir.join("root.key").exists());
    let again = strongbox_with(&dir, &convert, &with_passphrase, "");
    assert!(failed(&again).contains("no file seal to convert"));
    // The same root key, now behind the passphrase: what it sealed opens.
    let env = [(
        "STRONGBOX_PASSPHRASE_FILE",
        passphrase_file.to_str().unwrap(),
    )];
    let server = process::start_with_env(temp.path(), port, &[], &env).await;
    decrypts(&client_of(&server), &blob).await;
    // Rotated, as the command advises: the old root key is in no file, and all still opens.
    succeeded(&strongbox_with(
        &dir,
        &["operator", "rotate-root"],
        &with_passphrase,
        "",
    ));
    assert!(files_holding(&dir, &old_root).is_empty());
    decrypts(&client_of(&server), &blob).await;
}

/// Where `secret` lies in the readable memory of process `pid`, and whether the mapping that
/// holds each copy has locked pages (`Locked:` in smaps). `None` when this process may not
/// read the other's memory (it is not dumpable: reading needs `CAP_SYS_PTRACE`).
fn copies_in_memory(pid: u32, secret: &[u8]) -> Option<Vec<(u64, bool)>> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).ok()?;
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).ok()?;
    let mut regions: Vec<(u64, u64, bool, bool)> = vec![];
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) =
                (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
        {
            let readable = words.next().is_some_and(|perms| perms.starts_with('r'));
            regions.push((start, end, readable, false));
        } else if first == "Locked:"
            && let Some(region) = regions.last_mut()
        {
            region.3 = words.next().is_some_and(|kib| kib != "0");
        }
    }
    let mut copies = vec![];
    for (start, end, readable, locked) in regions {
        if !readable || mem.seek(SeekFrom::Start(start)).is_err() {
            continue;
        }
        let mut bytes = vec![0; usize::try_from(end - start).unwrap()];
        // Guard pages and [vvar] refuse reads: they hold nothing of ours.
        if mem.read_exact(&mut bytes).is_err() {
            continue;
        }
        let mut at = 0;
        while let Some(found) = memchr::memmem::find(&bytes[at..], secret) {
            copies.push((start + (at + found) as u64, locked));
            at += found + 1;
        }
    }
    Some(copies)
}

#[tokio::test]
async fn the_root_key_and_an_account_key_live_once_each_in_locked_memory() {
    let temp = tempfile::tempdir().unwrap();
    let port = process::free_port();
    let server = process::start(temp.path(), port, &[]).await;
    let client = client_of(&server);
    // Work that unseals, seals and wraps: keys of several kinds, a rotation, crypto.
    let (key, blob) = encrypt(&client).await;
    decrypts(&client, &blob).await;
    client
        .rotate_key_on_demand()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    for (spec, usage) in [
        (
            aws_sdk_kms::types::KeySpec::Rsa2048,
            aws_sdk_kms::types::KeyUsageType::SignVerify,
        ),
        (
            aws_sdk_kms::types::KeySpec::EccNistP256,
            aws_sdk_kms::types::KeyUsageType::SignVerify,
        ),
        (
            aws_sdk_kms::types::KeySpec::Hmac256,
            aws_sdk_kms::types::KeyUsageType::GenerateVerifyMac,
        ),
    ] {
        client
            .create_key()
            .key_spec(spec)
            .key_usage(usage)
            .send()
            .await
            .unwrap();
    }
    for _ in 0..10 {
        decrypts(
            &client,
            &common::encrypt(&client, &key, b"sealed away").await,
        )
        .await;
    }

    // The secrets, opened here from the data directory: the root key, and the bootstrap
    // account's key-encryption key unsealed under it.
    let dir = temp.path().join("data");
    let root = std::fs::read(dir.join("root.key")).unwrap();
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.join("strongbox.db").display()))
        .await
        .unwrap();
    let (account, sealed): (String, Vec<u8>) =
        sqlx::query_as("SELECT account_id, sealed FROM account_keks")
            .fetch_one(&db)
            .await
            .unwrap();
    db.close().await;
    let seal = strongbox_seal::RootSeal::open(std::sync::Arc::new(
        strongbox_seal::FileRoots::open_or_create(&dir.join("root.key")).unwrap(),
    ))
    .unwrap();
    let binding = strongbox_core::Binding::new("strongbox/account-kek").field(&account);
    let kek = strongbox_core::Seal::unseal(
        &seal,
        binding.as_bytes(),
        &strongbox_core::SealedKey::from_bytes(sealed),
    )
    .unwrap();
    let kek = kek.expose().to_vec();
    assert_eq!(kek.len(), 32);

    let pid = server.child.id().unwrap();
    let euid_root = rustix::process::geteuid().is_root();
    // The scan finds what is there: the key's id, held by the key cache.
    if let Some(ids) = copies_in_memory(pid, key.as_bytes()) {
        assert!(!ids.is_empty());
    }
    for (name, secret) in [("root key", &root), ("account key-encryption key", &kek)] {
        let Some(copies) = copies_in_memory(pid, secret) else {
            assert!(!euid_root, "root reads any process's memory");
            eprintln!("skipped: this user may not read the server's memory (not dumpable)");
            return;
        };
        // Exactly one copy: the locked page it lives on. No stale copy was left behind by
        // unsealing, caching or the cryptography that used it.
        assert_eq!(copies.len(), 1, "copies of the {name}: {copies:x?}");
        if memlock_allowed() {
            assert!(copies[0].1, "the {name} lies in a locked mapping");
        }
    }
}

/// Whether RLIMIT_MEMLOCK lets the server lock a few pages (as this process's limit says).
fn memlock_allowed() -> bool {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Memlock);
    limit.current.is_none_or(|bytes| bytes >= 64 * 1024)
}

#[tokio::test]
async fn shamir_shares_encrypted_to_their_holders_age_keys() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let share_dir = temp.path().join("shares");
    let holders: Vec<age::x25519::Identity> =
        (0..3).map(|_| age::x25519::Identity::generate()).collect();
    let public: Vec<String> = holders.iter().map(|h| h.to_public().to_string()).collect();
    let init = |extra: &[&str]| init_shamir_3_of_2(&dir, extra);
    // Refused before anything is made: no directory, a count that differs, not a key.
    let refused = init(&[
        "--share-recipient",
        &public[0],
        "--share-recipient",
        &public[1],
        "--share-recipient",
        &public[2],
    ]);
    assert!(failed(&refused).contains("needs --share-dir"));
    let dir_arg = share_dir.to_str().unwrap();
    let refused = init(&[
        "--share-dir",
        dir_arg,
        "--share-recipient",
        &public[0],
        "--share-recipient",
        &public[1],
    ]);
    assert!(failed(&refused).contains("2 share recipients for 3 shares"));
    let refused = init(&["--share-dir", dir_arg, "--share-recipient", "age1nonsense"]);
    assert!(failed(&refused).contains("not an age public key"));
    assert!(!dir.join("root.sealed").exists() && !share_dir.exists());

    let made = init(&[
        "--share-dir",
        dir_arg,
        "--share-recipient",
        &public[0],
        "--share-recipient",
        &public[1],
        "--share-recipient",
        &public[2],
    ]);
    assert!(succeeded(&made).contains("each encrypted to its holder's age key"));
    let mut names: Vec<String> = std::fs::read_dir(&share_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["share-1.age", "share-2.age", "share-3.age"]);
    let mut shares = vec![];
    for (n, holder) in holders.iter().enumerate() {
        let path = share_dir.join(&names[n]);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let armored = std::fs::read(&path).unwrap();
        assert!(armored.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
        // Only its holder opens it.
        let other = &holders[(n + 1) % holders.len()];
        assert!(age::decrypt(other, &armored).is_err());
        let share = String::from_utf8(age::decrypt(holder, &armored).unwrap()).unwrap();
        // No share rests in plaintext on the host.
        assert!(files_holding(temp.path(), share.trim().as_bytes()).is_empty());
        shares.push(share);
    }

    // Holders decrypt and submit: two of them unseal (as `age -d ... | strongbox operator unseal`).
    let port = process::free_port();
    let server = process::start_with_env(temp.path(), port, &[], &[]).await;
    assert_eq!(ready(server.address).await.0, 503);
    let unseal = |share: &str| strongbox_with(&dir, &["operator", "unseal"], &[], share);
    assert!(succeeded(&unseal(&shares[2])).contains("1 of 2 shares held"));
    assert!(succeeded(&unseal(&shares[0])).contains("unsealed (shamir seal)"));
    let (_, blob) = encrypt(&client_of(&server)).await;
    decrypts(&client_of(&server), &blob).await;
}
