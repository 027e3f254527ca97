//! AWS's rules for values that the domain owns: tags, descriptions, deletion windows.
//! The wire layer checks lengths and types; these are the rules with KMS-specific errors.

use std::collections::BTreeSet;

use crate::error::Error;
use crate::messages::{self, Shown, Violation};
use crate::model::Tags;

/// AWS allows at most 50 tags on a key.
pub const MAX_TAGS_PER_KEY: usize = 50;
/// Longest tag key.
pub const MAX_TAG_KEY_LEN: usize = 128;
/// Longest tag value.
pub const MAX_TAG_VALUE_LEN: usize = 256;
/// Longest key description.
pub const MAX_DESCRIPTION_LEN: usize = 8192;
/// Shortest and longest deletion waiting period, in days.
pub const DELETION_WINDOW_DAYS: std::ops::RangeInclusive<u32> = 7..=30;
/// The waiting period when none is given.
pub const DEFAULT_DELETION_WINDOW_DAYS: u32 = 30;

/// Checks the tags of CreateKey and TagResource as AWS does: first the model's constraints on
/// every tag (both members present, a key of 1 to 128 characters, a value of at most 256), all
/// reported in one `ValidationException` naming `tags.N.member.tagKey`; then the service's
/// rules, each a `TagException`: no key twice, at most 50 tags, no `aws:` prefix, AWS's
/// character set.
pub fn tags(pairs: Vec<(Option<String>, Option<String>)>) -> Result<Tags, Error> {
    let mut violations = Vec::new();
    for (index, (key, value)) in pairs.iter().enumerate() {
        let member = |name: &str| format!("tags.{}.member.{name}", index + 1);
        match key {
            None => violations.push(Violation::null(&member("tagKey"))),
            Some(key) => violations.extend(Violation::length(
                Shown::Value(key),
                &member("tagKey"),
                key.chars().count(),
                1,
                MAX_TAG_KEY_LEN,
            )),
        }
        match value {
            None => violations.push(Violation::null(&member("tagValue"))),
            Some(value) => violations.extend(Violation::length(
                Shown::Value(value),
                &member("tagValue"),
                value.chars().count(),
                0,
                MAX_TAG_VALUE_LEN,
            )),
        }
    }
    if !violations.is_empty() {
        return Err(Error::Validation(messages::validation(&violations)));
    }
    let mut tags = Tags::new();
    for (key, value) in pairs {
        let (key, value) = (key.unwrap_or_default(), value.unwrap_or_default());
        if tags.insert(key, value).is_some() {
            return Err(Error::Tag(messages::DUPLICATE_TAG_KEYS.to_owned()));
        }
    }
    if tags.len() > MAX_TAGS_PER_KEY {
        return Err(Error::Tag(messages::TOO_MANY_TAGS.to_owned()));
    }
    for (key, value) in &tags {
        tag_key_rules(key)?;
        if !tag_chars_allowed(value) {
            return Err(Error::Tag(messages::tag_characters("value", value)));
        }
    }
    Ok(tags)
}

/// The service's rules for a tag key whose length the model accepted.
fn tag_key_rules(key: &str) -> Result<(), Error> {
    if key
        .get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("aws:"))
    {
        return Err(Error::Tag(messages::TAGS_RESERVED.to_owned()));
    }
    if !tag_chars_allowed(key) {
        return Err(Error::Tag(messages::tag_characters("key", key)));
    }
    Ok(())
}

/// Whether `key` is a tag key a key could carry (ListResourceTags markers are tag keys).
pub fn is_tag_key(key: &str) -> bool {
    (1..=MAX_TAG_KEY_LEN).contains(&key.chars().count()) && tag_key_rules(key).is_ok()
}

/// AWS's tag character set: letters, digits, white space and `_ . : / = + - @`.
fn tag_chars_allowed(text: &str) -> bool {
    text.chars().all(|c| {
        c.is_alphanumeric()
            || c == ' '
            || c.is_whitespace() && !c.is_control()
            || "_.:/=+-@".contains(c)
    })
}

/// Applies `added` to `existing` (overwriting values of existing keys) and enforces the
/// per-key limit on the result, as TagResource does.
pub fn merged_tags(existing: &Tags, added: Tags) -> Result<Tags, Error> {
    let mut merged = existing.clone();
    merged.extend(added);
    if merged.len() > MAX_TAGS_PER_KEY {
        return Err(Error::Tag(messages::TOO_MANY_TAGS.to_owned()));
    }
    Ok(merged)
}

/// Checks the tag keys of UntagResource: the model's lengths (`tagKeys.N.member`), then the
/// service's rules. Duplicates are harmless there.
pub fn tag_keys(keys: &[String]) -> Result<BTreeSet<String>, Error> {
    let violations: Vec<Violation> = keys
        .iter()
        .enumerate()
        .filter_map(|(index, key)| {
            Violation::length(
                Shown::Value(key),
                &format!("tagKeys.{}.member", index + 1),
                key.chars().count(),
                1,
                MAX_TAG_KEY_LEN,
            )
        })
        .collect();
    if !violations.is_empty() {
        return Err(Error::Validation(messages::validation(&violations)));
    }
    keys.iter()
        .map(|key| tag_key_rules(key).map(|()| key.clone()))
        .collect()
}

