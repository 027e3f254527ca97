//! Every KMS operation and its facts, in one table: the IAM action that authorizes it, whether
//! it acts on a key, whether another account may call it, which key states allow it, whether
//! it changes anything (CloudTrail's `readOnly`), and which request quota it counts against.
//! Handlers, the evaluator, the audit trail and the quotas read these facts here; none of them
//! repeats one.

use crate::state::StateRule;

/// What an operation acts on, for authorization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// One key, named by a request member (`KeyId`, `TargetKeyId`, ...) or by a ciphertext:
    /// decided by the key policy and identity policies together.
    Key,
    /// No key (`CreateKey`, `ListKeys`, custom key stores, ...): decided by identity policies
    /// alone, on resource `*`.
    None,
}

/// The request quota an operation counts against (AWS's "request quotas" table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuotaClass {
    /// "Cryptographic operations (symmetric)".
    Symmetric,
    /// Sign and Verify (RSA, ECC and ML-DSA quotas, one shared quota here).
    Signing,
    /// DeriveSharedSecret ("Cryptographic operations (ECC and SM2)").
    KeyAgreement,
    /// GenerateDataKeyPair and its twin, by the pair spec the request names.
    DataKeyPair,
    /// A quota of the operation's own.
    Own,
}

/// The facts of one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facts {
    /// The IAM action (`kms:Encrypt`). ReEncrypt needs two, `kms:ReEncryptFrom` on the source
    /// key (given here) and `kms:ReEncryptTo` on the destination.
    pub action: &'static str,
    /// What it acts on.
    pub resource: Resource,
    /// Whether a principal of another account may call it on a key (when the key policy
    /// allows); if not, AWS answers another account's key as not found.
    pub cross_account: bool,
    /// Whether it leaves every resource as it was. The cryptographic operations are read-only.
    pub read_only: bool,
    /// Which key states allow it; `None` for operations on no key or with rules of their own.
    pub key_states: Option<StateRule>,
    /// Its request quota.
    pub quota: QuotaClass,
}

/// The second action of ReEncrypt, on its destination key.
pub const RE_ENCRYPT_TO: &str = "kms:ReEncryptTo";

/// Declares [`Operation`] with its names and facts, so that neither can drift from the list.
macro_rules! operations {
    ($($variant:ident: $action:literal, $resource:ident, $cross:literal, $read_only:literal, $states:expr, $quota:ident;)+) => {
        /// Every operation of the AWS KMS API (service model 2014-11-01).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Operation {
            $(
                #[doc = concat!("`", stringify!($variant), "`")]
                $variant,
            )+
        }

        impl Operation {
            /// Every operation, in the service model's alphabetical order.
            pub const ALL: &'static [Operation] = &[$(Operation::$variant,)+];

            /// The AWS name, as in `TrentService.<Name>` and in audit records.
            pub fn name(self) -> &'static str {
                match self {
                    $(Operation::$variant => stringify!($variant),)+
                }
            }

            /// The operation with this AWS name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($variant) => Some(Operation::$variant),)+
                    _ => None,
                }
            }

            /// The operation's facts.
            pub const fn facts(self) -> Facts {
                match self {
                    $(Operation::$variant => Facts {
                        action: $action,
                        resource: Resource::$resource,
                        cross_account: $cross,
                        read_only: $read_only,
                        key_states: $states,
                        quota: QuotaClass::$quota,
                    },)+
                }
            }
        }
    };
}

use StateRule::{CancelDeletion, Cryptographic, Manage, Read};

