//! Policy documents: JSON text parsed once, when the policy is stored, into typed statements.
//!
//! The grammar is IAM's (`Version`, `Id`, `Statement` as an object or a list, and in each
//! statement `Sid`, `Effect`, `Principal`/`NotPrincipal`, `Action`/`NotAction`,
//! `Resource`/`NotResource`, `Condition`). Element names are case-sensitive, as IAM reads them;
//! an unknown element, a missing one, or a value of the wrong shape makes the document
//! malformed, with the message AWS gives (see `messages`).

use super::condition::{Condition, Operator};
use super::json::Json;
use super::pattern::Pattern;
use super::principal::{PrincipalId, PrincipalIds, Principals};
use crate::messages;

/// Why a policy document was refused: AWS's `MalformedPolicyDocument` message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    /// The message the client reads.
    pub message: String,
    /// Whether the text is not a JSON object at all (IAM and KMS word that differently).
    pub not_json: bool,
}

impl PolicyError {
    /// A malformed-document error with AWS's message.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            not_json: false,
        }
    }

    fn not_json() -> Self {
        Self {
            message: messages::POLICY_NOT_JSON.to_owned(),
            not_json: true,
        }
    }
}

/// Which kind of policy a document is: the grammar differs in `Principal` and `Resource`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// A key policy: every statement names its principals, and its resource is `*` (the key
    /// itself; AWS accepts no other value since August 2025).
    Key,
    /// A key policy stored before those rules: a statement without `Action` or `Resource`
    /// matches nothing (as AWS documented such statements, "ineffective"), and a resource other
    /// than `*` is matched against the key's ARN, so that an upgrade changes no decision.
    StoredKey,
    /// A role's trust policy: every statement names its principals, none names a resource.
    Trust,
    /// An IAM user's or role's policy: no statement names principals.
    Identity,
}

impl PolicyKind {
    fn names_principals(self) -> bool {
        self != PolicyKind::Identity
    }
}

/// `Allow` or `Deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The statement allows.
    Allow,
    /// The statement denies, whatever else allows.
    Deny,
}

/// A list of patterns for `Action` or `Resource`, possibly negated (`NotAction`).
#[derive(Clone, Debug, PartialEq)]
pub struct Patterns {
    patterns: Vec<Pattern>,
    negated: bool,
}

impl Patterns {
    /// Whether this is `"Resource": "*"` (or a list of only `*`).
    fn is_everything(&self) -> bool {
        !self.negated && self.patterns.iter().all(Pattern::is_star)
    }

    /// Whether `value` is covered: matched by a pattern, or, negated, by none. A policy
    /// variable without a value makes the element apply to nothing, negated or not (so that a
    /// missing `${aws:username}` never widens a `NotResource`).
    pub fn matches<'v>(
        &self,
        value: &str,
        ignore_case: bool,
        lookup: &dyn Fn(&str) -> Option<std::borrow::Cow<'v, str>>,
    ) -> bool {
        if !self.patterns.iter().all(|p| p.resolves(lookup)) {
            return false;
        }
        let any = self
            .patterns
            .iter()
            .any(|p| p.matches(value, ignore_case, lookup));
        any != self.negated
    }
}

/// One statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// The statement id, if any.
    pub sid: Option<String>,
    /// Allow or deny.
    pub effect: Effect,
    /// `Principal` or `NotPrincipal` (resource policies only).
    pub principals: Option<Principals>,
    /// `Action` or `NotAction` (matched ignoring case).
    pub actions: Patterns,
    /// `Resource` or `NotResource`.
    pub resources: Patterns,
    /// Every condition must hold.
    pub conditions: Vec<Condition>,
}

/// A parsed policy document.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// The `Id` element.
    pub id: Option<String>,
    /// The statements, in document order.
    pub statements: Vec<Statement>,
    /// The condition keys the statements test, lowercased: a request gathers costly values
    /// (a key's aliases) only for policies that ask for them.
    condition_keys: Vec<String>,
    /// The unique ids of the users and roles it names, as resolved when it was stored.
    pub principal_ids: PrincipalIds,
}

