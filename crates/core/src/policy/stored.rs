//! A key policy as it is stored and served: its text and its parsed statements, together.

use std::fmt;

use super::document::{Policy, PolicyError, PolicyKind};
use super::json::Json;
use super::principal::PrincipalIds;

/// A key policy: the text `GetKeyPolicy` returns, and the statements it was parsed into when it
/// was stored. The two travel together, so that a key in memory is never evaluated by parsing
/// JSON.
#[derive(Clone)]
pub struct KeyPolicy {
    text: String,
    /// `None` when a stored text no longer parses (a policy accepted by an older version):
    /// such a policy allows nothing, and says so in the log when it is read.
    parsed: Option<Policy>,
}

impl KeyPolicy {
    /// The same policy, bound to the users and roles it named when it was stored.
    pub fn with_principal_ids(mut self, ids: PrincipalIds) -> Self {
        if let Some(parsed) = &mut self.parsed {
            parsed.principal_ids = ids;
        }
        self
    }

    /// The unique ids of the users and roles it names (empty for a policy stored before they
    /// were kept, which then names users and roles by ARN alone).
    pub fn principal_ids(&self) -> &PrincipalIds {
        static NONE: PrincipalIds = PrincipalIds::new();
        self.parsed.as_ref().map_or(&NONE, |p| &p.principal_ids)
    }

    /// [`principal_ids`](Self::principal_ids) as stored: a JSON object.
    pub fn principal_ids_json(&self) -> String {
        serde_json::to_string(self.principal_ids()).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Reads back [`principal_ids_json`](Self::principal_ids_json).
    pub fn principal_ids_from_json(text: &str) -> PrincipalIds {
        serde_json::from_str(text).unwrap_or_default()
    }
}

impl KeyPolicy {
    /// Checks a policy a caller sent, and puts it in the layout KMS returns.
    pub fn submitted(text: &str) -> Result<Self, PolicyError> {
        let parsed = Policy::parse(text, PolicyKind::Key)?;
        let text = Json::parse(text)
            .map(|json| json.pretty())
            .unwrap_or_else(|| text.to_owned());
        Ok(Self {
            text,
            parsed: Some(parsed),
        })
    }

    /// A policy read back from the store.
    pub fn stored(text: String) -> Self {
        let parsed = match Policy::parse(&text, PolicyKind::StoredKey) {
            Ok(policy) => Some(policy),
            Err(error) => {
                tracing::warn!(%error, "a stored key policy does not parse; it allows nothing");
                None
            }
        };
        Self { text, parsed }
    }

    /// AWS's default key policy for a key of `account`: the account may do everything, which
    /// hands every decision to its identity policies. Byte for byte as AWS returns it.
    pub fn default_for(account: &crate::model::AccountId) -> Self {
        let text = format!(
            "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"arn:aws:iam::{account}:root\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}"
        );
        Self::stored(text)
    }

    /// The text, as `GetKeyPolicy` returns it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The statements; `None` when the stored text does not parse (nothing is allowed).
    pub fn policy(&self) -> Option<&Policy> {
        self.parsed.as_ref()
    }
}

impl PartialEq for KeyPolicy {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text && self.principal_ids() == other.principal_ids()
    }
}

impl Eq for KeyPolicy {}

impl fmt::Debug for KeyPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPolicy")
            .field("bytes", &self.text.len())
            .field("parsed", &self.parsed.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AccountId;
    use crate::policy::{Caller, Decision, IdentityPolicies, Request, RequestContext, decide};

    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn decision(policy: &KeyPolicy, action: &str) -> Decision {
        let caller = Caller::from_arn("arn:aws:iam::111122223333:user/alice")
            .unwrap_or_else(|| unreachable!());
        let context = RequestContext::new(&caller, time::OffsetDateTime::UNIX_EPOCH);
        let account = AccountId::parse("111122223333").unwrap_or_else(|_| unreachable!());
        let Some(parsed) = policy.policy() else {
            return Decision::Deny(crate::policy::Denial::NoResourcePolicyAllows);
        };
        let request = Request {
            action,
            resource: KEY,
            key: Some((account, parsed)),
        };
        decide(&request, &IdentityPolicies::default(), &context)
    }

    #[test]
    fn policies_stored_before_the_2025_rules_keep_their_meaning() {
        // A resource naming the key's ARN, and a statement without Resource: refused when sent
        // now, and read back from the store as AWS kept evaluating them.
        let legacy = format!(
            r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:user/alice"}},"Action":"kms:Encrypt","Resource":"{KEY}"}},{{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt"}}]}}"#
        );
        assert!(KeyPolicy::submitted(&legacy).is_err());
        let stored = KeyPolicy::stored(legacy);
        assert!(stored.policy().is_some());
        assert_eq!(decision(&stored, "kms:Encrypt"), Decision::Allow);
        assert_ne!(
            decision(&stored, "kms:Decrypt"),
            Decision::Allow,
            "ineffective statement"
        );
    }

    #[test]
    fn the_default_policy_is_awss_and_parses() {
        let account = AccountId::parse("111122223333").unwrap_or_else(|_| unreachable!());
        let policy = KeyPolicy::default_for(&account);
        assert!(policy.policy().is_some());
        assert_eq!(
            KeyPolicy::submitted(policy.text()).ok().as_ref(),
            Some(&policy)
        );
        assert_eq!(policy.text().len(), 269);
    }
}
