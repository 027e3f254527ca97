//! AWS's key-state table: which operations a key in each state allows, and the error otherwise.
//! See <https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html>.

use crate::error::Error;
use crate::messages;
use crate::model::{KeyArn, KeyState};

/// Operations grouped by how the key-state table treats them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateRule {
    /// Encrypt, Decrypt, ReEncrypt, GenerateDataKey*: only `Enabled`.
    Cryptographic,
    /// DescribeKey, ListAliases, ListResourceTags: every state.
    Read,
    /// EnableKey, DisableKey, UpdateKeyDescription, TagResource, UntagResource, CreateAlias,
    /// UpdateAlias, ScheduleKeyDeletion: `Enabled` or `Disabled`, not pending deletion.
    Manage,
    /// CancelKeyDeletion: only `PendingDeletion`.
    CancelDeletion,
}

/// Allows `operation` on a key in `state`, by the key-state rule of the operation table, or
/// returns the error AWS returns.
pub fn allows(
    operation: crate::operation::Operation,
    state: KeyState,
    arn: &KeyArn,
) -> Result<(), Error> {
    match operation.facts().key_states {
        Some(rule) => check(rule, state, arn),
        None => Ok(()),
    }
}

/// Allows the operation or returns the error AWS returns for a key in `state`.
pub fn check(rule: StateRule, state: KeyState, arn: &KeyArn) -> Result<(), Error> {
    match (rule, state) {
        (StateRule::Read, _) => Ok(()),
        (StateRule::Cryptographic, KeyState::Enabled) => Ok(()),
        (StateRule::Cryptographic, KeyState::Disabled) => {
            Err(Error::Disabled(messages::disabled(&arn.to_string())))
        }
        (StateRule::Manage, KeyState::Enabled | KeyState::Disabled) => Ok(()),
        (StateRule::CancelDeletion, KeyState::PendingDeletion) => Ok(()),
        (StateRule::CancelDeletion, _) => Err(Error::KmsInvalidState(
            messages::not_pending_deletion(&arn.to_string()),
        )),
        (_, _) => Err(Error::KmsInvalidState(messages::invalid_state(
            &arn.to_string(),
            state,
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AccountId, KeyId, Region};

    fn arn() -> KeyArn {
        KeyArn {
            region: Region::parse("us-east-1").unwrap(),
            account: AccountId::parse("111122223333").unwrap(),
            key_id: KeyId::generate(),
        }
    }

    #[derive(Debug, PartialEq)]
    enum Outcome {
        Ok,
        Disabled,
        InvalidState,
    }

    fn outcome(result: Result<(), Error>) -> Outcome {
        match result {
            Ok(()) => Outcome::Ok,
            Err(Error::Disabled(_)) => Outcome::Disabled,
            Err(Error::KmsInvalidState(_)) => Outcome::InvalidState,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn the_aws_table() {
        use KeyState::*;
        use Outcome as O;
        use StateRule::*;
        let table = [
            (Cryptographic, Enabled, O::Ok),
            (Cryptographic, Disabled, O::Disabled),
            (Cryptographic, PendingDeletion, O::InvalidState),
            (Cryptographic, PendingImport, O::InvalidState),
            (Read, Enabled, O::Ok),
            (Read, Disabled, O::Ok),
            (Read, PendingDeletion, O::Ok),
            (Manage, Enabled, O::Ok),
            (Manage, Disabled, O::Ok),
            (Manage, PendingDeletion, O::InvalidState),
            (CancelDeletion, PendingDeletion, O::Ok),
            (CancelDeletion, Enabled, O::InvalidState),
            (CancelDeletion, Disabled, O::InvalidState),
        ];
        let arn = arn();
        for (rule, state, expected) in table {
            assert_eq!(
                outcome(check(rule, state, &arn)),
                expected,
                "{rule:?} {state}"
            );
        }
    }
}
