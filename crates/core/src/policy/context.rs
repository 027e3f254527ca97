//! The request context: the values condition keys take for one request.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::principal::{Caller, CallerKind};

/// Where conditions read a request's values from.
pub trait Context {
    /// The values of condition key `key` (matched ignoring case), `None` when the request has
    /// none.
    fn values(&self, key: &str) -> Option<Values<'_>>;
}

/// A condition key's values in a request: most keys have one, which needs no allocation.
#[derive(Clone, Debug)]
pub enum Values<'a> {
    /// A single value.
    One(Cow<'a, str>),
    /// Several (a multivalued key such as `kms:EncryptionContextKeys`), or none.
    Many(Vec<Cow<'a, str>>),
}

impl<'a> Values<'a> {
    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        matches!(self, Values::Many(values) if values.is_empty())
    }

    /// The values.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, many) = match self {
            Values::One(value) => (Some(value.as_ref()), &[][..]),
            Values::Many(values) => (None, values.as_slice()),
        };
        one.into_iter().chain(many.iter().map(AsRef::as_ref))
    }

    /// The first value.
    pub fn first(self) -> Option<Cow<'a, str>> {
        match self {
            Values::One(value) => Some(value),
            Values::Many(values) => values.into_iter().next(),
        }
    }
}

/// The facts of one request that conditions may test. The caller's keys (`aws:PrincipalArn`,
/// `aws:username`, `kms:CallerAccount`, ...) and the environment's (`aws:CurrentTime`,
/// `aws:SourceIp`, `aws:SecureTransport`) are derived; the operation adds its own
/// (`kms:EncryptionAlgorithm`, ...) to `extra`, and the key its own (`kms:KeySpec`,
/// `aws:ResourceTag/...`, `kms:ResourceAliases`).
pub struct RequestContext<'a> {
    /// Who is asking.
    pub caller: &'a Caller,
    /// When.
    pub now: OffsetDateTime,
    /// From where, when known.
    pub source_ip: Option<IpAddr>,
    /// Whether the request came over TLS (`None`: not known, the key is absent).
    pub secure_transport: Option<bool>,
    /// The request's encryption context (`kms:EncryptionContext:<key>`,
    /// `kms:EncryptionContextKeys`).
    pub encryption_context: Option<&'a BTreeMap<String, String>>,
    /// `aws:RequestTag/<key>` and `aws:TagKeys`: the tags a request sets.
    pub request_tags: Option<&'a BTreeMap<String, String>>,
    /// `aws:TagKeys` of a request that names tag keys without values (UntagResource).
    pub tag_keys: Option<&'a BTreeSet<String>>,
    /// `aws:ResourceTag/<key>`: the key's tags.
    pub resource_tags: Option<&'a BTreeMap<String, String>>,
    /// The key's facts: `kms:KeySpec`, `kms:KeyUsage`, `kms:KeyOrigin`, `kms:MultiRegion`.
    pub key: Option<KeyFacts>,
    /// `kms:ResourceAliases`: the aliases of the key, when a policy asks.
    pub resource_aliases: Option<&'a [String]>,
    /// `kms:RequestAlias`: the alias the request named the key by.
    pub request_alias: Option<&'a str>,
    /// Request parameters (`kms:EncryptionAlgorithm`, ...): name and value.
    pub params: &'a [(&'static str, &'a str)],
    /// Any other key: name and values.
    pub extra: Vec<(Cow<'a, str>, Vec<Cow<'a, str>>)>,
    /// `aws:SourceIp` as text, written on first use.
    source_ip_text: std::cell::OnceCell<String>,
}

/// The facts of a key that condition keys expose, in AWS's spellings.
#[derive(Clone, Copy, Debug)]
pub struct KeyFacts {
    /// `kms:KeySpec`.
    pub spec: &'static str,
    /// `kms:KeyUsage`.
    pub usage: &'static str,
    /// `kms:KeyOrigin`.
    pub origin: &'static str,
    /// `kms:MultiRegion`.
    pub multi_region: bool,
}

impl<'a> RequestContext<'a> {
    /// A context with the caller's and the environment's keys only.
    pub fn new(caller: &'a Caller, now: OffsetDateTime) -> Self {
        Self {
            caller,
            now,
            source_ip: None,
            secure_transport: None,
            encryption_context: None,
            request_tags: None,
            tag_keys: None,
            resource_tags: None,
            key: None,
            resource_aliases: None,
            request_alias: None,
            params: &[],
            extra: Vec::new(),
            source_ip_text: std::cell::OnceCell::new(),
        }
    }

    /// Adds a single-valued key.
    pub fn with(mut self, key: &'static str, value: impl Into<Cow<'a, str>>) -> Self {
        self.extra.push((Cow::Borrowed(key), vec![value.into()]));
        self
    }

