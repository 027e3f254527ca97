//! The `Condition` element: operators, their values parsed when the policy is stored, and their
//! evaluation against a request's context.
//!
//! The rules are IAM's: every operator of a block must hold (AND), every key of an operator
//! (AND), any value of a key (OR; NOR for the negated operators). A key the request does not
//! have makes a condition false, except for the negated operators (true), `...IfExists` (true),
//! `Null`, and `ForAllValues:` (true: every one of no values matches).

use std::borrow::Cow;
use std::net::IpAddr;

use ipnet::IpNet;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::context::{Context, Values};
use super::document::PolicyError;
use super::pattern::Pattern;
use crate::messages;

/// How a condition treats a key with several values in the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetQualifier {
    /// No qualifier: a single-valued comparison (any value matches, for positive operators).
    Single,
    /// `ForAnyValue:`: at least one request value matches.
    AnyValue,
    /// `ForAllValues:`: every request value matches (true for none).
    AllValues,
}

/// The comparison an operator makes, before negation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `StringEquals`, `StringNotEquals`.
    StringEquals,
    /// `StringEqualsIgnoreCase`, `StringNotEqualsIgnoreCase`.
    StringEqualsIgnoreCase,
    /// `StringLike`, `StringNotLike`.
    StringLike,
    /// `NumericEquals`, `NumericNotEquals`.
    NumericEquals,
    /// `NumericLessThan`.
    NumericLessThan,
    /// `NumericLessThanEquals`.
    NumericLessThanEquals,
    /// `NumericGreaterThan`.
    NumericGreaterThan,
    /// `NumericGreaterThanEquals`.
    NumericGreaterThanEquals,
    /// `DateEquals`, `DateNotEquals`.
    DateEquals,
    /// `DateLessThan`.
    DateLessThan,
    /// `DateLessThanEquals`.
    DateLessThanEquals,
    /// `DateGreaterThan`.
    DateGreaterThan,
    /// `DateGreaterThanEquals`.
    DateGreaterThanEquals,
    /// `Bool`.
    Bool,
    /// `BinaryEquals`: base64 text compared as given.
    BinaryEquals,
    /// `IpAddress`, `NotIpAddress`.
    IpAddress,
    /// `ArnEquals`, `ArnNotEquals`.
    ArnEquals,
    /// `ArnLike`, `ArnNotLike`.
    ArnLike,
    /// `Null`: whether the key is absent.
    Null,
}

/// A parsed condition operator such as `ForAnyValue:StringNotLikeIfExists`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operator {
    /// What is compared.
    pub comparison: Comparison,
    /// `Not...`: true when no value matches.
    pub negated: bool,
    /// `...IfExists`: true when the key is absent.
    pub if_exists: bool,
    /// `ForAnyValue:` / `ForAllValues:`.
    pub qualifier: SetQualifier,
}

