//! Grants: permissions on one key handed to one principal, for some operations, optionally
//! under an encryption-context constraint, until someone retires or revokes them.

use std::collections::BTreeMap;
use std::fmt;

use time::OffsetDateTime;

use crate::model::ids::{AccountId, KeyArn};
use crate::model::spec::{GrantOperation, KeySpec, KeyUsage};

/// A grant's id: 32 random bytes, shown as 64 lowercase hex digits, as AWS shows them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantId([u8; 32]);

impl GrantId {
    /// A fresh random id.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        let first = crate::model::ids::random_uuid().into_bytes();
        let second = crate::model::ids::random_uuid().into_bytes();
        bytes[..16].copy_from_slice(&first);
        bytes[16..].copy_from_slice(&second);
        Self(bytes)
    }

    /// Parses the 64-hex-digit form (either case); `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        if value.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(value, &mut bytes).ok()?;
        Some(Self(bytes))
    }

    /// The raw bytes (grant tokens carry them).
    pub fn to_bytes(self) -> [u8; 32] {
        self.0
    }

    /// From the raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GrantId({self})")
    }
}

impl GrantOperation {
    /// The grant operation that permits the IAM action `action` (`kms:Decrypt` is `Decrypt`,
    /// `kms:ReEncryptFrom` is `ReEncryptFrom`); `None` for actions no grant can allow.
    pub fn from_action(action: &str) -> Option<Self> {
        let name = action
            .get(..4)
            .filter(|prefix| prefix.eq_ignore_ascii_case("kms:"))
            .map(|_| &action[4..])?;
        Self::ALL
            .iter()
            .copied()
            .find(|op| op.as_str().eq_ignore_ascii_case(name))
    }

    /// Whether a grant's encryption-context constraint governs this operation: those that take
    /// an encryption context do. DescribeKey and RetireGrant ignore it, as AWS documents;
    /// CreateGrant is governed differently (a child grant must be at least as strict).
    pub fn takes_context(self) -> bool {
        matches!(
            self,
            GrantOperation::Decrypt
                | GrantOperation::Encrypt
                | GrantOperation::GenerateDataKey
                | GrantOperation::GenerateDataKeyWithoutPlaintext
                | GrantOperation::ReEncryptFrom
                | GrantOperation::ReEncryptTo
                | GrantOperation::GenerateDataKeyPair
                | GrantOperation::GenerateDataKeyPairWithoutPlaintext
        )
    }

    /// The operations a grant on a key of this spec and usage may allow, in the order AWS
    /// lists them (`Valid operations are [CreateGrant, RetireGrant, DescribeKey, GenerateMac,
    /// VerifyMac]` for an HMAC key [recorded]).
    pub fn valid_for(spec: KeySpec, usage: KeyUsage) -> Vec<Self> {
        use GrantOperation::*;
        let mut valid = vec![CreateGrant, RetireGrant, DescribeKey];
        if spec.is_asymmetric() {
            valid.push(GetPublicKey);
        }
        match usage {
            KeyUsage::EncryptDecrypt if spec.is_asymmetric() => {
                valid.extend([Encrypt, Decrypt, ReEncryptFrom, ReEncryptTo]);
            }
            KeyUsage::EncryptDecrypt => valid.extend([
                Encrypt,
                Decrypt,
                ReEncryptFrom,
                ReEncryptTo,
                GenerateDataKey,
                GenerateDataKeyWithoutPlaintext,
                GenerateDataKeyPair,
                GenerateDataKeyPairWithoutPlaintext,
            ]),
            KeyUsage::SignVerify => valid.extend([Sign, Verify]),
            KeyUsage::GenerateVerifyMac => valid.extend([GenerateMac, VerifyMac]),
            KeyUsage::KeyAgreement => valid.push(DeriveSharedSecret),
            KeyUsage::EncapsulateDecapsulate => {}
        }
        valid
    }
}

/// An encryption-context constraint. Its keys match the request's ignoring case, its values
/// exactly (AWS's rule for grant constraints).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantConstraint {
    /// `EncryptionContextEquals`: the request's context is exactly these pairs.
    Equals(BTreeMap<String, String>),
    /// `EncryptionContextSubset`: the request's context includes these pairs (and maybe more).
    Subset(BTreeMap<String, String>),
}

/// Whether every pair of `wanted` is in `context`, keys ignoring case, values exactly.
fn includes(context: &BTreeMap<String, String>, wanted: &BTreeMap<String, String>) -> bool {
    wanted.iter().all(|(key, value)| {
        context
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case(key) && v == value)
    })
}