    /// Adds a key with several values.
    pub fn with_all(mut self, key: &'static str, values: Vec<Cow<'a, str>>) -> Self {
        self.extra.push((Cow::Borrowed(key), values));
        self
    }
}

/// `prefix` followed by the rest, ignoring the prefix's case; the rest as written.
fn strip_prefix_ignore_case<'k>(key: &'k str, prefix: &str) -> Option<&'k str> {
    let head = key.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &key[prefix.len()..])
}

fn one<'v>(value: impl Into<Cow<'v, str>>) -> Option<Values<'v>> {
    Some(Values::One(value.into()))
}

/// The values of `name` among `pairs`, matching names ignoring case (as AWS matches tag and
/// encryption context keys named in condition keys).
fn values_named<'v>(pairs: &'v BTreeMap<String, String>, name: &str) -> Option<Values<'v>> {
    let mut matching = pairs
        .iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| Cow::Borrowed(value.as_str()));
    let first = matching.next()?;
    match matching.next() {
        None => Some(Values::One(first)),
        Some(second) => Some(Values::Many(
            [first, second].into_iter().chain(matching).collect(),
        )),
    }
}

fn keys_of(pairs: &BTreeMap<String, String>) -> Option<Values<'_>> {
    (!pairs.is_empty())
        .then(|| Values::Many(pairs.keys().map(|k| Cow::Borrowed(k.as_str())).collect()))
}

impl Context for RequestContext<'_> {
    fn values(&self, key: &str) -> Option<Values<'_>> {
        self.derived(key).or_else(|| {
            self.extra
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(key))
                .map(|(_, values)| {
                    Values::Many(values.iter().map(|v| Cow::Borrowed(v.as_ref())).collect())
                })
        })
    }
}

impl RequestContext<'_> {
    /// The keys that come from the caller, the environment, the encryption context and tags.
    fn derived(&self, key: &str) -> Option<Values<'_>> {
        let caller = self.caller;
        if let Some(name) = strip_prefix_ignore_case(key, "kms:EncryptionContext:") {
            return values_named(self.encryption_context?, name);
        }
        if let Some(name) = strip_prefix_ignore_case(key, "aws:RequestTag/") {
            return values_named(self.request_tags?, name);
        }
        if let Some(name) = strip_prefix_ignore_case(key, "aws:ResourceTag/") {
            return values_named(self.resource_tags?, name);
        }
        let is = |name: &str| key.eq_ignore_ascii_case(name);
        if is("kms:EncryptionContextKeys") {
            return keys_of(self.encryption_context?);
        }
        if is("aws:TagKeys") {
            if let Some(keys) = self.tag_keys {
                return (!keys.is_empty()).then(|| {
                    Values::Many(keys.iter().map(|k| Cow::Borrowed(k.as_str())).collect())
                });
            }
            return keys_of(self.request_tags?);
        }
        if is("aws:PrincipalArn") {
            return one(caller.principal_arn());
        }
        if is("aws:PrincipalAccount") || is("kms:CallerAccount") {
            return one(caller.account.as_str());
        }
        if is("aws:PrincipalType") {
            return one(caller.principal_type());
        }
        if is("aws:username") {
            return match &caller.kind {
                CallerKind::User { name } => one(name.as_str()),
                _ => None,
            };
        }
        if is("aws:userid") {
            return (!caller.user_id.is_empty())
                .then(|| Values::One(Cow::Borrowed(&*caller.user_id)));
        }
        if is("aws:CurrentTime") {
            return self.now.format(&Rfc3339).ok().and_then(one);
        }
        if is("aws:EpochTime") {
            return one(self.now.unix_timestamp().to_string());
        }
        if is("aws:SourceIp") {
            return self.source_ip.map(|ip| {
                Values::One(Cow::Borrowed(
                    self.source_ip_text.get_or_init(|| ip.to_string()),
                ))
            });
        }
        if let Some(key_facts) = self.key {
            if is("kms:KeySpec") {
                return one(key_facts.spec);
            }
            if is("kms:KeyUsage") {
                return one(key_facts.usage);
            }
            if is("kms:KeyOrigin") {
                return one(key_facts.origin);
            }
            if is("kms:MultiRegion") {
                return one(if key_facts.multi_region {
                    "true"
                } else {
                    "false"
                });
            }
        }
        if is("kms:ResourceAliases") {
            return self.resource_aliases.map(|names| {
                Values::Many(names.iter().map(|n| Cow::Borrowed(n.as_str())).collect())
            });
        }
        if is("kms:RequestAlias") {
            return self.request_alias.and_then(one);
        }
        if let Some((_, value)) = self.params.iter().find(|(name, _)| is(name)) {
            return one(*value);
        }
        if is("aws:SecureTransport") {
            return self
                .secure_transport
                .and_then(|tls| one(if tls { "true" } else { "false" }));
        }
        None
    }
}
