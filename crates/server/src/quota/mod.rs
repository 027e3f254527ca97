//! Per-account request quotas, as AWS KMS applies them: a rate per quota category, per account
//! and Region, each category counted on its own; past it, `ThrottlingException`.
//!
//! The categories and AWS's default rates come from AWS's "Request quotas" table
//! (<https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html>): the
//! cryptographic operations share quotas, every other operation has its own. Quotas are off
//! unless configured: the `aws` profile applies AWS's defaults to every account, and each
//! account's categories can be set apart.
//!
//! Two simplifications, documented in docs/compatibility.md: the category of a cryptographic
//! operation comes from the operation, not from the key's type (so Encrypt, Decrypt and
//! ReEncrypt with an RSA key count against the symmetric quota, and Sign and Verify share one
//! quota for RSA, ECC and ML-DSA keys), because it is decided before the key is looked up, so
//! that refusing costs next to nothing; and throttled calls are not recorded in the audit trail,
//! so that a flood cannot fill it (they are counted in `strongbox_throttled_total`).
//!
//! Several nodes (the PostgreSQL issue) each enforce `rate / nodes` (`nodes` from the
//! configuration), so that an account spread evenly over the nodes gets its quota in total
//! without the nodes coordinating per request.

mod bucket;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::Deserialize;
use strongbox_core::log_throttle::LogThrottle;
use strongbox_core::model::{AccountId, Region};
use strongbox_core::operation::QuotaClass;

use self::bucket::Bucket;
use crate::telemetry;
use crate::wire::{ApiError, ErrorCode, Operation};

/// How long a throttled call waits before its answer. The refusal itself costs little, but a
/// client that ignores backoff (a flood from many connections) would otherwise turn refusals
/// into as much load as it likes, at the expense of every other tenant; waiting caps what each
/// of its connections can ask for at ten refusals a second. The AWS SDKs back off longer than
/// this before they retry anyway.
pub const THROTTLED_DELAY: Duration = Duration::from_millis(100);

/// AWS KMS's throttling message (recorded from AWS; HTTP 400, retried by the AWS SDKs).
pub const THROTTLED_MESSAGE: &str =
    "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.";

/// The quota an operation counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// "Cryptographic operations (symmetric)": Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
    /// GenerateDataKeyWithoutPlaintext, GenerateMac, VerifyMac, GenerateRandom.
    Symmetric,
    /// Sign and Verify ("Cryptographic operations (RSA)", "(ECC and SM2)", "(ML-DSA)", one
    /// shared quota here).
    Signing,
    /// DeriveSharedSecret ("Cryptographic operations (ECC and SM2)").
    KeyAgreement,
    /// GenerateDataKeyPair and its WithoutPlaintext twin, for a family of pair specs.
    DataKeyPair(PairFamily),
    /// Every other operation, on its own quota.
    Operation(Operation),
}

/// The key pair specs GenerateDataKeyPair quotas tell apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PairFamily {
    /// `ECC_*` (100 a second each in AWS).
    Ecc,
    /// `RSA_2048` (20).
    Rsa2048,
    /// `RSA_3072` (4).
    Rsa3072,
    /// `RSA_4096` (1).
    Rsa4096,
}

impl Category {
    /// The category of `operation`; GenerateDataKeyPair's depends on the request's
    /// `KeyPairSpec`, read from `body` (an unknown or missing spec counts as RSA_4096, the
    /// strictest, and the operation then refuses it).
    pub fn of(operation: Operation, body: &[u8]) -> Self {
        match operation.facts().quota {
            QuotaClass::Symmetric => Category::Symmetric,
            QuotaClass::Signing => Category::Signing,
            QuotaClass::KeyAgreement => Category::KeyAgreement,
            QuotaClass::DataKeyPair => {
                #[derive(Deserialize)]
                struct Spec {
                    #[serde(rename = "KeyPairSpec")]
                    spec: Option<String>,
                }
                let spec = serde_json::from_slice::<Spec>(body)
                    .ok()
                    .and_then(|spec| spec.spec);
                Category::DataKeyPair(match spec.as_deref() {
                    Some(spec) if spec.starts_with("ECC_") => PairFamily::Ecc,
                    Some("RSA_2048") => PairFamily::Rsa2048,
                    Some("RSA_3072") => PairFamily::Rsa3072,
                    _ => PairFamily::Rsa4096,
                })
            }
            QuotaClass::Own => Category::Operation(operation),
        }
    }

