//! HMAC keys (`HMAC_224` .. `HMAC_512`, usage `GENERATE_VERIFY_MAC`), as AWS's
//! [GenerateMac](https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateMac.html) and
//! [VerifyMac](https://docs.aws.amazon.com/kms/latest/APIReference/API_VerifyMac.html) use them.
//! HMAC (RFC 2104) over SHA-2 from aws-lc-rs; tags are never truncated.

use aws_lc_rs::hmac;

use crate::{CryptoError, KeyMaterial, random_bytes};

/// AWS's `MacAlgorithmSpec` values; each HMAC key spec allows exactly the one of its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacAlgorithm {
    /// `HMAC_SHA_224`, for `HMAC_224` keys.
    HmacSha224,
    /// `HMAC_SHA_256`, for `HMAC_256` keys.
    HmacSha256,
    /// `HMAC_SHA_384`, for `HMAC_384` keys.
    HmacSha384,
    /// `HMAC_SHA_512`, for `HMAC_512` keys.
    HmacSha512,
}

impl MacAlgorithm {
    fn hmac(self) -> hmac::Algorithm {
        match self {
            Self::HmacSha224 => hmac::HMAC_SHA224,
            Self::HmacSha256 => hmac::HMAC_SHA256,
            Self::HmacSha384 => hmac::HMAC_SHA384,
            Self::HmacSha512 => hmac::HMAC_SHA512,
        }
    }

    /// The key length AWS uses for the matching key spec: the hash's output length, which is
    /// all the strength HMAC can use.
    fn key_len(self) -> usize {
        match self {
            Self::HmacSha224 => 28,
            Self::HmacSha256 => 32,
            Self::HmacSha384 => 48,
            Self::HmacSha512 => 64,
        }
    }
}

/// A random HMAC key as AWS sizes them (`HMAC_224`: 28 bytes, 256: 32, 384: 48, 512: 64).
pub fn generate_mac_key(algorithm: MacAlgorithm) -> Result<KeyMaterial, CryptoError> {
    let bytes = random_bytes(algorithm.key_len())?;
    Ok(KeyMaterial::from_bytes(bytes.expose().to_vec()))
}

/// The full-length HMAC tag of `message` under `key`.
pub fn mac(algorithm: MacAlgorithm, key: &KeyMaterial, message: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(algorithm.hmac(), key.expose());
    hmac::sign(&key, message).as_ref().to_vec()
}

/// Whether `tag` is the HMAC of `message` under `key`, compared in constant time
/// (`aws_lc_rs::hmac::verify`) so a caller cannot learn a valid tag byte by byte. A tag of any
/// other length is `false`.
pub fn verify_mac(algorithm: MacAlgorithm, key: &KeyMaterial, message: &[u8], tag: &[u8]) -> bool {
    let key = hmac::Key::new(algorithm.hmac(), key.expose());
    hmac::verify(&key, message, tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [MacAlgorithm; 4] = [
        MacAlgorithm::HmacSha224,
        MacAlgorithm::HmacSha256,
        MacAlgorithm::HmacSha384,
        MacAlgorithm::HmacSha512,
    ];

    /// One RFC 4231 test case: key, data, and the HMAC-SHA-224/256/384/512 outputs.
    struct Case {
        key: Vec<u8>,
        data: Vec<u8>,
        expected: [&'static str; 4],
    }

    /// RFC 4231 test cases 1, 2 and 6 (6: a 131-byte key, longer than the block, so it is
    /// hashed first). Case 5 is left out: it checks 128-bit truncation, which AWS never does.
    fn rfc_4231() -> [Case; 3] {
        [
            Case {
                key: vec![0x0b; 20],
                data: b"Hi There".to_vec(),
                expected: [
                    "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22",
                    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
                    "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c\
                     faea9ea9076ede7f4af152e8b2fa9cb6",
                    "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde\
                     daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
                ],
            },
            Case {
                key: b"Jefe".to_vec(),
                data: b"what do ya want for nothing?".to_vec(),
                expected: [
                    "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44",
                    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                    "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
                     8e2240ca5e69e2c78b3239ecfab21649",
                    "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
                     9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
                ],
            },
            Case {
                key: vec![0xaa; 131],
                data: b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                expected: [
                    "95e9a0db962095adaebe9b2d6f0dbce2d499f112f2d2b7273fa6870e",
                    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
                    "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6\
                     0c2ef6ab4030fe8296248df163f44952",
                    "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352\
                     6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
                ],
            },
        ]
    }

    #[test]
    fn rfc_4231_known_answers() {
        for case in rfc_4231() {
            let key = KeyMaterial::from_bytes(case.key.clone());
            for (algorithm, expected) in ALL.into_iter().zip(case.expected) {
                let tag = mac(algorithm, &key, &case.data);
                assert_eq!(hex::encode(&tag), expected, "{algorithm:?}");
                assert!(verify_mac(algorithm, &key, &case.data, &tag));
            }
        }
    }

    #[test]
    fn verify_mac_rejects_any_change() {
        for algorithm in ALL {
            let key = generate_mac_key(algorithm).unwrap();
            let tag = mac(algorithm, &key, b"message");
            for bit in [0, 7, tag.len() * 8 - 1] {
                let mut flipped = tag.clone();
                flipped[bit / 8] ^= 1 << (bit % 8);
                assert!(!verify_mac(algorithm, &key, b"message", &flipped));
            }
            assert!(!verify_mac(algorithm, &key, b"messagf", &tag));
            assert!(!verify_mac(
                algorithm,
                &key,
                b"message",
                &tag[..tag.len() - 1]
            ));
            assert!(!verify_mac(algorithm, &key, b"message", &[]));
            let other_key = generate_mac_key(algorithm).unwrap();
            assert!(!verify_mac(algorithm, &other_key, b"message", &tag));
        }
    }

    #[test]
    fn keys_are_sized_as_aws_and_random() {
        for (algorithm, len) in ALL.into_iter().zip([28, 32, 48, 64]) {
            let a = generate_mac_key(algorithm).unwrap();
            let b = generate_mac_key(algorithm).unwrap();
            assert_eq!(a.expose().len(), len);
            assert_ne!(a.expose(), b.expose());
            assert_eq!(mac(algorithm, &a, b"").len(), len);
        }
    }
}
