//! Handing out new Shamir shares (`init --seal shamir`, `operator rekey`): printed once, written
//! one per file, or written one per file encrypted to each holder's age public key.
//!
//! Encrypting a share to its holder means the share never rests in plaintext on this host: the
//! operator who ran `init` sees only ciphertexts, and each holder decrypts theirs with the
//! standard `age` tool (`age -d -i key.txt share-1.age | strongbox operator unseal`).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::str::FromStr as _;

use crate::output::{self, CliError};

/// An age X25519 public key (`age1...`), the holder of one share.
#[derive(Clone)]
pub struct ShareRecipient(age::x25519::Recipient);

impl std::fmt::Debug for ShareRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShareRecipient({})", self.0)
    }
}

/// Parses `--share-recipient` (clap's value parser).
pub fn parse_recipient(text: &str) -> Result<ShareRecipient, String> {
    age::x25519::Recipient::from_str(text.trim())
        .map(ShareRecipient)
        .map_err(|_| {
            "not an age public key (age1...): make one with `age-keygen`, give its public key"
                .to_owned()
        })
}

/// Checks the options before anything is made: recipients need files, one per share.
pub fn check(
    count: Option<u8>,
    dir: Option<&Path>,
    recipients: &[ShareRecipient],
) -> Result<(), CliError> {
    if recipients.is_empty() {
        return Ok(());
    }
    if dir.is_none() {
        return Err(
            "--share-recipient needs --share-dir (each share is written to its own encrypted file)"
                .into(),
        );
    }
    match count {
        Some(count) if usize::from(count) != recipients.len() => Err(format!(
            "{} share recipients for {count} shares: give one --share-recipient per share, in order",
            recipients.len()
        )
        .into()),
        _ => Ok(()),
    }
}

/// Prints new shares once, or writes each to its own file (0600) in `dir`, as
/// `share-N` (plain) or `share-N.age` (armored, encrypted to the N-th recipient).
pub fn hand_out(
    shares: &[String],
    dir: Option<&Path>,
    recipients: &[ShareRecipient],
) -> Result<(), CliError> {
    if shares.is_empty() {
        return Ok(());
    }
    check(
        Some(u8::try_from(shares.len()).unwrap_or(u8::MAX)),
        dir,
        recipients,
    )?;
    let Some(dir) = dir else {
        let mut text = String::from(
            "Shares (printed once: give each to its holder; any threshold of them unseals):\n",
        );
        for (n, share) in shares.iter().enumerate() {
            text.push_str(&format!("  share {}: {share}\n", n + 1));
        }
        return output::print(text);
    };
    // Encrypt all first: a failure leaves no file behind.
    let contents: Vec<(String, zeroize::Zeroizing<String>)> = if recipients.is_empty() {
        shares
            .iter()
            .enumerate()
            .map(|(n, share)| {
                (
                    format!("share-{}", n + 1),
                    zeroize::Zeroizing::new(format!("{share}\n")),
                )
            })
            .collect()
    } else {
        shares
            .iter()
            .zip(recipients)
            .enumerate()
            .map(|(n, (share, recipient))| {
                let line = zeroize::Zeroizing::new(format!("{share}\n"));
                let armored = age::encrypt_and_armor(&recipient.0, line.as_bytes())
                    .map_err(|e| format!("encrypting share {}: {e}", n + 1))?;
                Ok((
                    format!("share-{}.age", n + 1),
                    zeroize::Zeroizing::new(armored),
                ))
            })
            .collect::<Result<_, CliError>>()?
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (name, content) in &contents {
        let path = dir.join(name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        file.write_all(content.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if recipients.is_empty() {
        output::println(format_args!(
            "wrote {} shares to {}: give each to its holder, then delete them here",
            shares.len(),
            dir.display()
        ))
    } else {
        output::println(format_args!(
            "wrote {} shares to {}, each encrypted to its holder's age key (share-N.age for recipient N); a holder unseals with: age -d -i KEY share-N.age | strongbox operator unseal",
            shares.len(),
            dir.display()
        ))
    }
}