    /// The name used in configuration, metrics and logs.
    pub fn name(self) -> String {
        match self {
            Category::Symmetric => "cryptographic-symmetric".to_owned(),
            Category::Signing => "cryptographic-signing".to_owned(),
            Category::KeyAgreement => "cryptographic-key-agreement".to_owned(),
            Category::DataKeyPair(family) => format!(
                "GenerateDataKeyPair-{}",
                match family {
                    PairFamily::Ecc => "ECC",
                    PairFamily::Rsa2048 => "RSA_2048",
                    PairFamily::Rsa3072 => "RSA_3072",
                    PairFamily::Rsa4096 => "RSA_4096",
                }
            ),
            Category::Operation(operation) => operation.name().to_owned(),
        }
    }

    /// Parses [`Category::name`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::all()
            .into_iter()
            .find(|category| category.name() == name)
    }

    fn all() -> Vec<Self> {
        let mut all = vec![
            Category::Symmetric,
            Category::Signing,
            Category::KeyAgreement,
        ];
        for family in [
            PairFamily::Ecc,
            PairFamily::Rsa2048,
            PairFamily::Rsa3072,
            PairFamily::Rsa4096,
        ] {
            all.push(Category::DataKeyPair(family));
        }
        let shared = |operation: Operation| {
            !matches!(Category::of(operation, b"{}"), Category::Operation(_))
        };
        all.extend(
            Operation::ALL
                .iter()
                .filter(|operation| !shared(**operation))
                .map(|operation| Category::Operation(*operation)),
        );
        all
    }

    /// AWS's default rate (requests a second) in `region`.
    pub fn aws_default(self, region: &Region) -> u32 {
        use Operation as O;
        match self {
            Category::Symmetric => match region.as_str() {
                "us-east-1" | "us-west-2" | "eu-west-1" => 100_000,
                "us-east-2" | "ap-southeast-1" | "ap-southeast-2" | "ap-northeast-1"
                | "eu-central-1" | "eu-west-2" => 20_000,
                _ => 10_000,
            },
            Category::Signing | Category::KeyAgreement => 1_000,
            Category::DataKeyPair(PairFamily::Ecc) => 100,
            Category::DataKeyPair(PairFamily::Rsa2048) => 20,
            Category::DataKeyPair(PairFamily::Rsa3072) => 4,
            Category::DataKeyPair(PairFamily::Rsa4096) => 1,
            Category::Operation(operation) => match operation {
                O::DescribeKey | O::GetPublicKey | O::ListResourceTags => 2_000,
                O::GetKeyPolicy | O::GetKeyRotationStatus => 1_000,
                O::ListAliases | O::ListKeys => 500,
                O::ListGrants
                | O::ListKeyPolicies
                | O::ListKeyRotations
                | O::ListRetirableGrants => 100,
                O::CreateGrant | O::RetireGrant | O::RevokeGrant => 50,
                O::DeleteAlias
                | O::DeleteImportedKeyMaterial
                | O::EnableKeyRotation
                | O::ImportKeyMaterial
                | O::PutKeyPolicy
                | O::ScheduleKeyDeletion => 15,
                O::TagResource => 10,
                O::GetParametersForImport => 1,
                _ => 5,
            },
        }
    }
}

/// The `[quotas]` table of the configuration file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct QuotaConfig {
    /// `profile = "aws"`: AWS's defaults for every account; `"off"` (the default): none but
    /// those set per account.
    pub profile: Option<String>,
    /// `nodes = 3`: servers sharing the accounts' quotas, each enforcing its share.
    pub nodes: Option<u32>,
    /// `[quotas.accounts."111122223333"]` then `cryptographic-symmetric = 500`, `CreateKey = 2`.
    #[serde(default)]
    pub accounts: BTreeMap<String, BTreeMap<String, u32>>,
}

/// Whether the `aws` profile applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Profile {
    Off,
    Aws,
}

