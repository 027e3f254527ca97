//! Digests and log files: the signed statements that make the chain's newest link, and every
//! file an export writes, provable offline.
//!
//! A digest covers the records since the previous digest. It lists the log files holding them
//! with the SHA-256 of each file's uncompressed content (as CloudTrail's digests do), pins the
//! chain head (`lastRecordSequence`, `lastRecordHash`), and links to the previous digest by the
//! hash and signature of its file. It is signed with the audit signing key (Ed25519).
//!
//! CloudTrail keeps a digest's signature in S3 object metadata; a directory has none, so the
//! signature is the digest file's last member, `"digestSignature"`, over the file's bytes
//! without that member (see [`signed_file`]). Every signed document's first member, `"type"`,
//! says what it is (a digest, a checkpoint, an export manifest), so that one signed by the same
//! key cannot be passed off as another; documents from before that member are still read.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use strongbox_crypto::asymmetric::{self, AsymmetricSpec, Message, SigningAlgorithm};
use strongbox_crypto::{CryptoError, KeyMaterial};

/// The signature algorithm of digests and checkpoints.
pub const SIGNATURE_ALGORITHM: &str = "Ed25519";
/// The hash algorithm of every hash in a digest.
pub const HASH_ALGORITHM: &str = "SHA-256";
/// Records per log file at most, so that a busy hour does not make one huge file (records are
/// at most a few tens of KiB: request parameters are capped).
pub const RECORDS_PER_FILE: usize = 1000;

/// The audit signing key's type.
const SPEC: AsymmetricSpec = AsymmetricSpec::Ed25519;
/// The member that carries the signature, always last.
const SIGNATURE_MEMBER: &str = "digestSignature";

/// One log file a digest covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogFileEntry {
    /// Its path in an export.
    pub s3_object: String,
    /// Hex SHA-256 of its uncompressed content.
    pub hash_value: String,
    /// [`HASH_ALGORITHM`].
    pub hash_algorithm: String,
    /// The newest event time in it.
    pub newest_event_time: String,
    /// The oldest event time in it.
    pub oldest_event_time: String,
    /// Its first record's sequence.
    pub first_sequence: u64,
    /// Its last record's sequence.
    pub last_sequence: u64,
}

/// A kind of document signed with the audit key: its [`SignedDocument::TYPE`] is signed with it,
/// as the file's first member, `"type"`.
pub trait SignedDocument: Serialize + for<'de> Deserialize<'de> {
    /// The `type` member's value.
    const TYPE: &'static str;
}

impl SignedDocument for DigestBody {
    const TYPE: &'static str = "StrongboxAuditDigest";
}

impl SignedDocument for CheckpointBody {
    const TYPE: &'static str = "StrongboxAuditCheckpoint";
}

/// The member that names a signed document's kind, always first.
const TYPE_MEMBER: &str = "type";

/// A digest, in CloudTrail's digest fields plus the chain position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestBody {
    /// The chain's account.
    pub aws_account_id: String,
    /// The chain's Region.
    pub aws_region: String,
    /// The start of the period covered (the previous digest's end).
    pub digest_start_time: String,
    /// The end of the period covered.
    pub digest_end_time: String,
    /// This digest's own path, so a moved or renamed digest is detected.
    pub digest_s3_object: String,
    /// Hex SHA-256 of the signing key's `SubjectPublicKeyInfo`.
    pub digest_public_key_fingerprint: String,
    /// [`SIGNATURE_ALGORITHM`].
    pub digest_signature_algorithm: String,
    /// The newest event time covered, if any.
    pub newest_event_time: Option<String>,
    /// The oldest event time covered, if any.
    pub oldest_event_time: Option<String>,
    /// The previous digest's path.
    pub previous_digest_s3_object: Option<String>,
    /// Hex SHA-256 of the previous digest's file.
    pub previous_digest_hash_value: Option<String>,
    /// [`HASH_ALGORITHM`] when there is a previous digest.
    pub previous_digest_hash_algorithm: Option<String>,
    /// The previous digest's signature, hex.
    pub previous_digest_signature: Option<String>,
    /// The log files covered, in chain order.
    pub log_files: Vec<LogFileEntry>,
    /// This digest's number in the chain, from 1.
    pub digest_sequence: u64,
    /// The last record covered (0 when the chain has none).
    pub last_record_sequence: u64,
    /// Hex SHA-256 of that record (zeros when there is none).
    pub last_record_hash: String,
}