/// The model's bounds of `PendingWindowInDays` (`PendingWindowInDaysType`); the service then
/// allows only [`DELETION_WINDOW_DAYS`].
const PENDING_WINDOW_MODEL: std::ops::RangeInclusive<i64> = 1..=365;

/// Checks a deletion window and applies the default.
pub fn deletion_window(days: Option<i64>) -> Result<u32, Error> {
    let Some(days) = days else {
        return Ok(DEFAULT_DELETION_WINDOW_DAYS);
    };
    if let Some(violation) = Violation::range(
        days,
        "pendingWindowInDays",
        *PENDING_WINDOW_MODEL.start(),
        *PENDING_WINDOW_MODEL.end(),
    ) {
        return Err(Error::Validation(messages::validation(&[violation])));
    }
    match u32::try_from(days) {
        Ok(days) if DELETION_WINDOW_DAYS.contains(&days) => Ok(days),
        _ => Err(Error::Validation(messages::pending_window(
            days,
            *DELETION_WINDOW_DAYS.start(),
            *DELETION_WINDOW_DAYS.end(),
        ))),
    }
}

/// Checks a key description's length (`DescriptionType`: at most 8192 characters).
pub fn description(text: &str) -> Result<(), Error> {
    match Violation::length(
        Shown::Value(text),
        "description",
        text.chars().count(),
        0,
        MAX_DESCRIPTION_LEN,
    ) {
        Some(violation) => Err(Error::Validation(messages::validation(&[violation]))),
        None => Ok(()),
    }
}

/// The most bytes an encryption context's keys and values may hold together (UTF-8).
///
/// AWS documents no bound for `EncryptionContext` (its model's map has no length trait, and the
/// developer guide's encryption context rules name none); the only documented bound near it is
/// CreateGrant's: at most 8 pairs of at most 384 characters in a grant constraint. Without a
/// bound, a 1 MiB request could carry thousands of pairs that every policy evaluation, audit
/// record and CloudTrail reader then carries too. 8 KiB is far above any context the AWS
/// services and SDKs send (a handful of short pairs) and keeps a record readable.
pub const MAX_ENCRYPTION_CONTEXT_BYTES: usize = 8192;

/// Checks an encryption context: keys are not empty (an empty key cannot be named in a policy
/// condition), and keys and values hold at most [`MAX_ENCRYPTION_CONTEXT_BYTES`] together.
pub fn encryption_context(pairs: &std::collections::BTreeMap<String, String>) -> Result<(), Error> {
    if pairs.keys().any(String::is_empty) {
        return Err(Error::Validation(messages::CONTEXT_EMPTY_KEY.to_owned()));
    }
    let size: usize = pairs
        .iter()
        .map(|(key, value)| key.len() + value.len())
        .sum();
    if size > MAX_ENCRYPTION_CONTEXT_BYTES {
        return Err(Error::Validation(messages::context_too_large(
            size,
            MAX_ENCRYPTION_CONTEXT_BYTES,
        )));
    }
    Ok(())
}

/// Longest IAM user name.
pub const MAX_USER_NAME_LEN: usize = 64;

/// Checks an IAM user name: 1 to 64 of `[A-Za-z0-9_+=,.@-]`, IAM's pattern `[\w+=,.@-]+`. The
/// name goes into ARNs, audit records and credentials-file profile names.
pub fn user_name(name: &str) -> Result<(), Error> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if name.is_empty() || name.len() > MAX_USER_NAME_LEN || !name.chars().all(allowed) {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{name}' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and {MAX_USER_NAME_LEN}"
        )));
    }
    Ok(())
}