/// The quotas of a server: what is configured, and a bucket per (account, Region, category)
/// in use.
#[derive(Debug)]
pub struct Quotas {
    profile: Profile,
    nodes: u32,
    accounts: HashMap<AccountId, HashMap<Category, u32>>,
    buckets: RwLock<HashMap<(AccountId, Region, Category), Mutex<Bucket>>>,
}

/// Throttled calls are logged at most once a minute (the metric counts them all).
static THROTTLED: LogThrottle = LogThrottle::new(Duration::from_secs(60));

impl Quotas {
    /// No quotas at all.
    pub fn off() -> Self {
        Self {
            profile: Profile::Off,
            nodes: 1,
            accounts: HashMap::new(),
            buckets: RwLock::new(HashMap::new()),
        }
    }

    /// The quotas `config` describes.
    ///
    /// # Errors
    /// A message naming an unknown profile, account or category, or a zero node count.
    pub fn from_config(config: &QuotaConfig) -> Result<Self, String> {
        let profile = match config.profile.as_deref() {
            None | Some("off") => Profile::Off,
            Some("aws") => Profile::Aws,
            Some(other) => {
                return Err(format!(
                    "quota profile '{other}': use \"aws\" (AWS's defaults) or \"off\""
                ));
            }
        };
        let nodes = config.nodes.unwrap_or(1);
        if nodes == 0 {
            return Err("quota nodes must be at least 1".to_owned());
        }
        let mut accounts = HashMap::new();
        for (account, categories) in &config.accounts {
            let id = AccountId::parse(account)
                .map_err(|_| format!("quotas: '{account}' is not a 12-digit account id"))?;
            let mut rates = HashMap::new();
            for (name, rate) in categories {
                let category = Category::parse(name).ok_or_else(|| {
                    format!(
                        "quotas of account {account}: unknown category '{name}' (cryptographic-symmetric, cryptographic-signing, cryptographic-key-agreement, GenerateDataKeyPair-ECC|RSA_2048|RSA_3072|RSA_4096, or an operation name such as CreateKey)"
                    )
                })?;
                rates.insert(category, *rate);
            }
            accounts.insert(id, rates);
        }
        Ok(Self {
            profile,
            nodes,
            accounts,
            buckets: RwLock::new(HashMap::new()),
        })
    }

    /// Whether any quota is configured (none: every call is admitted without a lookup).
    pub fn is_on(&self) -> bool {
        self.profile == Profile::Aws || !self.accounts.is_empty()
    }

    /// The rate this node enforces for `category` of `account` in `region` (its share of the
    /// account's rate, possibly a fraction), if any.
    fn rate(&self, account: &AccountId, region: &Region, category: Category) -> Option<f64> {
        let configured = self
            .accounts
            .get(account)
            .and_then(|rates| rates.get(&category).copied());
        let rate = configured
            .or_else(|| (self.profile == Profile::Aws).then(|| category.aws_default(region)))?;
        Some(f64::from(rate) / f64::from(self.nodes))
    }

