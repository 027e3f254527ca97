//! AWS's rules for values that the domain owns: tags, descriptions, deletion windows.
//! The wire layer checks lengths and types; these are the rules with KMS-specific errors.

use std::collections::BTreeSet;

use crate::error::Error;
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

/// Checks a list of tags as TagResource and CreateKey receive it, and returns it as a map.
/// AWS answers `TagException` for reserved, malformed or duplicate keys.
pub fn tags(pairs: Vec<(String, String)>) -> Result<Tags, Error> {
    let mut tags = Tags::new();
    for (key, value) in pairs {
        tag_key(&key)?;
        if value.chars().count() > MAX_TAG_VALUE_LEN || !tag_chars_allowed(&value) {
            return Err(Error::Tag(format!(
                "Tag value for key '{key}' is not valid: it must be at most {MAX_TAG_VALUE_LEN} characters of letters, digits, spaces and _ . : / = + - @"
            )));
        }
        if tags.insert(key.clone(), value).is_some() {
            return Err(Error::Tag(format!(
                "Duplicate tag key '{key}' in the request"
            )));
        }
        if tags.len() > MAX_TAGS_PER_KEY {
            return Err(Error::Tag(format!(
                "A key can have at most {MAX_TAGS_PER_KEY} tags"
            )));
        }
    }
    Ok(tags)
}

/// Checks one tag key: 1 to 128 characters of AWS's allowed set, not starting with `aws:`.
pub fn tag_key(key: &str) -> Result<(), Error> {
    let length = key.chars().count();
    if length == 0 || length > MAX_TAG_KEY_LEN || !tag_chars_allowed(key) {
        return Err(Error::Tag(format!(
            "Tag key '{key}' is not valid: it must be 1 to {MAX_TAG_KEY_LEN} characters of letters, digits, spaces and _ . : / = + - @"
        )));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(Error::Tag(format!(
            "Tag key '{key}' uses the reserved prefix 'aws:'"
        )));
    }
    Ok(())
}

/// AWS's tag pattern `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`.
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
        return Err(Error::Tag(format!(
            "A key can have at most {MAX_TAGS_PER_KEY} tags; this request would leave {}",
            merged.len()
        )));
    }
    Ok(merged)
}

/// Checks tag keys for UntagResource (duplicates are harmless there).
pub fn tag_keys(keys: &[String]) -> Result<BTreeSet<String>, Error> {
    keys.iter()
        .map(|key| tag_key(key).map(|()| key.clone()))
        .collect()
}

/// Checks a deletion window and applies the default.
pub fn deletion_window(days: Option<i64>) -> Result<u32, Error> {
    let Some(days) = days else {
        return Ok(DEFAULT_DELETION_WINDOW_DAYS);
    };
    match u32::try_from(days) {
        Ok(days) if DELETION_WINDOW_DAYS.contains(&days) => Ok(days),
        _ => Err(Error::Validation(format!(
            "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between {} and {}",
            DELETION_WINDOW_DAYS.start(),
            DELETION_WINDOW_DAYS.end()
        ))),
    }
}

/// Checks a key description's length.
pub fn description(text: &str) -> Result<(), Error> {
    if text.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to {MAX_DESCRIPTION_LEN}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
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
        for bad in [
            vec![pair("", "x")],
            vec![pair("aws:reserved", "x")],
            vec![pair("AWS:reserved", "x")],
            vec![pair("bad*char", "x")],
            vec![pair("k", "bad*value")],
            vec![pair(&"k".repeat(129), "x")],
            vec![pair("k", &"v".repeat(257))],
            vec![pair("dup", "1"), pair("dup", "2")],
        ] {
            assert!(matches!(tags(bad.clone()), Err(Error::Tag(_))), "{bad:?}");
        }
    }

    #[test]
    fn at_most_fifty_tags_in_one_request() {
        let fifty: Vec<_> = (0..50).map(|i| pair(&format!("k{i}"), "")).collect();
        assert!(tags(fifty.clone()).is_ok());
        let mut fifty_one = fifty;
        fifty_one.push(pair("one-more", ""));
        assert!(matches!(tags(fifty_one), Err(Error::Tag(_))));
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
