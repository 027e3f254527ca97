//! The passphrase seal's wrapping key: Argon2id over the passphrase and a random salt, with
//! parameters tuned at `init` so that one derivation takes at least 250 ms on the machine
//! that made it (a guess costs an attacker as much, per core).

use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, Version};
use strongbox_core::SealError;
use strongbox_crypto::{KeyMaterial, LockedKey, SYMMETRIC_KEY_LEN};
use zeroize::Zeroizing;

use crate::wrapped::KdfParams;

/// Memory per derivation: 64 MiB (OWASP's Argon2id guidance is at least 19 MiB).
const MEMORY_KIB: u32 = 64 * 1024;

/// The shortest a derivation may take with tuned parameters.
pub const TARGET: Duration = Duration::from_millis(250);

/// Passphrases shorter than this are refused at `init` and `rekey`.
pub const MIN_PASSPHRASE_LEN: usize = 12;

/// Derives the wrapping key.
pub fn derive(passphrase: &[u8], salt: &[u8], params: KdfParams) -> Result<LockedKey, SealError> {
    let argon = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            Some(SYMMETRIC_KEY_LEN),
        )
        .map_err(|error| SealError::Backend(format!("Argon2id parameters: {error}")))?,
    );
    let mut out = Zeroizing::new([0u8; SYMMETRIC_KEY_LEN]);
    argon
        .hash_password_into(passphrase, salt, out.as_mut())
        .map_err(|error| SealError::Backend(format!("Argon2id: {error}")))?;
    Ok(LockedKey::new(KeyMaterial::from_bytes(out.to_vec())))
}

/// Parameters that take at least [`TARGET`] here: 64 MiB, one lane, as many passes as needed.
pub fn tune() -> Result<KdfParams, SealError> {
    let salt = [0u8; 16];
    let mut params = KdfParams {
        memory_kib: MEMORY_KIB,
        iterations: 1,
        parallelism: 1,
    };
    let started = Instant::now();
    derive(b"calibration", &salt, params)?;
    let one_pass = started.elapsed().max(Duration::from_millis(1));
    let passes = TARGET.as_nanos().div_ceil(one_pass.as_nanos());
    params.iterations = u32::try_from(passes).unwrap_or(u32::MAX).max(2);
    // Measured again: a pass is not exactly a fixed share of the cost.
    for _ in 0..8 {
        let started = Instant::now();
        derive(b"calibration", &salt, params)?;
        if started.elapsed() >= TARGET {
            break;
        }
        params.iterations += 1;
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_passphrase_and_salt_derive_the_same_key_and_others_do_not() {
        let params = KdfParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        let key = |passphrase: &[u8], salt: &[u8]| {
            derive(passphrase, salt, params).unwrap().expose().to_vec()
        };
        let salt = [7u8; 16];
        assert_eq!(key(b"correct horse", &salt), key(b"correct horse", &salt));
        assert_ne!(key(b"correct horse", &salt), key(b"correct horsf", &salt));
        assert_ne!(
            key(b"correct horse", &salt),
            key(b"correct horse", &[8u8; 16])
        );
    }

    #[test]
    fn tuned_parameters_take_at_least_the_target() {
        let params = tune().unwrap();
        assert_eq!(params.memory_kib, MEMORY_KIB);
        let started = Instant::now();
        derive(b"x", &[0u8; 16], params).unwrap();
        // Tuned on this machine a moment ago: a derivation takes about the target (a noisy
        // machine may make this one faster by a little, never by half).
        assert!(started.elapsed() >= TARGET / 2, "{:?}", started.elapsed());
    }
}