/// Checks an IAM name (`userName`, `roleName`, `policyName`): 1 to `max` characters of IAM's
/// `[\w+=,.@-]+`, with AWS's messages.
pub fn iam_name(member: &str, name: &str, max: usize) -> Result<(), Error> {
    if let Some(violation) = Violation::length(Shown::Value(name), member, name.len(), 1, max) {
        return Err(Error::Validation(messages::validation(&[violation])));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if !name.chars().all(allowed) {
        return Err(Error::Validation(messages::iam_name_invalid(member)));
    }
    Ok(())
}

/// Checks an IAM path: `/`, or `/` + printable ASCII + `/`, at most 512 characters.
pub fn iam_path(path: &str) -> Result<(), Error> {
    let valid = path.len() <= 512
        && (path == "/"
            || (path.len() >= 2
                && path.starts_with('/')
                && path.ends_with('/')
                && path.bytes().all(|b| (0x21..=0x7e).contains(&b))
                && !path.contains("//")));
    if valid {
        Ok(())
    } else {
        Err(Error::Validation(messages::IAM_PATH_INVALID.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(k: &str, v: &str) -> (Option<String>, Option<String>) {
        (Some(k.to_owned()), Some(v.to_owned()))
    }

    fn message(result: Result<Tags, Error>) -> (&'static str, String) {
        match result {
            Err(Error::Tag(message)) => ("TagException", message),
            Err(Error::Validation(message)) => ("ValidationException", message),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn user_names_follow_iam() {
        for good in [
            "admin",
            "alice.smith@example.com",
            "a+b=c,d_e-f",
            &"x".repeat(64),
        ] {
            assert!(user_name(good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "a]b", "ünï", "a/b", &"x".repeat(65)] {
            assert!(matches!(user_name(bad), Err(Error::Validation(_))), "{bad}");
        }
    }

    #[test]
    fn encryption_contexts_are_bounded() {
        let context = |pairs: &[(&str, String)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        assert!(encryption_context(&context(&[])).is_ok());
        let at_limit = context(&[("k", "v".repeat(MAX_ENCRYPTION_CONTEXT_BYTES - 1))]);
        assert!(encryption_context(&at_limit).is_ok());
        let over = context(&[("k", "v".repeat(MAX_ENCRYPTION_CONTEXT_BYTES))]);
        assert!(matches!(
            encryption_context(&over),
            Err(Error::Validation(message)) if message.contains("8193 bytes")
        ));
        assert!(matches!(
            encryption_context(&context(&[("", "v".to_owned())])),
            Err(Error::Validation(_))
        ));
    }

    #[test]
    fn tag_rules() {
        assert!(
            tags(vec![
                pair("Project", "alpha beta"),
                pair("a.b:c/d=e+f-g@h", "")
            ])
            .is_ok()
        );
        for bad in [vec![pair("bad*char", "x")], vec![pair("k", "bad*value")]] {
            assert!(matches!(tags(bad.clone()), Err(Error::Tag(_))), "{bad:?}");
        }
    }

    #[test]
    fn model_constraints_are_validation_errors_naming_the_member() {
        let long_key = "k".repeat(129);
        assert_eq!(
            message(tags(vec![pair("ok", "x"), pair(&long_key, "x")])),
            (
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{long_key}' at 'tags.2.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128"
                )
            )
        );
        let long_value = "v".repeat(257);
        assert_eq!(
            message(tags(vec![pair("k", &long_value)])).1,
            format!(
                "1 validation error detected: Value '{long_value}' at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256"
            )
        );
        assert_eq!(
            message(tags(vec![pair("", "x"), (Some("k".to_owned()), None)])).1,
            "2 validation errors detected: Value '' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length greater than or equal to 1; Value null at 'tags.2.member.tagValue' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn service_rules_are_tag_exceptions_with_aws_messages() {
        for (bad, expected) in [
            (
                vec![pair("aws:reserved", "x")],
                "Tags beginning with aws: are reserved",
            ),
            (
                vec![pair("AWS:reserved", "x")],
                "Tags beginning with aws: are reserved",
            ),
            (
                vec![pair("dup", "1"), pair("dup", "2")],
                "Duplicate tag keys",
            ),
        ] {
            assert_eq!(message(tags(bad)), ("TagException", expected.to_owned()));
        }
        assert!(matches!(
            tag_keys(&["aws:x".to_owned()]),
            Err(Error::Tag(message)) if message == "Tags beginning with aws: are reserved"
        ));
        assert!(matches!(
            tag_keys(&["ok".to_owned(), "k".repeat(129)]),
            Err(Error::Validation(message)) if message.contains("'tagKeys.2.member'")
        ));
    }

    #[test]
    fn at_most_fifty_tags_in_one_request() {
        let fifty: Vec<_> = (0..50).map(|i| pair(&format!("k{i}"), "")).collect();
        assert!(tags(fifty.clone()).is_ok());
        let mut fifty_one = fifty;
        fifty_one.push(pair("one-more", ""));
        assert_eq!(
            message(tags(fifty_one)),
            ("TagException", "Too many tags".to_owned())
        );
    }

    #[test]
    fn tag_limit_counts_the_merged_set() {
        let existing: Tags = (0..49).map(|i| (format!("k{i}"), String::new())).collect();
        let overwrite: Tags = [("k0".to_owned(), "new".to_owned())].into();
        assert_eq!(merged_tags(&existing, overwrite).unwrap().len(), 49);
        let two_new: Tags = [
            ("x".to_owned(), String::new()),
            ("y".to_owned(), String::new()),
        ]
        .into();
        assert!(matches!(
            merged_tags(&existing, two_new),
            Err(Error::Tag(_))
        ));
    }

    #[test]
    fn deletion_windows() {
        assert_eq!(deletion_window(None).unwrap(), 30);
        assert_eq!(deletion_window(Some(7)).unwrap(), 7);
        assert_eq!(deletion_window(Some(30)).unwrap(), 30);
        for bad in [6, 31, 0, -1, i64::MAX] {
            assert!(matches!(
                deletion_window(Some(bad)),
                Err(Error::Validation(_))
            ));
        }
    }
}
