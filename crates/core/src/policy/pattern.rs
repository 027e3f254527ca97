//! Wildcard patterns (`*` any run of characters, `?` exactly one) with IAM policy variables
//! (`${aws:username}`), compiled once when a policy is stored.
//!
//! Actions, resources, principals' ARNs and the `StringLike`/`ArnLike` condition operators all
//! match with these rules; only the case sensitivity differs (actions ignore case).

use std::borrow::Cow;

/// One element of a compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Element {
    /// A run of literal text.
    Literal(String),
    /// `*`: any run of characters, empty included.
    AnyRun,
    /// `?`: exactly one character.
    AnyOne,
    /// `${key}` or `${key, 'default'}`: the request's value of a condition key, taken literally.
    Variable {
        /// The condition key, as written (looked up case-insensitively).
        key: String,
        /// The value when the request has none; without one the pattern matches nothing.
        default: Option<String>,
    },
}

/// A compiled wildcard pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    elements: Vec<Element>,
    /// Whether the pattern is a single `*` (matches everything, checked first).
    matches_all: bool,
}

impl Pattern {
    /// Compiles `text`. With `variables`, `${...}` are policy variables (from policy version
    /// 2012-10-17 on); otherwise they are literal text, as AWS reads version 2008-10-17.
    /// `wildcards` false makes `*` and `?` literal (the `Equals` operators).
    pub fn compile(text: &str, variables: bool, wildcards: bool) -> Self {
        let mut elements = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if variables
                && rest.starts_with("${")
                && let Some(end) = rest.find('}')
            {
                let inner = &rest[2..end];
                rest = &rest[end + 1..];
                match inner {
                    "*" | "?" | "$" => literal.push_str(inner),
                    _ => {
                        flush(&mut literal, &mut elements);
                        elements.push(variable(inner));
                    }
                }
                continue;
            }
            rest = &rest[c.len_utf8()..];
            match c {
                '*' if wildcards => {
                    flush(&mut literal, &mut elements);
                    if elements.last() != Some(&Element::AnyRun) {
                        elements.push(Element::AnyRun);
                    }
                }
                '?' if wildcards => {
                    flush(&mut literal, &mut elements);
                    elements.push(Element::AnyOne);
                }
                _ => literal.push(c),
            }
        }
        flush(&mut literal, &mut elements);
        let matches_all = elements == [Element::AnyRun];
        Self {
            elements,
            matches_all,
        }
    }

    /// Whether the pattern is `*` alone.
    pub fn is_star(&self) -> bool {
        self.matches_all
    }

    /// Whether the pattern uses policy variables (whose values come from the request).
    pub fn has_variables(&self) -> bool {
        self.elements
            .iter()
            .any(|e| matches!(e, Element::Variable { .. }))
    }

    /// Whether the pattern has no wildcard and no variable: plain text.
    pub fn literal(&self) -> Option<&str> {
        match self.elements.as_slice() {
            [] => Some(""),
            [Element::Literal(text)] => Some(text),
            _ => None,
        }
    }

    /// Whether every policy variable of the pattern has a value (or a default) in the request.
    pub fn resolves<'v>(&self, lookup: &dyn Fn(&str) -> Option<Cow<'v, str>>) -> bool {
        self.elements.iter().all(|element| match element {
            Element::Variable { key, default } => default.is_some() || lookup(key).is_some(),
            _ => true,
        })
    }

    /// Whether `text` matches. `ignore_case` folds case on both sides; `lookup` gives a policy
    /// variable's value (none: the pattern cannot match, unless the variable has a default).
    pub fn matches<'v>(
        &self,
        text: &str,
        ignore_case: bool,
        lookup: &dyn Fn(&str) -> Option<Cow<'v, str>>,
    ) -> bool {
        if self.matches_all {
            return true;
        }
        if !self.has_variables() {
            return glob(&self.elements, text, ignore_case);
        }
        let mut resolved = Vec::with_capacity(self.elements.len());
        for element in &self.elements {
            match element {
                Element::Variable { key, default } => {
                    let value = match lookup(key) {
                        Some(value) => value.into_owned(),
                        None => match default {
                            Some(default) => default.clone(),
                            None => return false,
                        },
                    };
                    resolved.push(Element::Literal(value));
                }
                other => resolved.push(other.clone()),
            }
        }
        glob(&resolved, text, ignore_case)
    }
}