/// A signed statement that replaces a pruned prefix of the chain: where the chain stood after
/// the last pruned digest, so the remaining digests and records verify from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointBody {
    /// The chain's account.
    pub aws_account_id: String,
    /// The chain's Region.
    pub aws_region: String,
    /// When the prefix was pruned.
    pub checkpoint_time: String,
    /// The last pruned digest's number.
    pub pruned_digest_sequence: u64,
    /// The last pruned digest's path.
    pub pruned_digest_s3_object: String,
    /// Hex SHA-256 of the last pruned digest's file.
    pub pruned_digest_hash_value: String,
    /// The last pruned digest's signature, hex.
    pub pruned_digest_signature: String,
    /// The end of the period the last pruned digest covered, where the next digest starts.
    pub pruned_digest_end_time: String,
    /// The last pruned record.
    pub last_record_sequence: u64,
    /// Hex SHA-256 of the last pruned record.
    pub last_record_hash: String,
    /// Hex SHA-256 of the signing key's `SubjectPublicKeyInfo`.
    pub digest_public_key_fingerprint: String,
    /// [`SIGNATURE_ALGORITHM`].
    pub digest_signature_algorithm: String,
}

/// A new audit signing key (PKCS#8).
pub fn generate_signing_key() -> Result<KeyMaterial, CryptoError> {
    asymmetric::generate(SPEC)
}

/// The signing key's public half (`SubjectPublicKeyInfo` DER).
pub fn public_key(signing_key: &KeyMaterial) -> Result<Vec<u8>, CryptoError> {
    asymmetric::public_key_der(SPEC, signing_key)
}

/// Hex SHA-256 of a public key, as digests name their key.
pub fn fingerprint(public_key: &[u8]) -> String {
    hex::encode(strongbox_crypto::sha256(public_key))
}

/// Serializes `body` and signs it into a file: the body's JSON with the signature appended as
/// its last member.
pub fn signed_file<T: SignedDocument>(
    body: &T,
    signing_key: &KeyMaterial,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let body = serde_json::to_vec(body).map_err(|error| error.to_string())?;
    let members = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|value| value.as_object().cloned())
        .ok_or("the body is not a JSON object")?;
    for reserved in [SIGNATURE_MEMBER, TYPE_MEMBER] {
        if members.contains_key(reserved) {
            return Err(format!("the body already has a {reserved} member"));
        }
    }
    // `{...}` becomes `{"type":"...",...}`.
    let mut bytes = format!("{{\"{TYPE_MEMBER}\":\"{}\"", T::TYPE).into_bytes();
    if !members.is_empty() {
        bytes.push(b',');
    }
    bytes.extend_from_slice(&body[1..]);
    let signature = asymmetric::sign(
        SPEC,
        signing_key,
        SigningAlgorithm::Ed25519Sha512,
        Message::Raw(&bytes),
    )
    .map_err(|error| error.to_string())?;
    let mut file = bytes;
    // serde_json writes an object as `{...}`; the signature goes before the closing brace.
    file.pop();
    file.extend_from_slice(
        format!(",\"{SIGNATURE_MEMBER}\":\"{}\"}}", hex::encode(&signature)).as_bytes(),
    );
    Ok((file, signature))
}

/// A signed file taken apart: the signed bytes, the parsed body and the signature.
pub struct Signed<T> {
    /// The bytes the signature covers.
    pub signed: Vec<u8>,
    /// The body.
    pub body: T,
    /// The signature.
    pub signature: Vec<u8>,
}

/// Takes a file made by [`signed_file`] apart. Anything else (a changed layout, a second
/// signature member, trailing bytes, another kind of document) is an error; a document without
/// a `type` (signed before it existed) is read as the kind asked for.
pub fn open_signed<T: SignedDocument>(file: &[u8]) -> Result<Signed<T>, String> {
    #[derive(Deserialize)]
    struct WithSignature {
        #[serde(rename = "digestSignature")]
        signature: String,
    }
    let with: WithSignature =
        serde_json::from_slice(file).map_err(|error| format!("not a signed JSON file: {error}"))?;
    let suffix = format!(",\"{SIGNATURE_MEMBER}\":\"{}\"}}", with.signature);
    let signed_len = file
        .strip_suffix(suffix.as_bytes())
        .map(<[u8]>::len)
        .ok_or("the signature is not the file's last member")?;
    let mut signed = file[..signed_len].to_vec();
    signed.push(b'}');
    #[derive(Deserialize)]
    struct Typed {
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    let typed: Typed = serde_json::from_slice(&signed)
        .map_err(|error| format!("the signed content is not a JSON object: {error}"))?;
    if let Some(kind) = typed.kind.filter(|kind| kind != T::TYPE) {
        return Err(format!(
            "a signed {kind} where a {} was expected: a document passed off as another",
            T::TYPE
        ));
    }
    let body = serde_json::from_slice(&signed)
        .map_err(|error| format!("the signed content is not a valid digest: {error}"))?;
    let signature = hex::decode(&with.signature).map_err(|_| "the signature is not hexadecimal")?;
    Ok(Signed {
        signed,
        body,
        signature,
    })
}

/// Whether `signature` over `signed` verifies with `public_key`.
pub fn signature_valid(public_key: &[u8], signed: &[u8], signature: &[u8]) -> bool {
    asymmetric::verify(
        SPEC,
        public_key,
        SigningAlgorithm::Ed25519Sha512,
        Message::Raw(signed),
        signature,
    )
    .unwrap_or(false)
}

/// A log file's content: `{"Records":[...]}` with each record's bytes exactly as chained.
pub fn log_file<'a>(records: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut file = b"{\"Records\":[".to_vec();
    for (index, record) in records.into_iter().enumerate() {
        if index > 0 {
            file.push(b',');
        }
        file.extend_from_slice(record);
    }
    file.extend_from_slice(b"]}");
    file
}