    /// Admits a call of `operation` by `account` in `region`, or answers `ThrottlingException`.
    ///
    /// # Errors
    /// `ThrottlingException` when the account is over its quota for the operation's category.
    pub fn admit(
        &self,
        account: &AccountId,
        region: &Region,
        operation: Operation,
        body: &[u8],
    ) -> Result<(), ApiError> {
        if !self.is_on() {
            return Ok(());
        }
        let category = Category::of(operation, body);
        let Some(rate) = self.rate(account, region, category) else {
            return Ok(());
        };
        let key = (*account, *region, category);
        let now = Instant::now();
        let admitted = {
            let buckets = self
                .buckets
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            buckets.get(&key).map(|bucket| {
                bucket
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .take(now)
            })
        };
        let admitted = admitted.unwrap_or_else(|| {
            let mut buckets = self
                .buckets
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            buckets
                .entry(key)
                .or_insert_with(|| Mutex::new(Bucket::new(rate, now)))
                .get_mut()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take(now)
        });
        if admitted {
            return Ok(());
        }
        let name = category.name();
        metrics::counter!(
            telemetry::THROTTLED,
            "account" => account.to_string(),
            "category" => name.clone(),
        )
        .increment(1);
        if let Some(left_out) = THROTTLED.allow() {
            tracing::info!(
                %account,
                category = %name,
                rate,
                throttled_calls_not_logged = left_out,
                "account over its request quota: ThrottlingException"
            );
        }
        Err(ApiError::new(ErrorCode::Throttling, THROTTLED_MESSAGE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(name: &str) -> Region {
        Region::parse(name).unwrap()
    }

    #[test]
    fn categories_follow_aws_table() {
        assert_eq!(Category::of(Operation::Decrypt, b"{}"), Category::Symmetric);
        assert_eq!(
            Category::of(Operation::VerifyMac, b"{}"),
            Category::Symmetric
        );
        assert_eq!(Category::of(Operation::Verify, b"{}"), Category::Signing);
        assert_eq!(
            Category::of(
                Operation::GenerateDataKeyPair,
                br#"{"KeyPairSpec":"ECC_NIST_P384"}"#
            ),
            Category::DataKeyPair(PairFamily::Ecc)
        );
        assert_eq!(
            Category::of(Operation::CreateKey, b"{}"),
            Category::Operation(Operation::CreateKey)
        );
        assert_eq!(
            Category::Symmetric.aws_default(&region("us-east-1")),
            100_000
        );
        assert_eq!(
            Category::Symmetric.aws_default(&region("eu-west-2")),
            20_000
        );
        assert_eq!(
            Category::Symmetric.aws_default(&region("sa-east-1")),
            10_000
        );
        assert_eq!(
            Category::Operation(Operation::DescribeKey).aws_default(&region("us-east-1")),
            2_000
        );
        assert_eq!(
            Category::Operation(Operation::CreateKey).aws_default(&region("us-east-1")),
            5
        );
        for category in Category::all() {
            assert_eq!(Category::parse(&category.name()), Some(category));
        }
        assert_eq!(
            Category::parse("Encrypt"),
            None,
            "shared, not its own quota"
        );
    }

    #[test]
    fn an_account_over_its_quota_is_throttled_and_others_are_not() {
        let config: QuotaConfig = toml::from_str(
            "[accounts.\"111122223333\"]\nCreateKey = 2\ncryptographic-symmetric = 3",
        )
        .unwrap();
        let quotas = Quotas::from_config(&config).unwrap();
        let (busy, other) = (
            AccountId::parse("111122223333").unwrap(),
            AccountId::parse("444455556666").unwrap(),
        );
        let here = region("us-east-1");
        let admitted = (0..10)
            .filter(|_| {
                quotas
                    .admit(&busy, &here, Operation::CreateKey, b"{}")
                    .is_ok()
            })
            .count();
        assert_eq!(admitted, 2);
        let refused = quotas
            .admit(&busy, &here, Operation::CreateKey, b"{}")
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::Throttling);
        assert_eq!(refused.message, THROTTLED_MESSAGE);
        // Categories are counted apart, and an account without quotas is never throttled.
        assert!(
            quotas
                .admit(&busy, &here, Operation::Encrypt, b"{}")
                .is_ok()
        );
        assert!((0..100).all(|_| {
            quotas
                .admit(&other, &here, Operation::CreateKey, b"{}")
                .is_ok()
        }));
    }

    #[test]
    fn the_aws_profile_applies_defaults_shared_between_nodes() {
        let config: QuotaConfig = toml::from_str("profile = \"aws\"\nnodes = 5").unwrap();
        let quotas = Quotas::from_config(&config).unwrap();
        let account = AccountId::parse("111122223333").unwrap();
        let here = region("us-east-1");
        assert_eq!(
            quotas.rate(&account, &here, Category::Operation(Operation::CreateKey)),
            Some(1.0)
        );
        assert_eq!(
            quotas.rate(&account, &here, Category::Symmetric),
            Some(20_000.0)
        );
        assert_eq!(
            quotas.rate(&account, &here, Category::DataKeyPair(PairFamily::Rsa4096)),
            Some(0.2)
        );
        assert!(Quotas::from_config(&toml::from_str("profile = \"lavish\"").unwrap()).is_err());
        assert!(
            Quotas::from_config(
                &toml::from_str("[accounts.\"111122223333\"]\nEncrypt = 1").unwrap()
            )
            .is_err()
        );
    }
}
