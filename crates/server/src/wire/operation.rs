//! The operation named by `X-Amz-Target`, parsed once at the edge into an enum.

/// The service prefix of every KMS target.
const KMS_PREFIX: &str = "TrentService.";

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
}