impl Operator {
    /// Parses an operator name (case-sensitive, as IAM reads them); `None` when unknown.
    pub fn parse(name: &str) -> Option<Self> {
        let (qualifier, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (SetQualifier::AnyValue, rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (SetQualifier::AllValues, rest)
        } else {
            (SetQualifier::Single, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        use Comparison as C;
        let (comparison, negated) = match base {
            "StringEquals" => (C::StringEquals, false),
            "StringNotEquals" => (C::StringEquals, true),
            "StringEqualsIgnoreCase" => (C::StringEqualsIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (C::StringEqualsIgnoreCase, true),
            "StringLike" => (C::StringLike, false),
            "StringNotLike" => (C::StringLike, true),
            "NumericEquals" => (C::NumericEquals, false),
            "NumericNotEquals" => (C::NumericEquals, true),
            "NumericLessThan" => (C::NumericLessThan, false),
            "NumericLessThanEquals" => (C::NumericLessThanEquals, false),
            "NumericGreaterThan" => (C::NumericGreaterThan, false),
            "NumericGreaterThanEquals" => (C::NumericGreaterThanEquals, false),
            "DateEquals" => (C::DateEquals, false),
            "DateNotEquals" => (C::DateEquals, true),
            "DateLessThan" => (C::DateLessThan, false),
            "DateLessThanEquals" => (C::DateLessThanEquals, false),
            "DateGreaterThan" => (C::DateGreaterThan, false),
            "DateGreaterThanEquals" => (C::DateGreaterThanEquals, false),
            "Bool" => (C::Bool, false),
            "BinaryEquals" => (C::BinaryEquals, false),
            "IpAddress" => (C::IpAddress, false),
            "NotIpAddress" => (C::IpAddress, true),
            "ArnEquals" => (C::ArnEquals, false),
            "ArnNotEquals" => (C::ArnEquals, true),
            "ArnLike" => (C::ArnLike, false),
            "ArnNotLike" => (C::ArnLike, true),
            "Null" => (C::Null, false),
            _ => return None,
        };
        if comparison == C::Null && (if_exists || qualifier != SetQualifier::Single) {
            return None;
        }
        Some(Self {
            comparison,
            negated,
            if_exists,
            qualifier,
        })
    }
}

/// A condition value, parsed for its operator when the policy is stored.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    /// Strings and binary values: a pattern (wildcards only for `StringLike`).
    Text(Pattern),
    /// An ARN: its six colon-separated parts, each a pattern matched on its own so that no
    /// wildcard spans a `:`; a value without six parts is one pattern for the whole ARN.
    Arn(Vec<Pattern>),
    /// A number.
    Number(f64),
    /// A point in time.
    Date(OffsetDateTime),
    /// `true` or `false`.
    Bool(bool),
    /// An address range.
    Network(IpNet),
}

/// One key of one operator: `"StringEquals": {"kms:CallerAccount": ["1", "2"]}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    operator: Operator,
    /// The condition key as written; matched case-insensitively.
    key: String,
    values: Vec<Value>,
}

impl Condition {
    /// Parses one key's values for `operator`. `variables` says whether `${...}` is a policy
    /// variable (policy version 2012-10-17).
    pub fn parse(
        operator: Operator,
        key: &str,
        values: &[&str],
        variables: bool,
    ) -> Result<Self, PolicyError> {
        let mut parsed = Vec::with_capacity(values.len());
        for value in values {
            parsed.push(parse_value(operator.comparison, value, variables)?);
        }
        if operator.comparison == Comparison::Null
            && !parsed.iter().all(|v| matches!(v, Value::Bool(_)))
        {
            return Err(PolicyError::malformed(messages::POLICY_INVALID_CONDITION));
        }
        Ok(Self {
            operator,
            key: key.to_owned(),
            values: parsed,
        })
    }

    /// The condition key, as written.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether the condition holds for the request.
    pub fn holds(&self, context: &dyn Context) -> bool {
        let op = self.operator;
        let request = context.values(&self.key);
        if op.comparison == Comparison::Null {
            let absent = request.as_ref().is_none_or(Values::is_empty);
            return self
                .values
                .iter()
                .any(|v| matches!(v, Value::Bool(expected) if *expected == absent));
        }
        let request = match request {
            Some(values) if !values.is_empty() => values,
            _ => {
                return match op.qualifier {
                    SetQualifier::AllValues => true,
                    SetQualifier::AnyValue => op.if_exists,
                    SetQualifier::Single => op.if_exists || op.negated,
                };
            }
        };
        let lookup = |key: &str| context.values(key).and_then(Values::first);
        // A policy variable without a value: the condition cannot be decided, so it does not
        // hold (negated operators included: a missing value never widens them).
        let unresolved = self.values.iter().any(|value| match value {
            Value::Text(pattern) => !pattern.resolves(&lookup),
            Value::Arn(parts) => !parts.iter().all(|p| p.resolves(&lookup)),
            _ => false,
        });
        if unresolved {
            return false;
        }
        // Whether one request value satisfies the operator: matches some policy value, or,
        // negated, matches none of them.
        let satisfies = |value: &str| {
            let any = self
                .values
                .iter()
                .any(|expected| compare(op.comparison, expected, value, &lookup));
            any != op.negated
        };
        match op.qualifier {
            SetQualifier::AllValues => request.iter().all(satisfies),
            SetQualifier::AnyValue => request.iter().any(satisfies),
            SetQualifier::Single if op.negated => request.iter().all(satisfies),
            SetQualifier::Single => request.iter().any(satisfies),
        }
    }
}

fn parse_value(comparison: Comparison, value: &str, variables: bool) -> Result<Value, PolicyError> {
    use Comparison as C;
    let invalid = || PolicyError::malformed(messages::POLICY_INVALID_CONDITION);
    Ok(match comparison {
        C::StringEquals | C::StringEqualsIgnoreCase | C::BinaryEquals => {
            Value::Text(Pattern::compile(value, variables, false))
        }
        C::StringLike => Value::Text(Pattern::compile(value, variables, true)),
        C::ArnEquals | C::ArnLike => {
            let parts: Vec<&str> = value.splitn(6, ':').collect();
            let parts = if parts.len() == 6 { parts } else { vec![value] };
            Value::Arn(
                parts
                    .into_iter()
                    .map(|part| Pattern::compile(part, variables, true))
                    .collect(),
            )
        }
        C::NumericEquals
        | C::NumericLessThan
        | C::NumericLessThanEquals
        | C::NumericGreaterThan
        | C::NumericGreaterThanEquals => Value::Number(parse_number(value).ok_or_else(invalid)?),
        C::DateEquals
        | C::DateLessThan
        | C::DateLessThanEquals
        | C::DateGreaterThan
        | C::DateGreaterThanEquals => Value::Date(parse_date(value).ok_or_else(invalid)?),
        C::Bool | C::Null => Value::Bool(parse_bool(value).ok_or_else(invalid)?),
        C::IpAddress => Value::Network(parse_network(value).ok_or_else(invalid)?),
    })
}

fn parse_number(value: &str) -> Option<f64> {
    value.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A date as IAM accepts it: ISO 8601 (RFC 3339, or a bare date) or epoch seconds.
fn parse_date(value: &str) -> Option<OffsetDateTime> {
    let value = value.trim();
    if let Ok(date) = OffsetDateTime::parse(value, &Rfc3339) {
        return Some(date);
    }
    if let Ok(seconds) = value.parse::<i64>() {
        return OffsetDateTime::from_unix_timestamp(seconds).ok();
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(value, &format)
        .ok()
        .map(|d| d.midnight().assume_utc())
}

fn parse_bool(value: &str) -> Option<bool> {
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A CIDR block, or a single address (a /32 or /128).
fn parse_network(value: &str) -> Option<IpNet> {
    let value = value.trim();
    value
        .parse::<IpNet>()
        .ok()
        .or_else(|| value.parse::<IpAddr>().ok().map(IpNet::from))
}

/// Whether a request `value` matches one policy value, before negation.
fn compare<'v>(
    comparison: Comparison,
    expected: &Value,
    value: &str,
    lookup: &dyn Fn(&str) -> Option<Cow<'v, str>>,
) -> bool {
    use Comparison as C;
    match (comparison, expected) {
        (C::StringEquals | C::StringLike | C::BinaryEquals, Value::Text(p)) => {
            p.matches(value, false, lookup)
        }
        (C::StringEqualsIgnoreCase, Value::Text(p)) => p.matches(value, true, lookup),
        (C::ArnEquals | C::ArnLike, Value::Arn(parts)) => arn_matches(parts, value, lookup),
        (_, Value::Number(n)) => parse_number(value).is_some_and(|v| match comparison {
            C::NumericEquals => v == *n,
            C::NumericLessThan => v < *n,
            C::NumericLessThanEquals => v <= *n,
            C::NumericGreaterThan => v > *n,
            _ => v >= *n,
        }),
        (_, Value::Date(d)) => parse_date(value).is_some_and(|v| match comparison {
            C::DateEquals => v == *d,
            C::DateLessThan => v < *d,
            C::DateLessThanEquals => v <= *d,
            C::DateGreaterThan => v > *d,
            _ => v >= *d,
        }),
        (C::Bool, Value::Bool(b)) => parse_bool(value) == Some(*b),
        (C::IpAddress, Value::Network(net)) => value
            .trim()
            .parse::<IpAddr>()
            .is_ok_and(|ip| net.contains(&ip)),
        _ => false,
    }
}

/// ARN operators compare the six colon-separated parts one by one, so that a wildcard never
/// spans a `:` boundary. (`ArnEquals` takes wildcards too, as IAM documents.)
fn arn_matches<'v>(
    parts: &[Pattern],
    value: &str,
    lookup: &dyn Fn(&str) -> Option<Cow<'v, str>>,
) -> bool {
    if let [whole] = parts {
        return whole.matches(value, false, lookup);
    }
    let values: Vec<&str> = value.splitn(6, ':').collect();
    values.len() == parts.len()
        && parts
            .iter()
            .zip(values)
            .all(|(part, value)| part.matches(value, false, lookup))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names() {
        let op = Operator::parse("ForAnyValue:StringNotLikeIfExists").unwrap();
        assert_eq!(op.comparison, Comparison::StringLike);
        assert!(op.negated && op.if_exists);
        assert_eq!(op.qualifier, SetQualifier::AnyValue);
        assert!(Operator::parse("stringequals").is_none());
        assert!(Operator::parse("StringMatches").is_none());
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("ForAllValues:Null").is_none());
        assert!(Operator::parse("NotIpAddressIfExists").unwrap().negated);
    }

    #[test]
    fn values_are_checked_for_their_operator() {
        let numeric = Operator::parse("NumericLessThan").unwrap();
        assert!(Condition::parse(numeric, "kms:RotationPeriodInDays", &["90"], true).is_ok());
        assert!(Condition::parse(numeric, "kms:RotationPeriodInDays", &["ninety"], true).is_err());
        let date = Operator::parse("DateLessThan").unwrap();
        assert!(Condition::parse(date, "aws:CurrentTime", &["2026-01-01T00:00:00Z"], true).is_ok());
        assert!(Condition::parse(date, "aws:CurrentTime", &["2026-01-01"], true).is_ok());
        assert!(Condition::parse(date, "aws:CurrentTime", &["1767225600"], true).is_ok());
        assert!(Condition::parse(date, "aws:CurrentTime", &["soon"], true).is_err());
        let ip = Operator::parse("IpAddress").unwrap();
        assert!(Condition::parse(ip, "aws:SourceIp", &["10.0.0.0/8", "::1"], true).is_ok());
        assert!(Condition::parse(ip, "aws:SourceIp", &["10.0.0.0/33"], true).is_err());
        let null = Operator::parse("Null").unwrap();
        assert!(Condition::parse(null, "aws:TagKeys", &["maybe"], true).is_err());
    }
}
