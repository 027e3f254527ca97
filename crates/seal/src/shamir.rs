//! The Shamir seal's wrapping key, split into shares (`blahaj`: Shamir's secret sharing over
//! GF(256)), a threshold of which rebuilds it.
//!
//! A share is printed as `SET-INDEX-DATA`: the set's id (random, recorded in `root.sealed`, new
//! at every rekey), the share's x coordinate, and its bytes in URL-safe base64. A share of
//! another set is refused at once; a wrong share (a typo) makes a wrong key, which the root
//! key's AEAD tag refuses, so the operator learns the shares were wrong, never which.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use blahaj::{Share, Sharks};
use strongbox_core::SealError;
use strongbox_crypto::{KeyMaterial, LockedKey, SYMMETRIC_KEY_LEN};
use zeroize::Zeroizing;

/// Checks a shares/threshold choice: 1 ≤ threshold ≤ shares ≤ 255, and a threshold of at
/// least 2 unless there is a single share.
pub fn check_split(shares: u8, threshold: u8) -> Result<(), String> {
    if shares == 0 || threshold == 0 || threshold > shares {
        return Err(format!(
            "--threshold ({threshold}) must be between 1 and --shares ({shares})"
        ));
    }
    if threshold == 1 && shares > 1 {
        return Err("--threshold 1 with several shares makes each share the whole key: use --threshold 2 or more".into());
    }
    Ok(())
}

/// A new set id: 8 random hex digits.
pub fn new_set() -> Result<String, SealError> {
    let id =
        strongbox_crypto::random_id().map_err(|error| SealError::Backend(error.to_string()))?;
    Ok(id[..4].iter().map(|b| format!("{b:02x}")).collect())
}

/// Splits `key` into `shares` printed shares of set `set`, `threshold` of which rebuild it.
pub fn split(key: &LockedKey, shares: u8, threshold: u8, set: &str) -> Result<Vec<String>, String> {
    check_split(shares, threshold)?;
    let dealer = Sharks(threshold).dealer(key.expose());
    Ok(dealer
        .take(usize::from(shares))
        .map(|share| {
            let bytes = Zeroizing::new(Vec::from(&share));
            format!("{set}-{}-{}", bytes[0], URL_SAFE_NO_PAD.encode(&bytes[1..]))
        })
        .collect())
}

/// Shares submitted so far, by x coordinate.
pub struct ShareCollector {
    set: String,
    threshold: u8,
    shares: BTreeMap<u8, Zeroizing<Vec<u8>>>,
}

/// Where unsealing stands after a share.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// More shares are needed: `have` of `need`.
    Need {
        /// Distinct shares held.
        have: u8,
        /// The threshold.
        need: u8,
    },
    /// The threshold was reached.
    Complete,
}

impl ShareCollector {
    /// Collects shares of set `set`, `threshold` of which rebuild the key.
    pub fn new(set: &str, threshold: u8) -> Self {
        Self {
            set: set.to_owned(),
            threshold,
            shares: BTreeMap::new(),
        }
    }

    /// Adds a printed share. A share of another set, or not a share, is refused; the same
    /// share twice counts once.
    pub fn add(&mut self, text: &str) -> Result<Progress, String> {
        let text = text.trim();
        let mut parts = text.splitn(3, '-');
        let (Some(set), Some(x), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err("not a Strongbox share (SET-INDEX-DATA)".into());
        };
        if set != self.set {
            // What was submitted is not echoed: it could be a secret pasted at the wrong prompt.
            return Err(format!(
                "this share belongs to another set than the seal's (set {}): it was made before a rekey, or for another data directory",
                self.set
            ));
        }
        let x: u8 = x
            .parse()
            .ok()
            .filter(|x| *x != 0)
            .ok_or("not a Strongbox share: bad index")?;
        let y = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(data)
                .map_err(|_| "not a Strongbox share: bad data")?,
        );
        if y.len() != SYMMETRIC_KEY_LEN {
            return Err("not a Strongbox share: wrong length".into());
        }
        let mut bytes = Zeroizing::new(Vec::with_capacity(1 + y.len()));
        bytes.push(x);
        bytes.extend_from_slice(&y);
        self.shares.insert(x, bytes);
        Ok(self.progress())
    }

    /// Where unsealing stands.
    pub fn progress(&self) -> Progress {
        let have = u8::try_from(self.shares.len()).unwrap_or(u8::MAX);
        if have >= self.threshold {
            Progress::Complete
        } else {
            Progress::Need {
                have,
                need: self.threshold,
            }
        }
    }

    /// Forgets every share (after a failed attempt, or once unsealed).
    pub fn clear(&mut self) {
        self.shares.clear();
    }

    /// The key the shares rebuild (right only if every share was).
    pub fn combine(&self) -> Result<LockedKey, String> {
        let shares = self
            .shares
            .values()
            .map(|bytes| Share::try_from(bytes.as_slice()))
            .collect::<Result<Vec<_>, _>>()?;
        let secret = Zeroizing::new(Sharks(self.threshold).recover(shares.iter())?);
        Ok(LockedKey::new(KeyMaterial::from_bytes(secret.to_vec())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_threshold_of_shares_rebuilds_the_key_and_fewer_do_not() {
        let key = LockedKey::generate().unwrap();
        let shares = split(&key, 5, 3, "abcd1234").unwrap();
        assert_eq!(shares.len(), 5);
        for picked in [[0, 1, 2], [4, 2, 0], [1, 3, 4]] {
            let mut collector = ShareCollector::new("abcd1234", 3);
            for (n, index) in picked.iter().enumerate() {
                let progress = collector.add(&shares[*index]).unwrap();
                if n < 2 {
                    assert_eq!(
                        progress,
                        Progress::Need {
                            have: u8::try_from(n + 1).unwrap(),
                            need: 3
                        }
                    );
                }
            }
            assert_eq!(collector.progress(), Progress::Complete);
            assert_eq!(collector.combine().unwrap().expose(), key.expose());
        }
        // The same share twice counts once.
        let mut collector = ShareCollector::new("abcd1234", 3);
        collector.add(&shares[0]).unwrap();
        assert_eq!(
            collector.add(&shares[0]).unwrap(),
            Progress::Need { have: 1, need: 3 }
        );
        // A share of another set, and things that are not shares, are refused.
        let other = split(&key, 2, 2, "ffff0000").unwrap();
        let refused = collector.add(&other[0]).unwrap_err();
        assert!(refused.contains("another set"), "{refused}");
        assert!(
            !refused.contains("ffff0000"),
            "the submitted share is not echoed"
        );
        for bad in [
            "",
            "abcd1234",
            "abcd1234-0-AAAA",
            "abcd1234-1-!!",
            "abcd1234-1-AAAA",
        ] {
            assert!(collector.add(bad).is_err(), "{bad}");
        }
        // A mistyped share rebuilds a different key (the seal's AEAD refuses it).
        let mut collector = ShareCollector::new("abcd1234", 3);
        let mut typo = shares[2].clone().into_bytes();
        let at = typo.len() - 5;
        typo[at] = if typo[at] == b'A' { b'B' } else { b'A' };
        let typo = String::from_utf8(typo).unwrap();
        for share in [&shares[0], &shares[1], &typo] {
            collector.add(share).unwrap();
        }
        assert_ne!(collector.combine().unwrap().expose(), key.expose());
    }

    #[test]
    fn splits_are_checked() {
        assert!(check_split(5, 3).is_ok());
        assert!(check_split(1, 1).is_ok());
        assert!(check_split(3, 4).is_err());
        assert!(check_split(0, 0).is_err());
        assert!(check_split(5, 1).is_err());
    }
}