/// The records of a log file, each as its exact bytes.
pub fn parse_log_file(file: &[u8]) -> Result<Vec<&[u8]>, String> {
    #[derive(Deserialize)]
    struct LogFile<'a> {
        #[serde(rename = "Records", borrow)]
        records: Vec<&'a RawValue>,
    }
    let parsed: LogFile<'_> =
        serde_json::from_slice(file).map_err(|error| format!("not a log file: {error}"))?;
    Ok(parsed
        .records
        .into_iter()
        .map(|record| record.get().as_bytes())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Note {
        a: u32,
        b: String,
    }

    impl SignedDocument for Note {
        const TYPE: &'static str = "TestNote";
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct OtherNote {
        a: u32,
        b: String,
    }

    impl SignedDocument for OtherNote {
        const TYPE: &'static str = "OtherNote";
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Reserved {
        #[serde(rename = "digestSignature")]
        signature: String,
    }

    impl SignedDocument for Reserved {
        const TYPE: &'static str = "Reserved";
    }

    fn note() -> Note {
        Note {
            a: 1,
            b: "two".to_owned(),
        }
    }

    #[test]
    fn signed_files_open_and_detect_changes() {
        let key = generate_signing_key().unwrap();
        let public = public_key(&key).unwrap();
        let (file, signature) = signed_file(&note(), &key).unwrap();
        assert!(file.starts_with(br#"{"type":"TestNote","a":1,"#));
        let opened: Signed<Note> = open_signed(&file).unwrap();
        assert_eq!(opened.body, note());
        assert_eq!(opened.signature, signature);
        assert!(signature_valid(&public, &opened.signed, &opened.signature));

        let changed = String::from_utf8(file.clone())
            .unwrap()
            .replace("two", "tw0");
        let opened: Signed<Note> = open_signed(changed.as_bytes()).unwrap();
        assert!(!signature_valid(&public, &opened.signed, &opened.signature));

        let mut trailing = file.clone();
        assert!(
            signed_file(
                &Reserved {
                    signature: "x".to_owned()
                },
                &key
            )
            .is_err(),
            "a body may not carry the signature member itself"
        );
        trailing.push(b' ');
        assert!(open_signed::<Note>(&trailing).is_err());
    }

    #[test]
    fn a_signed_document_cannot_be_read_as_another_kind() {
        let key = generate_signing_key().unwrap();
        let (file, _) = signed_file(&note(), &key).unwrap();
        let error = open_signed::<OtherNote>(&file).err().unwrap();
        assert!(
            error.contains("a signed TestNote where a OtherNote was expected"),
            "{error}"
        );
        // Signed before the type member existed: read as asked.
        let untyped = br#"{"a":1,"b":"two","digestSignature":"00"}"#;
        assert_eq!(open_signed::<OtherNote>(untyped).unwrap().body.a, 1);
    }

    #[test]
    fn log_files_keep_record_bytes() {
        let records: [&[u8]; 2] = [br#"{"x":1}"#, br#"{"y":[2,3]}"#];
        let file = log_file(records);
        assert_eq!(file, br#"{"Records":[{"x":1},{"y":[2,3]}]}"#);
        assert_eq!(parse_log_file(&file).unwrap(), records);
        assert_eq!(parse_log_file(br#"{"Records":[]}"#).unwrap().len(), 0);
        assert!(parse_log_file(b"{").is_err());
    }
}
