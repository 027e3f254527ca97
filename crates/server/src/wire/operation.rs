//! The operation named by `X-Amz-Target`, parsed once at the edge into an enum.

/// The service prefix of every KMS target.
const KMS_PREFIX: &str = "TrentService.";
/// The prefix of every CloudTrail target.
const CLOUDTRAIL_PREFIX: &str = "com.amazonaws.cloudtrail.";
/// CloudTrail's LookupEvents, served on the same endpoint for the audit trail.
const LOOKUP_EVENTS: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";

/// Declares [`Operation`] with its wire names, so that the list of names and the enum cannot
/// drift apart.
macro_rules! operations {
    ($($variant:ident,)+) => {
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

            fn from_name(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($variant) => Some(Operation::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

operations! {
    CancelKeyDeletion,
    ConnectCustomKeyStore,
    CreateAlias,
    CreateCustomKeyStore,
    CreateGrant,
    CreateKey,
    Decapsulate,
    Decrypt,
    DeleteAlias,
    DeleteCustomKeyStore,
    DeleteImportedKeyMaterial,
    DeriveSharedSecret,
    DescribeCustomKeyStores,
    DescribeKey,
    DisableKey,
    DisableKeyRotation,
    DisconnectCustomKeyStore,
    EnableKey,
    EnableKeyRotation,
    Encapsulate,
    Encrypt,
    GenerateDataKey,
    GenerateDataKeyPair,
    GenerateDataKeyPairWithoutPlaintext,
    GenerateDataKeyWithoutPlaintext,
    GenerateMac,
    GenerateRandom,
    GetKeyLastUsage,
    GetKeyPolicy,
    GetKeyRotationStatus,
    GetParametersForImport,
    GetPublicKey,
    ImportKeyMaterial,
    ListAliases,
    ListGrants,
    ListKeyPolicies,
    ListKeyRotations,
    ListKeys,
    ListResourceTags,
    ListRetirableGrants,
    PutKeyPolicy,
    ReEncrypt,
    ReplicateKey,
    RetireGrant,
    RevokeGrant,
    RotateKeyOnDemand,
    ScheduleKeyDeletion,
    Sign,
    TagResource,
    UntagResource,
    UpdateAlias,
    UpdateCustomKeyStore,
    UpdateKeyDescription,
    UpdatePrimaryRegion,
    Verify,
    VerifyMac,
}

impl Operation {
    /// Parses `TrentService.<Name>`; `None` for anything else.
    pub fn from_target(target: &str) -> Option<Self> {
        target.strip_prefix(KMS_PREFIX).and_then(Self::from_name)
    }

    /// Whether the operation leaves every resource as it was, as CloudTrail's `readOnly` says:
    /// the cryptographic operations are read-only too.
    pub fn read_only(self) -> bool {
        use Operation as O;
        !matches!(
            self,
            O::CancelKeyDeletion
                | O::ConnectCustomKeyStore
                | O::CreateAlias
                | O::CreateCustomKeyStore
                | O::CreateGrant
                | O::CreateKey
                | O::DeleteAlias
                | O::DeleteCustomKeyStore
                | O::DeleteImportedKeyMaterial
                | O::DisableKey
                | O::DisableKeyRotation
                | O::DisconnectCustomKeyStore
                | O::EnableKey
                | O::EnableKeyRotation
                | O::ImportKeyMaterial
                | O::PutKeyPolicy
                | O::ReplicateKey
                | O::RetireGrant
                | O::RevokeGrant
                | O::RotateKeyOnDemand
                | O::ScheduleKeyDeletion
                | O::TagResource
                | O::UntagResource
                | O::UpdateAlias
                | O::UpdateCustomKeyStore
                | O::UpdateKeyDescription
                | O::UpdatePrimaryRegion
        )
    }
}

/// What a request's `X-Amz-Target` asks for: a KMS operation, or CloudTrail's LookupEvents
/// over the audit trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A KMS operation.
    Kms(Operation),
    /// `CloudTrail_20131101.LookupEvents`.
    LookupEvents,
}

impl Target {
    /// Parses a target header; `None` for anything unknown.
    pub fn parse(target: &str) -> Option<Self> {
        if target == LOOKUP_EVENTS {
            return Some(Target::LookupEvents);
        }
        Operation::from_target(target).map(Target::Kms)
    }

    /// The SigV4 service the request must be signed for.
    pub fn service(self) -> &'static str {
        match self {
            Target::Kms(_) => "kms",
            Target::LookupEvents => "cloudtrail",
        }
    }
}

/// Whether an unknown target names a CloudTrail operation: it is then signed for `cloudtrail`
/// (and answered UnknownOperation rather than a signature error) and not recorded, like
/// LookupEvents.
pub fn is_cloudtrail(target: &str) -> bool {
    target.starts_with(CLOUDTRAIL_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip() {
        for op in Operation::ALL {
            let target = format!("TrentService.{}", op.name());
            assert_eq!(Operation::from_target(&target), Some(*op));
        }
        assert_eq!(Operation::ALL.len(), 56);
        assert_eq!(Operation::from_target("TrentService.encrypt"), None);
        assert_eq!(Operation::from_target("Encrypt"), None);
        assert_eq!(Operation::from_target("OtherService.Encrypt"), None);
    }

    #[test]
    fn targets_name_their_service() {
        assert_eq!(
            Target::parse("TrentService.Encrypt"),
            Some(Target::Kms(Operation::Encrypt))
        );
        assert_eq!(
            Target::parse(LOOKUP_EVENTS).map(Target::service),
            Some("cloudtrail")
        );
        assert_eq!(Target::parse("CloudTrail_20131101.LookupEvents"), None);
        assert!(is_cloudtrail(
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails"
        ));
        assert!(!is_cloudtrail("TrentService.Encrypt"));
        assert!(Operation::Encrypt.read_only());
        assert!(!Operation::CreateKey.read_only());
    }
}
