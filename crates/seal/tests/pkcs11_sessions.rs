//! The PKCS#11 wrapper recovers from a token that lost its state (an HSM restarted, a network
//! HSM's connection reset): SoftHSM2's library is finalised under the wrapper's feet, and the
//! next wrap or unwrap logs in again by itself. A token that stays away gives a clear error on
//! each call, and the first call after it is back works.
//!
//! SoftHSM2 reads its token directory from `SOFTHSM2_CONF` when it initialises; this test
//! cannot set the variable in its own process (no `unsafe`), so it runs itself again as a
//! child with the variable set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error, RvError};
use strongbox_crypto::SecretBytes;
use strongbox_seal::{Pkcs11Wrapper, RootWrapper};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const TEST: &str = "a_token_that_lost_its_sessions_is_logged_into_again";

/// A SoftHSM2 token labelled `strongbox` (user PIN 1234) under `dir`; its configuration file.
fn token(dir: &Path) -> PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    let text = format!(
        "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
        tokens.display()
    );
    std::fs::write(&conf, text).unwrap();
    let made = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", "strongbox"])
        .args(["--so-pin", "87654321", "--pin", "1234"])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("softhsm2-util runs (install the softhsm2 package: .ci/run does)");
    assert!(made.status.success(), "{made:?}");
    conf
}

/// What the token's state being lost looks like to the wrapper: `C_Finalize` on the library
/// it shares with this process (every session and handle is gone). A library that is not
/// initialised (SoftHSM2 fails to initialise without its token directory) is reset already.
#[track_caller]
fn reset_library() {
    match Pkcs11::new(MODULE).unwrap().finalize() {
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiNotInitialized, _)) => {}
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn a_token_that_lost_its_sessions_is_logged_into_again() {
    let Some(conf) = std::env::var_os("SOFTHSM2_CONF") else {
        let temp = tempfile::tempdir().unwrap();
        let conf = token(temp.path());
        let child = Command::new(std::env::current_exe().unwrap())
            .args([TEST, "--exact", "--nocapture", "--test-threads", "1"])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap();
        let output = String::from_utf8_lossy(&child.stdout);
        let errors = String::from_utf8_lossy(&child.stderr);
        assert!(child.status.success(), "{output}\n{errors}");
        assert!(output.contains("1 passed"), "the body ran: {output}");
        return;
    };
    let tokens = Path::new(&conf).parent().unwrap().join("tokens");
    let pin = SecretBytes::new(b"1234".to_vec());
    let wrapper = Pkcs11Wrapper::open(Path::new(MODULE), "strongbox", "wrap", &pin, true).unwrap();
    let root = [7u8; 32];
    let wrapped = wrapper.wrap(b"aad", &root).unwrap();

    reset_library();
    assert_eq!(wrapper.unwrap(b"aad", &wrapped).unwrap().expose(), root);
    let again = wrapper.wrap(b"aad", &root).unwrap();
    assert_eq!(wrapper.unwrap(b"aad", &again).unwrap().expose(), root);
    // A value that does not authenticate is still that, not a lost session.
    assert!(matches!(
        wrapper.unwrap(b"other aad", &wrapped),
        Err(strongbox_core::SealError::Unseal)
    ));

    // The token away: each call fails clearly (no panic, no stale session used)...
    reset_library();
    let away = tokens.with_extension("away");
    std::fs::rename(&tokens, &away).unwrap();
    for _ in 0..2 {
        let error = wrapper.unwrap(b"aad", &wrapped).unwrap_err().to_string();
        assert!(error.contains("PKCS#11"), "{error}");
    }
    // ... and the first call once it is back succeeds.
    reset_library();
    std::fs::rename(&away, &tokens).unwrap();
    assert_eq!(wrapper.unwrap(b"aad", &wrapped).unwrap().expose(), root);
}
