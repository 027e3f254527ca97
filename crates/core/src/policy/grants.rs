//! Grants as the third source of Allow, beside the key policy and identity policies.
//!
//! AWS KMS's rules: a grant allows its grantee the operations it lists on its key, under its
//! encryption-context constraint. It never denies: an explicit `Deny` in a policy still wins
//! (the caller checks that first). A grant to the caller itself on a key of the caller's
//! account is enough; a grant to the caller's account (its root ARN), or on another account's
//! key, also needs the caller's identity policies to allow the action, as every cross-account
//! permission does. A grant with `CreateGrant` lets its grantee make grants with a subset of
//! its operations and an equally strict constraint, never more: AWS does not combine grants.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::principal::{Caller, Match, PrincipalId, PrincipalIds};
use crate::model::{AccountId, Grant, GrantConstraint, GrantOperation, GrantPrincipal};

/// The grant a CreateGrant request would make, which the grant allowing it must cover.
#[derive(Clone, Copy, Debug)]
pub struct ChildGrant<'a> {
    /// The operations requested.
    pub operations: &'a [GrantOperation],
    /// The constraint requested.
    pub constraint: Option<&'a GrantConstraint>,
}

/// What a request asks of a grant.
#[derive(Clone, Copy, Debug)]
pub struct GrantUse<'a> {
    /// The grant operation the request's action is.
    pub operation: GrantOperation,
    /// The request's encryption context; none is the empty context.
    pub encryption_context: Option<&'a BTreeMap<String, String>>,
    /// For CreateGrant, the grant it would make.
    pub child: Option<ChildGrant<'a>>,
}

/// How `principal` (a grant's grantee or retiring principal) names `caller`: as itself, as its
/// account, or not at all. A user or role is the one that existed when the grant was made.
pub fn principal_match(principal: &GrantPrincipal, caller: &Caller) -> Match {
    let Some(id) = PrincipalId::parse(&principal.arn) else {
        return Match::None;
    };
    let ids: PrincipalIds = principal
        .id
        .iter()
        .map(|id| (principal.arn.clone(), id.clone()))
        .collect();
    id.matches(caller, &ids)
}

/// Whether `grant` covers `request`, leaving aside who asks.
fn covers(grant: &Grant, request: &GrantUse<'_>) -> bool {
    if !grant.allows_operation(request.operation) {
        return false;
    }
    if request.operation.takes_context()
        && let Some(constraint) = &grant.constraint
    {
        let empty = BTreeMap::new();
        if !constraint.allows(request.encryption_context.unwrap_or(&empty)) {
            return false;
        }
    }
    match request.child {
        Some(child) => {
            child
                .operations
                .iter()
                .all(|op| grant.allows_operation(*op))
                && GrantConstraint::narrows(child.constraint, grant.constraint.as_ref())
        }
        None => true,
    }
}