operations! {
    // Name: IAM action, resource, cross-account, read-only, key states, quota.
    CancelKeyDeletion: "kms:CancelKeyDeletion", Key, false, false, Some(CancelDeletion), Own;
    ConnectCustomKeyStore: "kms:ConnectCustomKeyStore", None, false, false, None, Own;
    CreateAlias: "kms:CreateAlias", Key, false, false, Some(Manage), Own;
    CreateCustomKeyStore: "kms:CreateCustomKeyStore", None, false, false, None, Own;
    CreateGrant: "kms:CreateGrant", Key, true, false, Some(Cryptographic), Own;
    CreateKey: "kms:CreateKey", None, false, false, None, Own;
    Decapsulate: "kms:Decapsulate", Key, true, true, Some(Cryptographic), Own;
    Decrypt: "kms:Decrypt", Key, true, true, Some(Cryptographic), Symmetric;
    DeleteAlias: "kms:DeleteAlias", Key, false, false, None, Own;
    DeleteCustomKeyStore: "kms:DeleteCustomKeyStore", None, false, false, None, Own;
    DeleteImportedKeyMaterial: "kms:DeleteImportedKeyMaterial", Key, false, false, Some(Manage), Own;
    DeriveSharedSecret: "kms:DeriveSharedSecret", Key, true, true, Some(Cryptographic), KeyAgreement;
    DescribeCustomKeyStores: "kms:DescribeCustomKeyStores", None, false, true, None, Own;
    DescribeKey: "kms:DescribeKey", Key, true, true, Some(Read), Own;
    DisableKey: "kms:DisableKey", Key, false, false, Some(Manage), Own;
    DisableKeyRotation: "kms:DisableKeyRotation", Key, false, false, Some(Cryptographic), Own;
    DisconnectCustomKeyStore: "kms:DisconnectCustomKeyStore", None, false, false, None, Own;
    EnableKey: "kms:EnableKey", Key, false, false, Some(Manage), Own;
    EnableKeyRotation: "kms:EnableKeyRotation", Key, false, false, Some(Cryptographic), Own;
    Encapsulate: "kms:Encapsulate", Key, true, true, Some(Cryptographic), Own;
    Encrypt: "kms:Encrypt", Key, true, true, Some(Cryptographic), Symmetric;
    GenerateDataKey: "kms:GenerateDataKey", Key, true, true, Some(Cryptographic), Symmetric;
    GenerateDataKeyPair: "kms:GenerateDataKeyPair", Key, true, true, Some(Cryptographic), DataKeyPair;
    GenerateDataKeyPairWithoutPlaintext: "kms:GenerateDataKeyPairWithoutPlaintext", Key, true, true, Some(Cryptographic), DataKeyPair;
    GenerateDataKeyWithoutPlaintext: "kms:GenerateDataKeyWithoutPlaintext", Key, true, true, Some(Cryptographic), Symmetric;
    GenerateMac: "kms:GenerateMac", Key, true, true, Some(Cryptographic), Symmetric;
    GenerateRandom: "kms:GenerateRandom", None, false, true, None, Symmetric;
    GetKeyLastUsage: "kms:GetKeyLastUsage", Key, false, true, Some(Read), Own;
    GetKeyPolicy: "kms:GetKeyPolicy", Key, false, true, Some(Read), Own;
    GetKeyRotationStatus: "kms:GetKeyRotationStatus", Key, true, true, Some(Read), Own;
    GetParametersForImport: "kms:GetParametersForImport", Key, false, true, Some(Manage), Own;
    GetPublicKey: "kms:GetPublicKey", Key, true, true, Some(Cryptographic), Own;
    ImportKeyMaterial: "kms:ImportKeyMaterial", Key, false, false, Some(Manage), Own;
    ListAliases: "kms:ListAliases", None, false, true, None, Own;
    ListGrants: "kms:ListGrants", Key, true, true, Some(Read), Own;
    ListKeyPolicies: "kms:ListKeyPolicies", Key, false, true, Some(Read), Own;
    ListKeyRotations: "kms:ListKeyRotations", Key, false, true, Some(Read), Own;
    ListKeys: "kms:ListKeys", None, false, true, None, Own;
    ListResourceTags: "kms:ListResourceTags", Key, false, true, Some(Read), Own;
    ListRetirableGrants: "kms:ListRetirableGrants", None, false, true, None, Own;
    PutKeyPolicy: "kms:PutKeyPolicy", Key, false, false, Some(Read), Own;
    ReEncrypt: "kms:ReEncryptFrom", Key, true, true, Some(Cryptographic), Symmetric;
    ReplicateKey: "kms:ReplicateKey", Key, false, false, Some(Manage), Own;
    RetireGrant: "kms:RetireGrant", Key, true, false, Some(Read), Own;
    RevokeGrant: "kms:RevokeGrant", Key, true, false, Some(Read), Own;
    RotateKeyOnDemand: "kms:RotateKeyOnDemand", Key, false, false, Some(Cryptographic), Own;
    ScheduleKeyDeletion: "kms:ScheduleKeyDeletion", Key, false, false, Some(Manage), Own;
    Sign: "kms:Sign", Key, true, true, Some(Cryptographic), Signing;
    TagResource: "kms:TagResource", Key, false, false, Some(Manage), Own;
    UntagResource: "kms:UntagResource", Key, false, false, Some(Manage), Own;
    UpdateAlias: "kms:UpdateAlias", Key, false, false, Some(Manage), Own;
    UpdateCustomKeyStore: "kms:UpdateCustomKeyStore", None, false, false, None, Own;
    UpdateKeyDescription: "kms:UpdateKeyDescription", Key, false, false, Some(Manage), Own;
    UpdatePrimaryRegion: "kms:UpdatePrimaryRegion", Key, false, false, Some(Manage), Own;
    Verify: "kms:Verify", Key, true, true, Some(Cryptographic), Signing;
    VerifyMac: "kms:VerifyMac", Key, true, true, Some(Cryptographic), Symmetric;
}

impl Operation {
    /// Whether a grant can allow it (AWS's grant operations, which are also the operations
    /// that read `GrantTokens`); CreateGrant reads tokens too, for the grant that allows it.
    pub fn accepts_grant_tokens(self) -> bool {
        crate::model::GrantOperation::from_action(self.facts().action).is_some()
    }

    /// Whether the request context has `kms:GrantIsForAWSResource`: AWS documents the key for
    /// CreateGrant, ListGrants and RevokeGrant.
    pub fn has_grant_is_for_aws_resource(self) -> bool {
        matches!(
            self,
            Operation::CreateGrant | Operation::ListGrants | Operation::RevokeGrant
        )
    }

    /// The operation whose IAM action is `action` (`kms:ReEncryptTo` is ReEncrypt's too).
    pub fn from_action(action: &str) -> Option<Self> {
        if action.eq_ignore_ascii_case(RE_ENCRYPT_TO) {
            return Some(Operation::ReEncrypt);
        }
        Self::ALL
            .iter()
            .copied()
            .find(|op| op.facts().action.eq_ignore_ascii_case(action))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_kms_and_its_name() {
        assert_eq!(Operation::ALL.len(), 56);
        for op in Operation::ALL {
            let facts = op.facts();
            assert_eq!(Operation::from_name(op.name()), Some(*op));
            assert_eq!(Operation::from_action(facts.action), Some(*op));
            if *op != Operation::ReEncrypt {
                assert_eq!(facts.action, format!("kms:{}", op.name()));
            }
            if facts.resource == Resource::None {
                assert!(!facts.cross_account && facts.key_states.is_none(), "{op:?}");
            }
        }
        assert!(Operation::Encrypt.facts().read_only);
        assert!(!Operation::CreateKey.facts().read_only);
        assert_eq!(
            Operation::from_action("KMS:encrypt"),
            Some(Operation::Encrypt)
        );
        assert_eq!(
            Operation::from_action("kms:ReEncryptTo"),
            Some(Operation::ReEncrypt)
        );
    }
}
