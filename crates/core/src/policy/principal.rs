//! Who is asking (the [`Caller`]) and the `Principal` element that names who may ask.

use std::collections::BTreeMap;

use crate::model::AccountId;

/// The unique ids of the users and roles a policy names, by the ARN written in the policy,
/// resolved when the policy was stored. AWS binds a policy to the entities that existed then:
/// a user deleted and made again under the same name is another user, which the policy does
/// not name. A role session ARN maps to its role's id.
pub type PrincipalIds = BTreeMap<String, String>;

/// What kind of identity a caller is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallerKind {
    /// The account itself (`arn:aws:iam::<account>:root`).
    Root,
    /// An IAM user.
    User {
        /// The user's name (`aws:username`).
        name: String,
    },
    /// A session of an assumed role (temporary credentials).
    AssumedRole {
        /// The role's ARN, path included (`aws:PrincipalArn`).
        role_arn: String,
        /// The session name.
        session: String,
    },
}

/// The authenticated identity a request is decided for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The caller's account.
    pub account: AccountId,
    /// The caller's ARN as AWS prints it: the root, user or assumed-role session ARN.
    pub arn: String,
    /// The unique id (`aws:userid`): the account id for the root, `AIDA...` for a user,
    /// `AROA...:<session>` for a role session.
    pub user_id: String,
    /// What kind of identity it is.
    pub kind: CallerKind,
}

impl Caller {
    /// The account's root.
    pub fn root(account: AccountId) -> Self {
        Self {
            arn: format!("arn:aws:iam::{account}:root"),
            user_id: account.to_string(),
            account,
            kind: CallerKind::Root,
        }
    }

    /// An IAM user; `path` starts and ends with `/`.
    pub fn user(account: AccountId, path: &str, name: &str, user_id: &str) -> Self {
        Self {
            arn: format!("arn:aws:iam::{account}:user{path}{name}"),
            user_id: user_id.to_owned(),
            account,
            kind: CallerKind::User {
                name: name.to_owned(),
            },
        }
    }

    /// A session of a role; `path` starts and ends with `/`, `role_id` is the role's `AROA...`.
    pub fn assumed_role(
        account: AccountId,
        path: &str,
        role: &str,
        role_id: &str,
        session: &str,
    ) -> Self {
        Self {
            arn: format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
            user_id: format!("{role_id}:{session}"),
            account,
            kind: CallerKind::AssumedRole {
                role_arn: format!("arn:aws:iam::{account}:role{path}{role}"),
                session: session.to_owned(),
            },
        }
    }

    /// Parses a caller from its ARN alone (tests and fixtures): the unique id is then unknown
    /// (empty), and a role's path is taken as `/`.
    pub fn from_arn(arn: &str) -> Option<Self> {
        match PrincipalId::parse(arn)? {
            PrincipalId::Account(account) => Some(Self::root(account)),
            PrincipalId::User { account, arn } => {
                let name = arn.rsplit('/').next()?.to_owned();
                Some(Self {
                    arn,
                    user_id: String::new(),
                    account,
                    kind: CallerKind::User { name },
                })
            }
            PrincipalId::Session { account, role, arn } => {
                let session = arn.rsplit('/').next()?.to_owned();
                Some(Self {
                    arn,
                    user_id: String::new(),
                    account,
                    kind: CallerKind::AssumedRole {
                        role_arn: format!("arn:aws:iam::{account}:role/{role}"),
                        session,
                    },
                })
            }
            PrincipalId::Role { .. } => None,
        }
    }

    /// For a role session, its role's unique id (`AROA...`, before the `:` of `aws:userid`);
    /// for anyone else, the unique id.
    pub fn role_id(&self) -> &str {
        self.user_id.split(':').next().unwrap_or_default()
    }

    /// `aws:PrincipalArn`: for a role session, the role's ARN.
    pub fn principal_arn(&self) -> &str {
        match &self.kind {
            CallerKind::AssumedRole { role_arn, .. } => role_arn,
            _ => &self.arn,
        }
    }