/// The first of `grants` that allows `request` for `caller` on a key of `key_account`.
/// `identity_allows` is asked (at most once) only when a grant needs the caller's identity
/// policies too.
pub fn allowing<'g>(
    grants: &'g [Arc<Grant>],
    caller: &Caller,
    key_account: AccountId,
    request: &GrantUse<'_>,
    mut identity_allows: impl FnMut() -> bool,
) -> Option<&'g Grant> {
    let mut identity: Option<bool> = None;
    grants.iter().map(AsRef::as_ref).find(|grant| {
        if !covers(grant, request) {
            return false;
        }
        match principal_match(&grant.grantee, caller) {
            Match::None => false,
            Match::Direct if caller.account == key_account => true,
            Match::Direct | Match::Account => *identity.get_or_insert_with(&mut identity_allows),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{GrantId, KeyArn, KeyId, Region};
    use time::OffsetDateTime;

    fn account(id: &str) -> AccountId {
        AccountId::parse(id).unwrap()
    }

    fn grant(grantee: &str, id: Option<&str>, operations: &[GrantOperation]) -> Arc<Grant> {
        Arc::new(Grant {
            key: KeyArn {
                region: Region::parse("us-east-1").unwrap(),
                account: account("111122223333"),
                key_id: KeyId::generate(),
            },
            id: GrantId::generate(),
            name: None,
            grantee: GrantPrincipal {
                arn: grantee.to_owned(),
                id: id.map(str::to_owned),
            },
            retiring: None,
            operations: operations.to_vec(),
            constraint: None,
            issuing_account: account("111122223333"),
            created_at: OffsetDateTime::UNIX_EPOCH,
        })
    }

    fn decrypt() -> GrantUse<'static> {
        GrantUse {
            operation: GrantOperation::Decrypt,
            encryption_context: None,
            child: None,
        }
    }

    #[test]
    fn grants_name_their_grantee_only() {
        let alice = Caller::user(account("111122223333"), "/", "alice", "AIDA1");
        let grants = [grant(
            "arn:aws:iam::111122223333:user/alice",
            Some("AIDA1"),
            &[GrantOperation::Decrypt],
        )];
        let home = account("111122223333");
        assert!(allowing(&grants, &alice, home, &decrypt(), || false).is_some());
        let encrypt = GrantUse {
            operation: GrantOperation::Encrypt,
            ..decrypt()
        };
        assert!(allowing(&grants, &alice, home, &encrypt, || true).is_none());
        let bob = Caller::user(account("111122223333"), "/", "bob", "AIDA2");
        assert!(allowing(&grants, &bob, home, &decrypt(), || true).is_none());
        // Alice deleted and made again: another user, whom the grant does not name.
        let alice_again = Caller::user(account("111122223333"), "/", "alice", "AIDA9");
        assert!(allowing(&grants, &alice_again, home, &decrypt(), || true).is_none());
    }

    #[test]
    fn account_grantees_and_other_accounts_need_identity_policies() {
        let alice = Caller::user(account("111122223333"), "/", "alice", "AIDA1");
        let to_account = [grant(
            "arn:aws:iam::111122223333:root",
            None,
            &[GrantOperation::Decrypt],
        )];
        let home = account("111122223333");
        assert!(allowing(&to_account, &alice, home, &decrypt(), || false).is_none());
        assert!(allowing(&to_account, &alice, home, &decrypt(), || true).is_some());
        let root = Caller::root(home);
        assert!(allowing(&to_account, &root, home, &decrypt(), || false).is_some());

        let stranger = Caller::user(account("444455556666"), "/", "eve", "AIDA3");
        let cross = [grant(
            "arn:aws:iam::444455556666:user/eve",
            Some("AIDA3"),
            &[GrantOperation::Decrypt],
        )];
        assert!(allowing(&cross, &stranger, home, &decrypt(), || false).is_none());
        assert!(allowing(&cross, &stranger, home, &decrypt(), || true).is_some());
    }

    #[test]
    fn role_grants_cover_their_sessions() {
        let session = Caller::assumed_role(account("111122223333"), "/", "app", "AROA1", "s1");
        let grants = [grant(
            "arn:aws:iam::111122223333:role/app",
            Some("AROA1"),
            &[GrantOperation::Decrypt],
        )];
        assert!(
            allowing(
                &grants,
                &session,
                account("111122223333"),
                &decrypt(),
                || false
            )
            .is_some()
        );
    }

    #[test]
    fn constraints_govern_context_operations_only() {
        let alice = Caller::user(account("111122223333"), "/", "alice", "AIDA1");
        let mut constrained = (*grant(
            "arn:aws:iam::111122223333:user/alice",
            None,
            &[GrantOperation::Decrypt, GrantOperation::DescribeKey],
        ))
        .clone();
        constrained.constraint = Some(GrantConstraint::Equals(
            [("k".to_owned(), "v".to_owned())].into(),
        ));
        let grants = [Arc::new(constrained)];
        let home = account("111122223333");
        assert!(allowing(&grants, &alice, home, &decrypt(), || false).is_none());
        let context: BTreeMap<String, String> = [("K".to_owned(), "v".to_owned())].into();
        let with_context = GrantUse {
            encryption_context: Some(&context),
            ..decrypt()
        };
        assert!(allowing(&grants, &alice, home, &with_context, || false).is_some());
        let describe = GrantUse {
            operation: GrantOperation::DescribeKey,
            ..decrypt()
        };
        assert!(allowing(&grants, &alice, home, &describe, || false).is_some());
    }

    #[test]
    fn create_grant_delegates_a_subset_from_one_grant() {
        let alice = Caller::user(account("111122223333"), "/", "alice", "AIDA1");
        let home = account("111122223333");
        let grants = [
            grant(
                "arn:aws:iam::111122223333:user/alice",
                None,
                &[GrantOperation::CreateGrant, GrantOperation::Decrypt],
            ),
            grant(
                "arn:aws:iam::111122223333:user/alice",
                None,
                &[GrantOperation::Encrypt],
            ),
        ];
        let asking = |operations: &'static [GrantOperation]| GrantUse {
            operation: GrantOperation::CreateGrant,
            encryption_context: None,
            child: Some(ChildGrant {
                operations,
                constraint: None,
            }),
        };
        assert!(
            allowing(
                &grants,
                &alice,
                home,
                &asking(&[GrantOperation::Decrypt]),
                || false
            )
            .is_some()
        );
        // Encrypt is held, but not by the grant that may delegate: grants do not combine.
        assert!(
            allowing(
                &grants,
                &alice,
                home,
                &asking(&[GrantOperation::Decrypt, GrantOperation::Encrypt]),
                || false
            )
            .is_none()
        );
    }
}