/// The versions of the policy language. Without `Version`, IAM reads 2008-10-17, in which
/// `${...}` is literal text.
const VERSION_2012: &str = "2012-10-17";
const VERSION_2008: &str = "2008-10-17";

impl Policy {
    /// Whether a statement tests the condition key `key`.
    pub fn mentions(&self, key: &str) -> bool {
        self.condition_keys
            .iter()
            .any(|known| known.eq_ignore_ascii_case(key))
    }

    /// The AWS principals the statements name (`Principal` and `NotPrincipal`).
    pub fn principals(&self) -> impl Iterator<Item = &PrincipalId> {
        self.statements
            .iter()
            .filter_map(|s| s.principals.as_ref())
            .flat_map(|p| p.aws.iter())
    }

    /// Parses and checks a policy document.
    pub fn parse(text: &str, kind: PolicyKind) -> Result<Self, PolicyError> {
        let Some(Json::Object(document)) = Json::parse(text) else {
            return Err(PolicyError::not_json());
        };
        let mut variables = false;
        let mut id = None;
        let mut statements = None;
        for (name, value) in &document {
            match name.as_str() {
                "Version" => match value.as_str() {
                    Some(VERSION_2012) => variables = true,
                    Some(VERSION_2008) => variables = false,
                    _ => return Err(PolicyError::malformed(messages::POLICY_BAD_VERSION)),
                },
                "Id" => id = Some(string(value)?.to_owned()),
                "Statement" => statements = Some(value),
                _ => return Err(unsupported_element()),
            }
        }
        let statements = match statements {
            Some(Json::Array(list)) => list.iter().collect::<Vec<_>>(),
            Some(one @ Json::Object(_)) => vec![one],
            Some(_) | None => return Err(PolicyError::malformed(messages::POLICY_NO_STATEMENT)),
        };
        let statements = statements
            .into_iter()
            .map(|s| statement(s, kind, variables))
            .collect::<Result<Vec<_>, _>>()?;
        let mut condition_keys: Vec<String> = statements
            .iter()
            .flat_map(|s| s.conditions.iter())
            .map(|c| c.key().to_ascii_lowercase())
            .collect();
        condition_keys.sort();
        condition_keys.dedup();
        Ok(Self {
            id,
            statements,
            condition_keys,
            principal_ids: PrincipalIds::new(),
        })
    }
}

fn unsupported_element() -> PolicyError {
    PolicyError::malformed(messages::POLICY_SYNTAX)
}

fn string(value: &Json) -> Result<&str, PolicyError> {
    value.as_str().ok_or_else(unsupported_element)
}

/// A string or a non-empty list of strings.
fn strings(value: &Json) -> Result<Vec<&str>, PolicyError> {
    match value {
        Json::String(one) => Ok(vec![one]),
        Json::Array(list) if !list.is_empty() => list.iter().map(string).collect(),
        _ => Err(unsupported_element()),
    }
}