    /// `aws:PrincipalType`.
    pub fn principal_type(&self) -> &'static str {
        match self.kind {
            CallerKind::Root => "Account",
            CallerKind::User { .. } => "User",
            CallerKind::AssumedRole { .. } => "AssumedRole",
        }
    }
}

/// One AWS principal named in a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrincipalId {
    /// An account: `111122223333` or `arn:aws:iam::111122223333:root`.
    Account(AccountId),
    /// An IAM user's ARN.
    User {
        /// The user's account.
        account: AccountId,
        /// The ARN as written.
        arn: String,
    },
    /// An IAM role's ARN: matches every session of the role.
    Role {
        /// The role's account.
        account: AccountId,
        /// The ARN as written.
        arn: String,
    },
    /// One session of an assumed role.
    Session {
        /// The role's account.
        account: AccountId,
        /// The role's name.
        role: String,
        /// The session ARN as written.
        arn: String,
    },
}

impl PrincipalId {
    /// Parses an `AWS` principal value; `None` when it is not a valid principal.
    pub fn parse(value: &str) -> Option<Self> {
        if let Ok(account) = AccountId::parse(value) {
            return Some(Self::Account(account));
        }
        if let Some(rest) = value.strip_prefix("arn:aws:iam::") {
            let (account, resource) = rest.split_once(':')?;
            let account = AccountId::parse(account).ok()?;
            if resource == "root" {
                return Some(Self::Account(account));
            }
            let arn = value.to_owned();
            let (kind, path_and_name) = resource.split_once('/')?;
            let name = path_and_name.rsplit('/').next()?;
            if !valid_name(name) || path_and_name.contains("//") {
                return None;
            }
            return match kind {
                "user" => Some(Self::User { account, arn }),
                "role" => Some(Self::Role { account, arn }),
                _ => None,
            };
        }
        let rest = value.strip_prefix("arn:aws:sts::")?;
        let (account, resource) = rest.split_once(':')?;
        let account = AccountId::parse(account).ok()?;
        let mut parts = resource.split('/');
        let (Some("assumed-role"), Some(role), Some(session), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if !valid_name(role) || !valid_name(session) {
            return None;
        }
        Some(Self::Session {
            account,
            role: role.to_owned(),
            arn: value.to_owned(),
        })
    }

    /// How this principal matches `caller`: not at all, as the caller itself, or as the
    /// caller's account (which delegates the decision to the account's identity policies).
    /// A user or role the policy named when it was stored (`ids`) must be that very entity.
    pub fn matches(&self, caller: &Caller, ids: &PrincipalIds) -> Match {
        let same_entity =
            |arn: &str, caller_id: &str| ids.get(arn).is_none_or(|id| id == caller_id);
        match self {
            Self::Account(account) if *account == caller.account => {
                if caller.kind == CallerKind::Root {
                    Match::Direct
                } else {
                    Match::Account
                }
            }
            Self::User { arn, .. } if *arn == caller.arn && same_entity(arn, &caller.user_id) => {
                Match::Direct
            }
            Self::Session { arn, .. }
                if *arn == caller.arn && same_entity(arn, caller.role_id()) =>
            {
                Match::Direct
            }
            Self::Role { arn, .. } => match &caller.kind {
                CallerKind::AssumedRole { role_arn, .. }
                    if role_arn == arn && same_entity(arn, caller.role_id()) =>
                {
                    Match::Direct
                }
                _ => Match::None,
            },
            _ => Match::None,
        }
    }

    /// Whether this principal is the caller itself, exactly (for `NotPrincipal`).
    pub fn names_exactly(&self, caller: &Caller, ids: &PrincipalIds) -> bool {
        match self {
            Self::Account(account) => *account == caller.account && caller.kind == CallerKind::Root,
            Self::User { arn, .. } => {
                *arn == caller.arn && ids.get(arn).is_none_or(|id| *id == caller.user_id)
            }
            Self::Session { arn, .. } | Self::Role { arn, .. } => {
                *arn == caller.arn && ids.get(arn).is_none_or(|id| id == caller.role_id())
            }
        }
    }

    /// The principal's account.
    pub fn account(&self) -> AccountId {
        match self {
            Self::Account(account)
            | Self::User { account, .. }
            | Self::Role { account, .. }
            | Self::Session { account, .. } => *account,
        }
    }
}

/// IAM names: letters, digits and `+=,.@_-`.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// How a `Principal` element matched a caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Match {
    /// It does not name the caller.
    None,
    /// It names the caller's account: the account's identity policies must allow too.
    Account,
    /// It names the caller itself (or everyone).
    Direct,
}

