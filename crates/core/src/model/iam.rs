//! IAM identities inside an account: users, roles, and the inline policies attached to them.

use time::OffsetDateTime;

use crate::model::ids::AccountId;
use crate::policy::PrincipalIds;

/// An IAM user. Names are unique in an account regardless of case, as in IAM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The owning account.
    pub account: AccountId,
    /// The name, as created.
    pub name: String,
    /// The path, `/` or `/division/team/`.
    pub path: String,
    /// The unique id (`AIDA...`), `aws:userid`.
    pub id: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

impl User {
    /// `arn:aws:iam::<account>:user<path><name>`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:user{}{}",
            self.account, self.path, self.name
        )
    }
}

/// An IAM role: assumed through STS by the principals its trust policy names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    /// The owning account.
    pub account: AccountId,
    /// The name, as created.
    pub name: String,
    /// The path.
    pub path: String,
    /// The unique id (`AROA...`).
    pub id: String,
    /// The trust policy (`AssumeRolePolicyDocument`), as sent.
    pub trust_policy: String,
    /// The unique ids of the users and roles the trust policy named when it was stored.
    pub trust_principal_ids: PrincipalIds,
    /// Free text.
    pub description: String,
    /// The longest session AssumeRole may grant, 3600 to 43200 seconds.
    pub max_session_seconds: u32,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

impl Role {
    /// `arn:aws:iam::<account>:role<path><name>`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:role{}{}",
            self.account, self.path, self.name
        )
    }
}

/// Who an inline policy is attached to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PolicyOwner {
    /// A user, by name.
    User(String),
    /// A role, by name.
    Role(String),
}

impl PolicyOwner {
    /// `user` or `role`, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            PolicyOwner::User(_) => "user",
            PolicyOwner::Role(_) => "role",
        }
    }

    /// The owner's name.
    pub fn name(&self) -> &str {
        match self {
            PolicyOwner::User(name) | PolicyOwner::Role(name) => name,
        }
    }

    /// The key names are compared by: IAM names ignore case.
    pub fn name_key(&self) -> String {
        self.name().to_ascii_lowercase()
    }
}

/// An inline policy: a named identity-policy document embedded in a user or role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlinePolicy {
    /// The policy's name, unique for its owner.
    pub name: String,
    /// The document, as sent.
    pub document: String,
}

/// The name of the policy every account's `admin` user gets, and that users made before
/// identities existed were given by the upgrade.
pub const ADMIN_POLICY_NAME: &str = "StrongboxAdministrator";

/// The document of [`ADMIN_POLICY_NAME`]: everything Strongbox serves.
pub const ADMIN_POLICY_DOCUMENT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"StrongboxAdministrator","Effect":"Allow","Action":["kms:*","iam:*","sts:*","cloudtrail:LookupEvents"],"Resource":"*"}]}"#;

/// The user every account is created with, who owns the account's first access key.
pub const ADMIN_USER: &str = "admin";