/// Parses the inside of `${...}`: a key, optionally followed by `, 'default'`.
fn variable(inner: &str) -> Element {
    match inner.split_once(',') {
        Some((key, default)) => {
            let default = default.trim();
            let default = default
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))
                .unwrap_or(default);
            Element::Variable {
                key: key.trim().to_owned(),
                default: Some(default.to_owned()),
            }
        }
        None => Element::Variable {
            key: inner.trim().to_owned(),
            default: None,
        },
    }
}

fn flush(literal: &mut String, elements: &mut Vec<Element>) {
    if !literal.is_empty() {
        elements.push(Element::Literal(std::mem::take(literal)));
    }
}

fn chars_equal(a: char, b: char, ignore_case: bool) -> bool {
    a == b || (ignore_case && a.to_lowercase().eq(b.to_lowercase()))
}

/// Whether `text` starts with `literal` (folding case when asked); the matched length in bytes.
fn prefix_len(text: &str, literal: &str, ignore_case: bool) -> Option<usize> {
    if !ignore_case {
        return text.starts_with(literal).then_some(literal.len());
    }
    let mut taken = 0;
    let mut chars = text.chars();
    for expected in literal.chars() {
        let actual = chars.next()?;
        if !chars_equal(expected, actual, true) {
            return None;
        }
        taken += actual.len_utf8();
    }
    Some(taken)
}

/// Wildcard matching by segments: the pattern is the runs of literal text and `?` between its
/// `*`s. The first run must match at the start, the last at the end, and each one between at
/// its leftmost place after the previous (leftmost placement is always as good as any other,
/// since a run matches a fixed number of characters). A run of plain text is found with
/// `str::find` (linear), so a hostile policy's long patterns cost time proportional to the text,
/// not to pattern length times text length; only runs with `?` or folded case are tried place
/// by place.
fn glob(elements: &[Element], text: &str, ignore_case: bool) -> bool {
    let is_star = |e: &Element| *e == Element::AnyRun;
    let (Some(first_star), Some(last_star)) = (
        elements.iter().position(is_star),
        elements.iter().rposition(is_star),
    ) else {
        // No `*`: one run, which must cover the whole text.
        return run_at(elements, text, 0, ignore_case) == Some(text.len());
    };
    let (first, last) = (&elements[..first_star], &elements[last_star + 1..]);
    let Some(mut position) = run_at(first, text, 0, ignore_case) else {
        return false;
    };
    let middle = elements
        .get(first_star + 1..last_star)
        .unwrap_or_default()
        .split(is_star)
        .filter(|segment| !segment.is_empty());
    for segment in middle {
        match find_run(segment, text, position, ignore_case) {
            Some(end) => position = end,
            None => return false,
        }
    }
    // The last run ends the text: it starts as many characters before the end as it matches.
    let chars = run_chars(last);
    let start = if chars == 0 {
        text.len()
    } else {
        match text.char_indices().rev().nth(chars - 1) {
            Some((start, _)) => start,
            None => return false,
        }
    };
    start >= position && run_at(last, text, start, ignore_case) == Some(text.len())
}

/// How many characters a run matches (its literal characters and its `?`s).
fn run_chars(run: &[Element]) -> usize {
    run.iter()
        .map(|element| match element {
            Element::Literal(literal) => literal.chars().count(),
            _ => 1,
        })
        .sum()
}

/// Where a run matching at byte offset `at` ends, if it matches there.
fn run_at(run: &[Element], text: &str, at: usize, ignore_case: bool) -> Option<usize> {
    let mut position = at;
    for element in run {
        let rest = text.get(position..)?;
        position += match element {
            Element::Literal(literal) => prefix_len(rest, literal, ignore_case)?,
            Element::AnyOne => rest.chars().next()?.len_utf8(),
            Element::AnyRun | Element::Variable { .. } => return None,
        };
    }
    Some(position)
}