/// A `Principal` or `NotPrincipal` element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principals {
    /// `"*"` or `{"AWS": "*"}`: everyone.
    pub everyone: bool,
    /// The AWS principals named.
    pub aws: Vec<PrincipalId>,
    /// Whether this is `NotPrincipal`: it then matches everyone it does not name.
    pub negated: bool,
}

impl Principals {
    /// How the element matches `caller`. Service, federated and canonical-user principals
    /// never match: Strongbox callers are accounts, users and role sessions.
    pub fn matches(&self, caller: &Caller, ids: &PrincipalIds) -> Match {
        if self.negated {
            // NotPrincipal excludes exactly whom it names: an account entry excludes the
            // account's root, not its users; a role entry the role, not its sessions (AWS asks
            // for the session's ARN to be listed too).
            let excluded = self.aws.iter().any(|p| p.names_exactly(caller, ids));
            return if excluded { Match::None } else { Match::Direct };
        }
        if self.everyone {
            return Match::Direct;
        }
        self.aws
            .iter()
            .map(|p| p.matches(caller, ids))
            .max()
            .unwrap_or(Match::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str) -> AccountId {
        AccountId::parse(id).unwrap()
    }

    #[test]
    fn principal_forms() {
        assert_eq!(
            PrincipalId::parse("111122223333"),
            Some(PrincipalId::Account(account("111122223333")))
        );
        assert_eq!(
            PrincipalId::parse("arn:aws:iam::111122223333:root"),
            Some(PrincipalId::Account(account("111122223333")))
        );
        assert!(matches!(
            PrincipalId::parse("arn:aws:iam::111122223333:user/dev/alice"),
            Some(PrincipalId::User { .. })
        ));
        assert!(matches!(
            PrincipalId::parse("arn:aws:iam::111122223333:role/Admin"),
            Some(PrincipalId::Role { .. })
        ));
        assert!(matches!(
            PrincipalId::parse("arn:aws:sts::111122223333:assumed-role/Admin/s1"),
            Some(PrincipalId::Session { .. })
        ));
        for bad in [
            "1111",
            "arn:aws:iam::1111:root",
            "arn:aws:iam::111122223333:group/g",
            "arn:aws:iam::111122223333:user/",
            "arn:aws:iam::111122223333:user/a*",
            "arn:aws:sts::111122223333:assumed-role/Admin",
            "arn:aws:s3:::bucket",
            "*",
        ] {
            assert_eq!(PrincipalId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn role_principals_match_their_sessions() {
        let session = Caller::assumed_role(account("111122223333"), "/", "Admin", "AROA1", "s1");
        let role = PrincipalId::parse("arn:aws:iam::111122223333:role/Admin").unwrap();
        assert_eq!(role.matches(&session, &PrincipalIds::new()), Match::Direct);
        let other = PrincipalId::parse("arn:aws:iam::111122223333:role/Other").unwrap();
        assert_eq!(other.matches(&session, &PrincipalIds::new()), Match::None);
        let acct = PrincipalId::parse("111122223333").unwrap();
        assert_eq!(acct.matches(&session, &PrincipalIds::new()), Match::Account);
        assert_eq!(
            acct.matches(&Caller::root(account("111122223333")), &PrincipalIds::new()),
            Match::Direct
        );
        assert_eq!(
            acct.matches(&Caller::root(account("444455556666")), &PrincipalIds::new()),
            Match::None
        );
    }
}
