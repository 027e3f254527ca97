//! Who is calling, as established by SigV4.

use crate::model::ids::{AccessKeyId, AccountId, Region};

/// An authenticated caller and the Region its request was signed for. Every KMS operation
/// takes one, and every store lookup is scoped by its account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The caller's account: the tenant whose keys it sees.
    pub account: AccountId,
    /// The IAM-style user name behind the access key.
    pub user: String,
    /// The access key that signed the request.
    pub access_key_id: AccessKeyId,
    /// The Region from the signature's credential scope.
    pub region: Region,
}

impl Principal {
    /// The caller's ARN, as AWS prints it in access-denied messages.
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::{}:user/{}", self.account, self.user)
    }
}