impl GrantConstraint {
    /// The member name: `EncryptionContextEquals` or `EncryptionContextSubset`, also the value
    /// of `kms:GrantConstraintType`.
    pub fn kind(&self) -> &'static str {
        match self {
            GrantConstraint::Equals(_) => "EncryptionContextEquals",
            GrantConstraint::Subset(_) => "EncryptionContextSubset",
        }
    }

    /// The constraint's pairs.
    pub fn pairs(&self) -> &BTreeMap<String, String> {
        match self {
            GrantConstraint::Equals(pairs) | GrantConstraint::Subset(pairs) => pairs,
        }
    }

    /// Whether a request with encryption context `context` satisfies the constraint.
    pub fn allows(&self, context: &BTreeMap<String, String>) -> bool {
        match self {
            GrantConstraint::Equals(pairs) => {
                pairs.len() == context.len() && includes(context, pairs)
            }
            GrantConstraint::Subset(pairs) => includes(context, pairs),
        }
    }

    /// Whether a grant made under a grant with constraint `parent` may carry `child`: it must
    /// be equally strict or stricter. A child may add pairs to a subset constraint or turn it
    /// into an equality that includes its pairs; an equality stays the same equality.
    pub fn narrows(child: Option<&Self>, parent: Option<&Self>) -> bool {
        match (parent, child) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(GrantConstraint::Subset(parent)), Some(child)) => includes(child.pairs(), parent),
            (Some(GrantConstraint::Equals(parent)), Some(GrantConstraint::Equals(child))) => {
                parent.len() == child.len() && includes(child, parent)
            }
            (Some(GrantConstraint::Equals(_)), Some(GrantConstraint::Subset(_))) => false,
        }
    }
}

/// A principal a grant names (grantee or retiring principal): its ARN as the caller wrote it,
/// and the unique id of the user or role it named when the grant was made. A user deleted
/// and made again under the same name is another user, which the grant does not name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantPrincipal {
    /// The ARN, as given.
    pub arn: String,
    /// The user's or role's unique id (`AIDA...`, `AROA...`); `None` for an account.
    pub id: Option<String>,
}

/// One grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The key it is on.
    pub key: KeyArn,
    /// Its id.
    pub id: GrantId,
    /// The name given at creation (for idempotent retries), if any.
    pub name: Option<String>,
    /// Who receives the permissions.
    pub grantee: GrantPrincipal,
    /// Who may retire it besides the grantee (with `RetireGrant`) and the issuing account.
    pub retiring: Option<GrantPrincipal>,
    /// The operations it allows, deduplicated, in the order given.
    pub operations: Vec<GrantOperation>,
    /// The encryption-context constraint, if any.
    pub constraint: Option<GrantConstraint>,
    /// The account of the principal that created it.
    pub issuing_account: AccountId,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

impl Grant {
    /// Whether the grant allows `operation`.
    pub fn allows_operation(&self, operation: GrantOperation) -> bool {
        self.operations.contains(&operation)
    }

    /// What makes two grants the same grant for a retried CreateGrant: AWS returns the
    /// existing grant when the name and every other parameter match. A SHA-256 over a
    /// length-prefixed encoding of the grantee (ARN and id), the retiring principal, the
    /// operations as a set and the constraint (its keys ignoring case).
    pub fn fingerprint(&self) -> String {
        let mut encoded = Vec::new();
        let mut field = |bytes: &[u8]| {
            encoded.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
            encoded.extend_from_slice(bytes);
        };
        let principal = |field: &mut dyn FnMut(&[u8]), p: Option<&GrantPrincipal>| {
            field(p.map_or(b"-", |p| p.arn.as_bytes()));
            field(p.and_then(|p| p.id.as_deref()).unwrap_or("-").as_bytes());
        };
        principal(&mut field, Some(&self.grantee));
        principal(&mut field, self.retiring.as_ref());
        let mut operations: Vec<&str> = self.operations.iter().map(|op| op.as_str()).collect();
        operations.sort_unstable();
        for operation in operations {
            field(operation.as_bytes());
        }
        match &self.constraint {
            None => field(b"-"),
            Some(constraint) => {
                // Keys match ignoring case: `Dept` and `dept` make the same constraint.
                field(constraint.kind().as_bytes());
                let mut pairs: Vec<(String, &str)> = constraint
                    .pairs()
                    .iter()
                    .map(|(key, value)| (key.to_lowercase(), value.as_str()))
                    .collect();
                pairs.sort_unstable();
                for (key, value) in pairs {
                    field(key.as_bytes());
                    field(value.as_bytes());
                }
            }
        }
        hex::encode(strongbox_crypto::sha256(&encoded))
    }
}