/// Where the leftmost match of a run at or after byte offset `from` ends.
fn find_run(run: &[Element], text: &str, from: usize, ignore_case: bool) -> Option<usize> {
    if let ([Element::Literal(literal)], false) = (run, ignore_case) {
        return text
            .get(from..)?
            .find(literal.as_str())
            .map(|found| from + found + literal.len());
    }
    let rest = text.get(from..)?;
    rest.char_indices()
        .map(|(offset, _)| from + offset)
        .chain(std::iter::once(text.len()))
        .find_map(|start| run_at(run, text, start, ignore_case))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<Cow<'static, str>> {
        None
    }

    fn like(pattern: &str, text: &str) -> bool {
        Pattern::compile(pattern, true, true).matches(text, false, &none)
    }

    #[test]
    fn wildcards() {
        assert!(like("*", ""));
        assert!(like("*", "anything"));
        assert!(like("kms:*", "kms:Encrypt"));
        assert!(like("kms:Describe*", "kms:DescribeKey"));
        assert!(!like("kms:Describe*", "kms:Decrypt"));
        assert!(like("kms:?ncrypt", "kms:Encrypt"));
        assert!(!like("kms:?ncrypt", "kms:ncrypt"));
        assert!(like("a*b*c", "aXXbYYc"));
        assert!(like("a*b*c", "abc"));
        assert!(!like("a*b*c", "aXXbYY"));
        assert!(like("*a*a*a*b", "aaaaaaaaaaaaaaaaaab"));
        assert!(!like("*a*a*a*b", "aaaaaaaaaaaaaaaaaaa"));
        assert!(like("é?", "éü"));
        assert!(!like("", "x"));
        assert!(like("", ""));
    }

    #[test]
    fn long_patterns_cost_time_linear_in_the_text() {
        // Quadratic for a backtracking matcher: many `*a` runs against a long text of `a`s that
        // never ends as the pattern requires.
        let pattern = format!("{}b", "*a".repeat(2000));
        let text = "a".repeat(8192);
        assert!(!like(&pattern, &text));
        assert!(like(&pattern, &format!("{text}b")));
        let question = format!("*{}b*", "?".repeat(100));
        assert!(!like(&question, &"a".repeat(4000)));
        assert!(like(&question, &format!("{}b", "a".repeat(200))));
        assert!(like("*ab*ab*", "xxabyyab"));
        assert!(!like("*ab*ab", "xxabyyabz"));
        assert!(like("a*", "a"));
        assert!(!like("ab*ba", "aba"), "the ends may not overlap");
        assert!(like("ab*ba", "abba"));
    }

    #[test]
    fn case_folding_is_asked_for() {
        let p = Pattern::compile("kms:Encrypt", true, true);
        assert!(p.matches("KMS:encrypt", true, &none));
        assert!(!p.matches("KMS:encrypt", false, &none));
    }

    #[test]
    fn equals_patterns_take_wildcards_literally() {
        let p = Pattern::compile("a*", true, false);
        assert!(p.matches("a*", false, &none));
        assert!(!p.matches("ab", false, &none));
        assert_eq!(p.literal(), Some("a*"));
    }

    #[test]
    fn variables() {
        let lookup = |key: &str| -> Option<Cow<'static, str>> {
            key.eq_ignore_ascii_case("aws:username")
                .then_some(Cow::Borrowed("alice"))
        };
        let p = Pattern::compile("arn:aws:iam::1:user/${aws:username}", true, true);
        assert!(p.has_variables());
        assert!(p.matches("arn:aws:iam::1:user/alice", false, &lookup));
        assert!(!p.matches("arn:aws:iam::1:user/bob", false, &lookup));
        let p = Pattern::compile("home/${aws:userid}/*", true, true);
        assert!(!p.matches("home//x", false, &lookup), "unknown variable");
        let p = Pattern::compile("home/${aws:userid, 'anon'}/*", true, true);
        assert!(p.matches("home/anon/x", false, &lookup));
        let p = Pattern::compile("a${*}b${?}${$}", true, true);
        assert!(p.matches("a*b?$", false, &lookup));
        assert!(!p.matches("aXb?$", false, &lookup));
        let p = Pattern::compile("${aws:username}", false, true);
        assert!(
            p.matches("${aws:username}", false, &lookup),
            "2008 policies"
        );
    }
}