fn statement(value: &Json, kind: PolicyKind, variables: bool) -> Result<Statement, PolicyError> {
    let Json::Object(fields) = value else {
        return Err(unsupported_element());
    };
    let mut sid = None;
    let mut effect = None;
    let mut principals = None;
    let mut actions = None;
    let mut resources = None;
    let mut conditions = Vec::new();
    for (name, value) in fields {
        match name.as_str() {
            "Sid" => sid = Some(string(value)?.to_owned()),
            "Effect" => {
                effect = Some(match value.as_str() {
                    Some("Allow") => Effect::Allow,
                    Some("Deny") => Effect::Deny,
                    _ => return Err(PolicyError::malformed(messages::POLICY_BAD_EFFECT)),
                })
            }
            "Principal" | "NotPrincipal" => {
                if principals.is_some() {
                    return Err(unsupported_element());
                }
                principals = Some(principal(value, name == "NotPrincipal")?);
            }
            "Action" | "NotAction" => {
                if actions.is_some() {
                    return Err(unsupported_element());
                }
                actions = Some(action_patterns(value, name == "NotAction")?);
            }
            "Resource" | "NotResource" => {
                if resources.is_some() {
                    return Err(unsupported_element());
                }
                resources = Some(resource_patterns(value, name == "NotResource", variables)?);
            }
            "Condition" => conditions = condition_block(value, variables)?,
            _ => return Err(unsupported_element()),
        }
    }
    let effect = effect.ok_or_else(|| PolicyError::malformed(messages::POLICY_BAD_EFFECT))?;
    match (kind.names_principals(), &principals) {
        (true, None) => return Err(PolicyError::malformed(messages::POLICY_NO_PRINCIPAL)),
        (false, Some(_)) => return Err(PolicyError::malformed(messages::POLICY_HAS_PRINCIPAL)),
        _ => {}
    }
    let nothing = || Patterns {
        patterns: Vec::new(),
        negated: false,
    };
    let actions = match (kind, actions) {
        (_, Some(actions)) => actions,
        (PolicyKind::StoredKey, None) => nothing(),
        (_, None) => return Err(PolicyError::malformed(messages::POLICY_NO_ACTION)),
    };
    let resources = match (kind, resources) {
        (PolicyKind::StoredKey, None) => nothing(),
        (PolicyKind::Trust, None) => Patterns {
            patterns: vec![Pattern::compile("*", false, true)],
            negated: false,
        },
        (PolicyKind::Trust, Some(_)) => {
            return Err(PolicyError::malformed(messages::POLICY_TRUST_RESOURCE));
        }
        (PolicyKind::Key, Some(resources)) if !resources.is_everything() => {
            return Err(PolicyError::malformed(messages::POLICY_KEY_RESOURCE));
        }
        (_, Some(resources)) => resources,
        (_, None) => return Err(PolicyError::malformed(messages::POLICY_NO_RESOURCE)),
    };
    Ok(Statement {
        sid,
        effect,
        principals,
        actions,
        resources,
        conditions,
    })
}

fn invalid_principal() -> PolicyError {
    PolicyError::malformed(messages::POLICY_INVALID_PRINCIPAL)
}

fn principal(value: &Json, negated: bool) -> Result<Principals, PolicyError> {
    let mut principals = Principals {
        everyone: false,
        aws: Vec::new(),
        negated,
    };
    match value {
        Json::String(s) if s == "*" => principals.everyone = true,
        Json::Object(kinds) if !kinds.is_empty() => {
            for (kind, value) in kinds {
                let values = strings(value).map_err(|_| invalid_principal())?;
                match kind.as_str() {
                    "AWS" => {
                        for value in values {
                            if value == "*" {
                                principals.everyone = true;
                            } else {
                                principals
                                    .aws
                                    .push(PrincipalId::parse(value).ok_or_else(invalid_principal)?);
                            }
                        }
                    }
                    // Other kinds of principals parse, and never name a Strongbox caller.
                    "Service" | "Federated" | "CanonicalUser" => {
                        if values.iter().any(|v| v.is_empty()) {
                            return Err(invalid_principal());
                        }
                    }
                    _ => return Err(invalid_principal()),
                }
            }
        }
        _ => return Err(invalid_principal()),
    }
    if negated && principals.everyone {
        return Err(invalid_principal());
    }
    Ok(principals)
}