/// What a grant token names: a grant on a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRef {
    /// The key.
    pub key: KeyArn,
    /// The grant.
    pub id: GrantId,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn grant_ids_are_64_hex_digits() {
        let id = GrantId::generate();
        let text = id.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(GrantId::parse(&text), Some(id));
        assert_eq!(GrantId::parse(&text.to_uppercase()), Some(id));
        assert_ne!(GrantId::generate(), id);
        for bad in ["", "abc", &text[..63], &format!("{}g", &text[..63])] {
            assert_eq!(GrantId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn actions_name_grant_operations() {
        assert_eq!(
            GrantOperation::from_action("kms:Decrypt"),
            Some(GrantOperation::Decrypt)
        );
        assert_eq!(
            GrantOperation::from_action("KMS:reencryptto"),
            Some(GrantOperation::ReEncryptTo)
        );
        assert_eq!(GrantOperation::from_action("kms:ReEncrypt"), None);
        assert_eq!(GrantOperation::from_action("kms:PutKeyPolicy"), None);
        assert_eq!(GrantOperation::from_action("iam:Decrypt"), None);
        assert_eq!(GrantOperation::from_action("kms"), None);
    }

    #[test]
    fn valid_operations_follow_the_key_type() {
        let names = |spec, usage| -> Vec<&str> {
            GrantOperation::valid_for(spec, usage)
                .iter()
                .map(|op| op.as_str())
                .collect()
        };
        assert_eq!(
            names(KeySpec::Hmac256, KeyUsage::GenerateVerifyMac).join(", "),
            "CreateGrant, RetireGrant, DescribeKey, GenerateMac, VerifyMac"
        );
        let symmetric = names(KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt);
        assert!(symmetric.contains(&"GenerateDataKeyPair") && !symmetric.contains(&"Sign"));
        assert!(!symmetric.contains(&"GetPublicKey"));
        let rsa = names(KeySpec::Rsa2048, KeyUsage::EncryptDecrypt);
        assert!(rsa.contains(&"GetPublicKey") && !rsa.contains(&"GenerateDataKey"));
        let signing = names(KeySpec::EccNistP256, KeyUsage::SignVerify);
        assert_eq!(
            signing.join(", "),
            "CreateGrant, RetireGrant, DescribeKey, GetPublicKey, Sign, Verify"
        );
        assert!(
            names(KeySpec::EccNistP256, KeyUsage::KeyAgreement).contains(&"DeriveSharedSecret")
        );
    }

    #[test]
    fn constraints_match_keys_ignoring_case_and_values_exactly() {
        let subset = GrantConstraint::Subset(pairs(&[("Dept", "IT")]));
        assert!(subset.allows(&pairs(&[("dept", "IT"), ("x", "y")])));
        assert!(!subset.allows(&pairs(&[("Dept", "it")])));
        assert!(!subset.allows(&pairs(&[])));
        let equals = GrantConstraint::Equals(pairs(&[("Dept", "IT")]));
        assert!(equals.allows(&pairs(&[("DEPT", "IT")])));
        assert!(!equals.allows(&pairs(&[("Dept", "IT"), ("x", "y")])));
        assert!(GrantConstraint::Equals(pairs(&[])).allows(&pairs(&[])));
        assert!(!GrantConstraint::Equals(pairs(&[])).allows(&pairs(&[("a", "b")])));
        assert!(GrantConstraint::Subset(pairs(&[])).allows(&pairs(&[("a", "b")])));
    }

    #[test]
    fn child_constraints_are_at_least_as_strict() {
        let subset = GrantConstraint::Subset(pairs(&[("a", "1")]));
        let wider = GrantConstraint::Subset(pairs(&[("A", "1"), ("b", "2")]));
        let equals = GrantConstraint::Equals(pairs(&[("a", "1"), ("b", "2")]));
        let other = GrantConstraint::Subset(pairs(&[("b", "2")]));
        assert!(GrantConstraint::narrows(None, None));
        assert!(GrantConstraint::narrows(Some(&subset), None));
        assert!(!GrantConstraint::narrows(None, Some(&subset)));
        assert!(GrantConstraint::narrows(Some(&wider), Some(&subset)));
        assert!(GrantConstraint::narrows(Some(&equals), Some(&subset)));
        assert!(!GrantConstraint::narrows(Some(&other), Some(&subset)));
        assert!(GrantConstraint::narrows(Some(&equals), Some(&equals)));
        assert!(!GrantConstraint::narrows(Some(&wider), Some(&equals)));
        let smaller = GrantConstraint::Equals(pairs(&[("a", "1")]));
        assert!(!GrantConstraint::narrows(Some(&smaller), Some(&equals)));
    }

    #[test]
    fn fingerprints_ignore_operation_order_only() {
        let key = KeyArn {
            region: crate::model::Region::parse("us-east-1").unwrap(),
            account: AccountId::parse("111122223333").unwrap(),
            key_id: crate::model::KeyId::generate(),
        };
        let grant = Grant {
            key,
            id: GrantId::generate(),
            name: Some("n".into()),
            grantee: GrantPrincipal {
                arn: "arn:aws:iam::111122223333:user/a".into(),
                id: Some("AIDA1".into()),
            },
            retiring: None,
            operations: vec![GrantOperation::Encrypt, GrantOperation::Decrypt],
            constraint: None,
            issuing_account: AccountId::parse("111122223333").unwrap(),
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        let mut same = grant.clone();
        same.id = GrantId::generate();
        same.operations.reverse();
        assert_eq!(same.fingerprint(), grant.fingerprint());
        let mut other = grant.clone();
        other.grantee.id = Some("AIDA2".into());
        assert_ne!(other.fingerprint(), grant.fingerprint());
        let mut constrained = grant.clone();
        constrained.constraint = Some(GrantConstraint::Subset(pairs(&[("a", "b")])));
        assert_ne!(constrained.fingerprint(), grant.fingerprint());
        let mut recased = constrained.clone();
        recased.constraint = Some(GrantConstraint::Subset(pairs(&[("A", "b")])));
        assert_eq!(recased.fingerprint(), constrained.fingerprint());
    }
}