/// Action names. AWS KMS accepts any non-empty text here (an unknown action simply matches no
/// request), so only the shape is checked.
fn action_patterns(value: &Json, negated: bool) -> Result<Patterns, PolicyError> {
    let mut patterns = Vec::new();
    for action in strings(value).map_err(|_| PolicyError::malformed(messages::POLICY_NO_ACTION))? {
        if action.is_empty() {
            return Err(PolicyError::malformed(messages::POLICY_NO_ACTION));
        }
        patterns.push(Pattern::compile(action, false, true));
    }
    Ok(Patterns { patterns, negated })
}

/// `*` or an ARN (with wildcards and, from 2012-10-17, policy variables).
fn resource_patterns(
    value: &Json,
    negated: bool,
    variables: bool,
) -> Result<Patterns, PolicyError> {
    let mut patterns = Vec::new();
    for resource in
        strings(value).map_err(|_| PolicyError::malformed(messages::POLICY_NO_RESOURCE))?
    {
        if resource != "*" && !resource.starts_with("arn:") {
            return Err(PolicyError::malformed(messages::policy_invalid_resource(
                resource,
            )));
        }
        patterns.push(Pattern::compile(resource, variables, true));
    }
    Ok(Patterns { patterns, negated })
}

fn condition_block(value: &Json, variables: bool) -> Result<Vec<Condition>, PolicyError> {
    let Json::Object(operators) = value else {
        return Err(PolicyError::malformed(messages::POLICY_INVALID_CONDITION));
    };
    let mut conditions = Vec::new();
    for (operator_name, keys) in operators {
        let operator = Operator::parse(operator_name).ok_or_else(|| {
            PolicyError::malformed(messages::policy_unknown_operator(operator_name))
        })?;
        let Json::Object(keys) = keys else {
            return Err(PolicyError::malformed(messages::POLICY_INVALID_CONDITION));
        };
        for (key, values) in keys {
            conditions.push(condition(operator, key, values, variables)?);
        }
    }
    Ok(conditions)
}

fn condition(
    operator: Operator,
    key: &str,
    values: &Json,
    variables: bool,
) -> Result<Condition, PolicyError> {
    let invalid = || PolicyError::malformed(messages::POLICY_INVALID_CONDITION);
    if key.is_empty() || !key.contains(':') {
        return Err(invalid());
    }
    // Values may be strings, numbers or booleans; IAM compares their text.
    let scalar = |value: &Json| match value {
        Json::String(s) => Ok(s.clone()),
        Json::Number(n) => Ok(n.to_string()),
        Json::Bool(b) => Ok(b.to_string()),
        _ => Err(invalid()),
    };
    let texts = match values {
        Json::Array(list) if !list.is_empty() => {
            list.iter().map(scalar).collect::<Result<Vec<_>, _>>()?
        }
        Json::Array(_) => return Err(invalid()),
        one => vec![scalar(one)?],
    };
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    Condition::parse(operator, key, &texts, variables)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(text: &str) -> Result<Policy, PolicyError> {
        Policy::parse(text, PolicyKind::Key)
    }

    #[test]
    fn the_default_policy_parses() {
        let policy = resource(
            r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#,
        )
        .unwrap();
        assert_eq!(policy.id.as_deref(), Some("key-default-1"));
        assert_eq!(policy.statements.len(), 1);
        assert_eq!(policy.statements[0].effect, Effect::Allow);
    }

    #[test]
    fn malformed_documents_are_refused() {
        for bad in [
            "",
            "null",
            "[]",
            "{",
            r#"{"Statement":"all"}"#,
            r#"{"Version":"2013-01-01","Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Maybe","Principal":"*","Action":"kms:*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"arn:aws:kms:*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"},"Statement":[]}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"kms:*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringEqualz":{"a:b":"c"}}}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Extra":1}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"},"Extra":1}"#,
        ] {
            assert!(resource(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identity_policies_name_no_principal() {
        let with_principal =
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}"#;
        assert!(Policy::parse(with_principal, PolicyKind::Identity).is_err());
        let without = r#"{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}"#;
        assert!(Policy::parse(without, PolicyKind::Identity).is_ok());
    }
}
