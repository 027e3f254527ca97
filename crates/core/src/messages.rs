//! Every error message a client of the KMS API reads, in one table, so that the wording can be
//! reviewed against AWS's in one place.
//!
//! Where AWS's exact wording is known, it is used letter for letter, with its source:
//! - **[recorded]**: an AWS response recorded by a public test suite that runs against real AWS
//!   (LocalStack's `tests/aws/services/kms/test_kms.snapshot.json`);
//! - **[doc]**: the AWS KMS developer guide or API reference (the key-state table, an operation's
//!   page).
//!
//! Messages marked **[ours]** answer situations for which no AWS wording is public; they follow
//! AWS's style (key ARN first, a full sentence) and are kept short and free of secrets.
//!
//! Some AWS exceptions carry **no message at all** (`{"__type": "..."}`): `InvalidCiphertext`,
//! `KMSInvalidSignature`, `KMSInvalidMac` [recorded]. Their [`Error`](crate::Error) variants
//! carry none, so no message can be added by mistake.
//!
//! Model constraint violations (a length, a range, an enum value set, a pattern, a missing
//! member) are `ValidationException`s in AWS's validation format, built by [`Violation`] and
//! [`validation`]; rules of the service itself (a reserved tag prefix, too many tags, an alias
//! without its prefix) get the operation's modelled exception and the messages below.

use std::fmt;

use crate::model::{KeyState, KeyUsage};

// ---------------------------------------------------------------------------------------------
// Model validation: `1 validation error detected: Value 'x' at 'member' failed to satisfy
// constraint: Member must ...` [recorded], `N validation errors detected: ...; ...` for several.
// ---------------------------------------------------------------------------------------------

/// One violated model constraint, as one clause of a `ValidationException` message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation(String);

/// How the offending value is shown: quoted, or not at all for sensitive members (plaintexts,
/// blobs) and `null` for missing ones, as AWS does [recorded].
#[derive(Clone, Copy, Debug)]
pub enum Shown<'a> {
    /// `Value 'x' at ...`
    Value(&'a str),
    /// `Value at ...` (sensitive or binary members).
    Hidden,
}

impl Violation {
    fn new(shown: Shown<'_>, member: &str, rule: fmt::Arguments<'_>) -> Self {
        let value = match shown {
            Shown::Value(value) => format!("Value '{value}' at"),
            Shown::Hidden => "Value at".to_owned(),
        };
        Self(format!(
            "{value} '{member}' failed to satisfy constraint: Member must {rule}"
        ))
    }

    /// A required member is missing.
    pub fn null(member: &str) -> Self {
        Self(format!(
            "Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    }

    /// A string or blob shorter than `min`.
    pub fn too_short(shown: Shown<'_>, member: &str, min: usize) -> Self {
        Self::new(
            shown,
            member,
            format_args!("have length greater than or equal to {min}"),
        )
    }

    /// A string or blob longer than `max`.
    pub fn too_long(shown: Shown<'_>, member: &str, max: usize) -> Self {
        Self::new(
            shown,
            member,
            format_args!("have length less than or equal to {max}"),
        )
    }

    /// A number below `min`.
    pub fn below(value: i64, member: &str, min: i64) -> Self {
        Self::new(
            Shown::Value(&value.to_string()),
            member,
            format_args!("have value greater than or equal to {min}"),
        )
    }

    /// A number above `max`.
    pub fn above(value: i64, member: &str, max: i64) -> Self {
        Self::new(
            Shown::Value(&value.to_string()),
            member,
            format_args!("have value less than or equal to {max}"),
        )
    }

    /// A value outside an enum's set (`[A, B, C]`).
    pub fn not_in_set(value: &str, member: &str, set: &str) -> Self {
        Self::new(
            Shown::Value(value),
            member,
            format_args!("satisfy enum value set: {set}"),
        )
    }

    /// A list with members outside an enum's set: AWS quotes the whole list.
    pub fn members_not_in_set(list: &str, member: &str, set: &str) -> Self {
        Self::new(
            Shown::Value(list),
            member,
            format_args!("satisfy constraint: [Member must satisfy enum value set: {set}]"),
        )
    }

    /// A string that does not match the member's pattern.
    pub fn pattern(value: &str, member: &str, pattern: &str) -> Self {
        Self::new(
            Shown::Value(value),
            member,
            format_args!("satisfy regular expression pattern: {pattern}"),
        )
    }

    /// A length check: `None` when `len` is within `min..=max`.
    pub fn length(
        shown: Shown<'_>,
        member: &str,
        len: usize,
        min: usize,
        max: usize,
    ) -> Option<Self> {
        if len < min {
            Some(Self::too_short(shown, member, min))
        } else if len > max {
            Some(Self::too_long(shown, member, max))
        } else {
            None
        }
    }

    /// A range check: `None` when `value` is within `min..=max`.
    pub fn range(value: i64, member: &str, min: i64, max: i64) -> Option<Self> {
        if value < min {
            Some(Self::below(value, member, min))
        } else if value > max {
            Some(Self::above(value, member, max))
        } else {
            None
        }
    }
}

/// The message of a `ValidationException` for these violations, in AWS's format.
pub fn validation(violations: &[Violation]) -> String {
    let clauses: Vec<&str> = violations.iter().map(|v| v.0.as_str()).collect();
    let count = clauses.len();
    let noun = if count == 1 { "error" } else { "errors" };
    format!("{count} validation {noun} detected: {}", clauses.join("; "))
}

// ---------------------------------------------------------------------------------------------
// Naming a key.
// ---------------------------------------------------------------------------------------------

/// `NotFoundException` for a `KeyId` of no valid form [recorded].
pub fn invalid_key_id(value: &str) -> String {
    format!("Invalid keyId '{value}'")
}

/// `NotFoundException` for a well-formed key id or ARN naming no key; `arn` is built in the
/// caller's account and Region for a bare id [recorded].
pub fn key_not_found(arn: &str) -> String {
    format!("Key '{arn}' does not exist")
}

/// `NotFoundException` for a key or alias ARN of another Region [recorded].
pub fn invalid_arn_region(region: &str) -> String {
    format!("Invalid arn {region}")
}

/// `NotFoundException` for an alias that does not exist [the wording emulators reproduce for
/// AWS's DeleteAlias answer; not recorded].
pub fn alias_not_found(alias_arn: &str) -> String {
    format!("Alias {alias_arn} is not found.")
}

/// `AccessDeniedException`, by the reason the evaluator gave [recorded: the four forms are
/// AWS's, with `resource: *` for actions on no key].
pub fn access_denied(
    principal_arn: &str,
    action: &str,
    resource: &str,
    denial: crate::policy::Denial,
) -> String {
    use crate::policy::Denial;
    let head = format!(
        "User: {principal_arn} is not authorized to perform: {action} on resource: {resource}"
    );
    match denial {
        Denial::NoResourcePolicyAllows => {
            format!("{head} because no resource-based policy allows the {action} action")
        }
        Denial::NoIdentityPolicyAllows => {
            format!("{head} because no identity-based policy allows the {action} action")
        }
        Denial::ExplicitInResourcePolicy => {
            format!("{head} with an explicit deny in a resource-based policy")
        }
        Denial::ExplicitInIdentityPolicy => {
            format!("{head} with an explicit deny in an identity-based policy")
        }
    }
}

/// `AccessDeniedException` when a ciphertext names a key the caller cannot use [doc].
pub fn not_authorized_for_ciphertext(principal_arn: &str, action: &str) -> String {
    format!(
        "User: {principal_arn} is not authorized to perform: {action} on the resource associated with this ciphertext because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access"
    )
}

/// `IncorrectKeyException`: the ciphertext was made under another key than the one named
/// [recorded].
pub const INCORRECT_KEY: &str =
    "The key ID in the request does not identify a CMK that can perform this operation.";

// ---------------------------------------------------------------------------------------------
// Key states (the key-state table's footnotes [doc]).
// ---------------------------------------------------------------------------------------------

/// `DisabledException` [recorded].
pub fn disabled(arn: &str) -> String {
    format!("{arn} is disabled.")
}

/// `KMSInvalidStateException` for a state that does not allow the operation [doc]: `<arn> is
/// pending deletion.`, `<arn> is pending import.`, ...
pub fn invalid_state(arn: &str, state: KeyState) -> String {
    let phrase = match state {
        KeyState::Creating => "creating",
        KeyState::Enabled => "enabled",
        KeyState::Disabled => "disabled",
        KeyState::PendingDeletion => "pending deletion",
        KeyState::PendingImport => "pending import",
        KeyState::PendingReplicaDeletion => "pending replica deletion",
        KeyState::Unavailable => "unavailable",
        KeyState::Updating => "updating",
    };
    format!("{arn} is {phrase}.")
}

/// `KMSInvalidStateException` from CancelKeyDeletion on a key that is not pending deletion
/// [doc].
pub fn not_pending_deletion(arn: &str) -> String {
    format!("{arn} is not pending deletion.")
}

// ---------------------------------------------------------------------------------------------
// Key specs, usages and algorithms.
// ---------------------------------------------------------------------------------------------

/// `InvalidKeyUsageException`: the key's usage does not allow the operation [recorded].
pub fn key_usage(arn: &str, usage: KeyUsage, operation: &str) -> String {
    format!("{arn} key usage is {usage} which is not valid for {operation}.")
}

/// `InvalidKeyUsageException`: an algorithm the key's spec does not support [recorded].
pub fn algorithm_incompatible(algorithm: &str, spec: &str) -> String {
    format!("Algorithm {algorithm} is incompatible with key spec {spec}.")
}

/// `ValidationException` from CreateKey: a usage the spec does not support [recorded].
pub fn usage_incompatible(usage: &str, spec: &str) -> String {
    format!("KeyUsage {usage} is not compatible with KeySpec {spec}")
}

/// `ValidationException` from CreateKey: a non-symmetric spec without a usage [recorded].
pub const KEY_USAGE_REQUIRED: &str =
    "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.";

/// `ValidationException`: an RSA plaintext longer than the padding allows [recorded].
pub fn rsa_plaintext_too_long(algorithm: &str, spec: &str, max: usize) -> String {
    format!(
        "Algorithm {algorithm} and key spec {spec} cannot encrypt data larger than {max} bytes."
    )
}

/// `ValidationException`: a `DIGEST` message of the wrong length [recorded].
pub fn digest_length(algorithm: &str) -> String {
    format!("Digest is invalid length for algorithm {algorithm}.")
}

/// `ValidationException`: a signing algorithm that cannot take the request's `MessageType`
/// [ours].
pub fn message_type_not_supported(algorithm: &str) -> String {
    format!("Algorithm {algorithm} does not support this MessageType.")
}

/// `ValidationException`: a plaintext the algorithm cannot encrypt [ours].
pub fn plaintext_too_long(algorithm: &str) -> String {
    format!("Algorithm {algorithm} cannot encrypt data of this length.")
}

/// `ValidationException` from DeriveSharedSecret: a public key KMS cannot use. AWS sends it
/// with an empty message [recorded].
pub const INVALID_PUBLIC_KEY: &str = "";

/// `ValidationException`: an encryption context over Strongbox's size bound [ours; AWS documents
/// no bound].
pub fn context_too_large(size: usize, max: usize) -> String {
    format!(
        "EncryptionContext is too large: its keys and values hold {size} bytes, and at most {max} are accepted."
    )
}

/// `ValidationException`: an encryption context with an empty key [ours].
pub const CONTEXT_EMPTY_KEY: &str = "EncryptionContext keys must not be empty.";

/// `ValidationException`: an encryption context given to an asymmetric key [ours].
pub const CONTEXT_WITH_ASYMMETRIC_KEY: &str =
    "EncryptionContext is not supported with asymmetric KMS keys.";

/// `UnsupportedOperationException` for specs Strongbox does not implement [ours].
pub fn spec_not_supported(spec: &str, why: &str) -> String {
    format!("KeySpec {spec} is not supported by Strongbox: {why}.")
}

/// `UnsupportedOperationException` for request members and options Strongbox does not
/// implement [ours].
pub fn option_not_supported(what: &str) -> String {
    format!("{what} is not supported by Strongbox yet")
}

/// `UnsupportedOperationException`: an operation on a key whose origin does not allow it
/// [recorded].
pub fn origin_not_valid(arn: &str, origin: &str) -> String {
    format!("{arn} origin is {origin} which is not valid for this operation.")
}

/// `UnsupportedOperationException` from operations that need another kind of key [ours].
pub fn needs_other_key(arn: &str, spec: &str, operation: &str, needed: &str) -> String {
    format!("{arn} is a {spec} key; {operation} needs {needed}.")
}

// ---------------------------------------------------------------------------------------------
// Rotation.
// ---------------------------------------------------------------------------------------------

/// `LimitExceededException` from RotateKeyOnDemand past the per-key limit [recorded].
pub fn on_demand_rotation_limit(arn: &str) -> String {
    format!(
        "The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: {arn}"
    )
}

/// `UnsupportedOperationException` from RotateKeyOnDemand on a key that cannot rotate (an
/// asymmetric or HMAC key): AWS sends no message [recorded].
pub const CANNOT_ROTATE_ON_DEMAND: &str = "";

/// `UnsupportedOperationException` from EnableKeyRotation on a key that cannot rotate [ours].
pub fn cannot_rotate(arn: &str, spec: &str) -> String {
    format!("{arn} is a {spec} key; only symmetric encryption keys can rotate automatically.")
}

/// `ConflictException`: an on-demand rotation of the key has not finished [ours; AWS's
/// ConflictException documentation speaks of a rotation in progress].
pub fn rotation_in_progress(arn: &str) -> String {
    format!("A rotation of {arn} is already in progress.")
}

// ---------------------------------------------------------------------------------------------
// Aliases.
// ---------------------------------------------------------------------------------------------

/// `ValidationException`: an alias name without `alias/` [recorded].
pub const ALIAS_PREFIX: &str = "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html";

/// The model's pattern for `AliasName` [doc].
pub const ALIAS_NAME_PATTERN: &str = "^[a-zA-Z0-9:/_-]+$";

/// `ValidationException`: characters the model allows but aliases do not (`:`), or nothing
/// after the prefix [ours, after the wording emulators reproduce].
pub fn alias_invalid_characters(name: &str) -> String {
    format!("{name} contains invalid characters for an alias")
}

/// `InvalidAliasNameException`: a name under `alias/aws/` [doc: that prefix is reserved for AWS
/// managed keys].
pub fn alias_reserved(name: &str) -> String {
    format!("{name} must not begin with alias/aws/: that prefix is reserved for AWS managed keys.")
}

/// `AlreadyExistsException` [ours, after the wording emulators reproduce].
pub fn alias_exists(alias_arn: &str) -> String {
    format!("An alias with the name {alias_arn} already exists")
}

/// `ValidationException`: an alias whose target is another alias [ours, after the wording
/// emulators reproduce].
pub const ALIAS_TARGETS_ALIAS: &str = "Aliases must refer to keys. Not aliases";

/// `ValidationException` from UpdateAlias between keys of different types or usages [doc: the
/// new key must have the same type and key usage].
pub fn alias_incompatible_keys(current: &str, new: &str) -> String {
    format!(
        "{current} and {new} are not the same type of key with the same key usage; an alias can only move between compatible keys."
    )
}

// ---------------------------------------------------------------------------------------------
// Tags [recorded].
// ---------------------------------------------------------------------------------------------

/// `TagException`: a tag key starting with `aws:` (in any case).
pub const TAGS_RESERVED: &str = "Tags beginning with aws: are reserved";
/// `TagException`: more than 50 tags on a key.
pub const TOO_MANY_TAGS: &str = "Too many tags";
/// `TagException`: one tag key twice in one request.
pub const DUPLICATE_TAG_KEYS: &str = "Duplicate tag keys";

/// `TagException`: a tag key or value with characters outside AWS's tag character set [ours].
pub fn tag_characters(part: &str, text: &str) -> String {
    format!(
        "Tag {part} '{text}' is not valid: use letters, digits, spaces and _ . : / = + - @ only"
    )
}

// ---------------------------------------------------------------------------------------------
// Policies.
// ---------------------------------------------------------------------------------------------

/// `NotFoundException`: a policy name other than `default` [ours: the only name AWS accepts].
pub fn policy_name_not_found(name: &str) -> String {
    format!("No such policy exists: {name}. The only key policy name is default.")
}

/// `LimitExceededException`: a key policy over 32 KiB [ours].
pub fn policy_too_large(len: usize, max: usize) -> String {
    format!("The key policy is {len} bytes; a key policy can be at most {max} bytes.")
}

/// `MalformedPolicyDocumentException`: a principal that is not a valid ARN or account, or
/// names no existing user or role [recorded].
pub const POLICY_INVALID_PRINCIPAL: &str =
    "Policy contains a statement with one or more invalid principals.";

/// `MalformedPolicyDocumentException`: the policy lockout safety check failed: the new policy
/// would not let the caller change it again [recorded].
pub const POLICY_LOCKOUT: &str =
    "The new key policy will not allow you to update the key policy in the future.";

/// `MalformedPolicyDocumentException`: an identity policy naming principals [ours, after
/// IAM's wording].
pub const POLICY_HAS_PRINCIPAL: &str = "Policy document should not specify a principal.";

/// `MalformedPolicyDocumentException`: a trust policy naming a resource [ours, after IAM's
/// wording].
pub const POLICY_TRUST_RESOURCE: &str = "Has prohibited field Resource.";

/// `MalformedPolicyDocumentException`: not JSON, not an object, or a member named twice
/// [ours: AWS sends no text AWS documents].
pub const POLICY_NOT_JSON: &str =
    "The policy is not a valid JSON object (or it names one member twice).";

/// `MalformedPolicyDocumentException`: an unknown element or a value of the wrong type [ours].
pub const POLICY_SYNTAX: &str = "The policy has an element that the policy language does not define, or an element whose value has the wrong type.";

/// `MalformedPolicyDocumentException` [ours].
pub const POLICY_BAD_VERSION: &str = "The policy's Version must be 2012-10-17 or 2008-10-17.";

/// `MalformedPolicyDocumentException` [ours].
pub const POLICY_NO_STATEMENT: &str =
    "The policy must have a Statement: a statement object or a non-empty list of them.";

/// `MalformedPolicyDocumentException` [ours].
pub const POLICY_BAD_EFFECT: &str = "Every policy statement must have an Effect of Allow or Deny.";

/// `MalformedPolicyDocumentException` [ours].
pub const POLICY_NO_PRINCIPAL: &str =
    "Every statement of this policy must have a Principal or NotPrincipal.";

/// `MalformedPolicyDocumentException`: required since August 2025 [doc; the text is ours].
pub const POLICY_NO_ACTION: &str = "Every policy statement must have an Action or NotAction.";

/// `MalformedPolicyDocumentException`: required since August 2025 [doc; the text is ours].
pub const POLICY_NO_RESOURCE: &str = "Every policy statement must have a Resource or NotResource.";

/// `MalformedPolicyDocumentException`: a key policy's only resource is the key, `*`, the only
/// value AWS accepts since August 2025 [doc; the text is ours].
pub const POLICY_KEY_RESOURCE: &str = "The Resource of a key policy statement must be \"*\".";

/// `MalformedPolicyDocumentException`: a condition whose values do not fit its operator
/// [ours].
pub const POLICY_INVALID_CONDITION: &str = "A policy condition is not valid: each condition maps an operator to condition keys (service:name), each with a value or a non-empty list of values of the operator's type.";

/// `MalformedPolicyDocumentException` [ours].
pub fn policy_unknown_operator(operator: &str) -> String {
    format!("The policy uses a condition operator that does not exist: {operator}.")
}

/// `MalformedPolicyDocumentException` [ours].
pub fn policy_invalid_resource(resource: &str) -> String {
    format!("The policy names a resource that is neither \"*\" nor an ARN: {resource}.")
}

// ---------------------------------------------------------------------------------------------
// Grants. [recorded] here: AWS responses captured in radkawar/stackd's
// `testdata/aws/kms/{grants,hmac}.json` and quoted in public bug reports.
// ---------------------------------------------------------------------------------------------

/// `ValidationException`: operations a grant on this kind of key cannot allow [recorded for
/// HMAC keys; the same form for the others]. `kind` is `symmetric` or `asymmetric`.
pub fn grant_operations_not_supported(
    refused: &[&str],
    kind: &str,
    usage: KeyUsage,
    valid: &[&str],
) -> String {
    format!(
        "Operations [{}] are not supported when creating a grant for a {kind} KMS key with key usage {usage}. Valid operations are [{}]",
        refused.join(", "),
        valid.join(", ")
    )
}

/// `ValidationException`: a constraint on a grant for an asymmetric or HMAC key [recorded].
pub const GRANT_CONTEXT_SYMMETRIC_ONLY: &str =
    "EncryptionContext is supported only when creating a grant for a symmetric encryption KMS key.";

/// `ValidationException`: a grant of CreateGrant alone [recorded].
pub const GRANT_ONLY_CREATE_GRANT: &str = "Grants must not contain only the CreateGrant operation.";

/// `ValidationException`: both constraint members at once [reported: quoted in the Terraform
/// AWS provider's source].
pub const GRANT_TWO_CONSTRAINTS: &str = "More than one constraint supplied";

/// `ValidationException`: AWS's documented bounds on a constraint [doc; wording ours].
pub const GRANT_CONSTRAINT_TOO_LARGE: &str = "Each grant constraint can include up to 8 encryption context pairs, and each encryption context value cannot exceed 384 characters.";

/// `ValidationException`: constraint keys that differ only in case [ours].
pub const GRANT_CONSTRAINT_KEYS_CASE: &str = "The keys of a grant constraint are matched ignoring case, so no two of them may differ only in case.";

/// `InvalidArnException`: a principal that is not a principal ARN [recorded].
pub fn arn_not_valid(arn: &str) -> String {
    format!("ARN is not valid: {arn}")
}

/// `InvalidArnException`: a principal ARN naming no principal [recorded].
pub fn arn_not_a_principal(arn: &str) -> String {
    format!("ARN does not refer to a valid principal: {arn}")
}

/// `InvalidGrantTokenException` [doc: the exception's description].
pub const INVALID_GRANT_TOKEN: &str =
    "The request was rejected because the specified grant token is not valid.";

/// `InvalidGrantIdException` [doc: the exception's description].
pub const INVALID_GRANT_ID: &str =
    "The request was rejected because the specified GrantId is not valid.";

/// `NotFoundException`: no such grant on the key [ours].
pub fn grant_not_found(grant_id: &str, key_arn: &str) -> String {
    format!("Grant {grant_id} does not exist for key {key_arn}.")
}

/// `LimitExceededException`: the key has as many grants as allowed [ours].
pub fn grant_limit(key_arn: &str, limit: u32) -> String {
    format!(
        "Key {key_arn} already has {limit} grants, the most a key may have. Retire or revoke a grant first."
    )
}

/// `ValidationException`: RetireGrant without a grant to retire [ours].
pub const RETIRE_GRANT_TARGET: &str =
    "Specify the grant to retire: either GrantToken, or both KeyId and GrantId.";

/// `AccessDeniedException`: ListRetirableGrants for another account's principal [ours, in
/// AWS's access-denied form].
pub fn retiring_principal_elsewhere(caller_arn: &str, retiring: &str) -> String {
    format!(
        "User: {caller_arn} is not authorized to perform: kms:ListRetirableGrants on resource: {retiring} because no resource-based policy allows the kms:ListRetirableGrants action"
    )
}

// ---------------------------------------------------------------------------------------------
// Other parameters.
// ---------------------------------------------------------------------------------------------

/// `ValidationException` from ScheduleKeyDeletion: a waiting period the model allows (1 to
/// 365) but the service does not [ours, after the wording emulators reproduce].
pub fn pending_window(days: i64, min: u32, max: u32) -> String {
    format!("PendingWindowInDays should be between {min} and {max}, but it is {days}")
}

/// `ValidationException` from GenerateRandom without `NumberOfBytes` [recorded].
pub const NUMBER_OF_BYTES_REQUIRED: &str = "NumberOfBytes is required.";

/// `DryRunOperationException` [recorded].
pub const DRY_RUN: &str = "The request would have succeeded, but the DryRun option is set.";

/// `ValidationException` from GenerateDataKey with both `NumberOfBytes` and `KeySpec` [ours,
/// after the wording emulators reproduce].
pub const DATA_KEY_SIZE_TWICE: &str =
    "Please specify either number of bytes or key spec, not both.";

/// `ValidationException` from GenerateDataKey with neither `NumberOfBytes` nor `KeySpec` [ours,
/// after the wording emulators reproduce].
pub const DATA_KEY_SIZE_MISSING: &str = "Please specify either number of bytes or key spec.";

/// `ValidationException` from CreateKey with both `KeySpec` and the deprecated
/// `CustomerMasterKeySpec` [ours].
pub const KEY_SPEC_TWICE: &str = "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec parameter is deprecated. Use KeySpec only";

/// `InvalidMarkerException` [ours].
pub const INVALID_MARKER: &str =
    "The marker is not valid: pass the NextMarker of a previous response unchanged";

/// `UnsupportedOperationException` for an operation of the model Strongbox does not serve
/// [ours].
pub fn operation_not_supported(operation: &str) -> String {
    format!(
        "{operation} is an AWS KMS operation that Strongbox does not support yet; see docs/compatibility.md"
    )
}

/// `KMSInternalException` when the store or the audit trail cannot be written for want of
/// space: the client learns why and that waiting helps, nothing more [ours].
pub const STORAGE_FULL: &str = "The request could not be completed: the server's storage is full, so neither a change nor the request's audit record can be written. Try again later.";

/// `KMSInternalException` while the root key is not unsealed (a Shamir seal waiting for its
/// shares): the client learns that, and nothing else [ours].
pub const SEALED: &str =
    "The service is sealed: an operator must unseal it before it can answer. Try again later.";

/// `KMSInternalException`: all a client learns of a fault on our side [ours].
pub const INTERNAL_ERROR: &str = "An internal error occurred. Try the request again.";

// ---------------------------------------------------------------------------------------------
// IAM and STS.
// ---------------------------------------------------------------------------------------------

/// `NoSuchEntity` [recorded].
pub fn no_such_user(name: &str) -> String {
    format!("The user with name {name} cannot be found.")
}

/// `EntityAlreadyExists` [recorded].
pub fn user_exists(name: &str) -> String {
    format!("User with name {name} already exists.")
}

/// `NoSuchEntity` [recorded].
pub fn no_such_role(name: &str) -> String {
    format!("The role with name {name} cannot be found.")
}

/// `EntityAlreadyExists` [recorded].
pub fn role_exists(name: &str) -> String {
    format!("Role with name {name} already exists.")
}

/// `NoSuchEntity`: a user's or role's inline policy (`kind` is `user` or `role`) [recorded for
/// roles; the user form is symmetric].
pub fn no_such_inline_policy(kind: &str, name: &str) -> String {
    format!("The {kind} policy with name {name} cannot be found.")
}

/// `NoSuchEntity` [recorded].
pub fn no_such_access_key(id: &str) -> String {
    format!("The Access Key with id {id} cannot be found.")
}

/// `LimitExceeded` [recorded].
pub const ACCESS_KEY_QUOTA: &str = "Cannot exceed quota for AccessKeysPerUser: 2";

/// `DeleteConflict` [recorded].
pub const DELETE_CONFLICT_POLICIES: &str = "Cannot delete entity, must delete policies first.";

/// `DeleteConflict` [recorded].
pub const DELETE_CONFLICT_ACCESS_KEYS: &str =
    "Cannot delete entity, must delete access keys first.";

/// `ValidationError`: a name outside IAM's character set (`member` is `userName`, `roleName`,
/// `policyName`) [recorded for roleName].
pub fn iam_name_invalid(member: &str) -> String {
    format!(
        "The specified value for {member} is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-"
    )
}

/// `ValidationError` [recorded by emulators].
pub const IAM_PATH_INVALID: &str = "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.";

/// `MalformedPolicyDocument` for an identity policy that is not JSON [recorded].
pub const IAM_POLICY_SYNTAX: &str = "Syntax errors in policy.";

/// `MalformedPolicyDocument` for a trust policy that is not JSON [recorded].
pub const TRUST_POLICY_INVALID_JSON: &str = "This policy contains invalid Json";

/// `MalformedPolicyDocument`: a trust policy allowing other actions [recorded].
pub const TRUST_POLICY_ACTIONS: &str = "AssumeRole policy may only specify STS AssumeRole actions.";

/// `MalformedPolicyDocument`: a trust policy naming a principal that does not exist [ours,
/// after IAM's wording].
pub fn trust_policy_invalid_principal(arn: &str) -> String {
    format!("Invalid principal in policy: \"AWS\":\"{arn}\"")
}

/// `LimitExceeded`: a user's or role's inline policies over IAM's aggregate size [recorded].
pub fn inline_policies_too_large(limit: usize, kind: &str, name: &str) -> String {
    format!("Maximum policy size of {limit} bytes exceeded for {kind} {name}")
}

/// `LimitExceeded`: a trust policy over IAM's default quota [recorded].
pub const TRUST_POLICY_TOO_LARGE: &str = "Cannot exceed quota for ACLSizePerRole: 2048";

/// `AccessDenied`: the account root asked AssumeRole [recorded].
pub const ROOT_CANNOT_ASSUME_ROLE: &str = "Roles may not be assumed by root accounts.";

/// `ValidationError`: DurationSeconds over the role's MaxSessionDuration [recorded].
pub const SESSION_TOO_LONG: &str =
    "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.";

/// `ValidationError`: role chaining limits sessions to an hour [recorded].
pub const CHAINED_SESSION_TOO_LONG: &str = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.";

/// `ValidationError`: a RoleArn that is not a role's ARN [ours, after STS's wording].
pub fn invalid_role_arn(arn: &str) -> String {
    format!("{arn} is invalid")
}

/// `ValidationError`: AssumeRole with session policies, which Strongbox does not apply [ours].
pub const SESSION_POLICIES_UNSUPPORTED: &str = "Session policies (Policy, PolicyArns) are not supported by this server; scope the role's own policies instead.";

/// `ExpiredTokenException` (KMS) and `ExpiredToken` (IAM, STS) [recorded].
pub const EXPIRED_TOKEN: &str = "The security token included in the request is expired";

/// `ValidationError` [recorded].
pub const USER_NAME_REQUIRED: &str = "Must specify userName when calling with non-User credentials";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_messages_follow_aws_format() {
        assert_eq!(
            validation(&[Violation::below(0, "numberOfBytes", 1)]),
            "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1"
        );
        assert_eq!(
            validation(&[Violation::too_long(Shown::Hidden, "plaintext", 4096)]),
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096"
        );
        assert_eq!(
            validation(&[
                Violation::too_long(Shown::Value("k"), "tags.1.member.tagKey", 128),
                Violation::null("keyId"),
            ]),
            "2 validation errors detected: Value 'k' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128; Value null at 'keyId' failed to satisfy constraint: Member must not be null"
        );
        assert_eq!(
            validation(&[Violation::not_in_set(
                "INVALID",
                "keyAgreementAlgorithm",
                "[ECDH]"
            )]),
            "1 validation error detected: Value 'INVALID' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ECDH]"
        );
    }

    #[test]
    fn checks_return_nothing_inside_their_bounds() {
        assert_eq!(Violation::length(Shown::Hidden, "m", 5, 1, 5), None);
        assert!(Violation::length(Shown::Hidden, "m", 0, 1, 5).is_some());
        assert_eq!(Violation::range(1024, "n", 1, 1024), None);
        assert!(Violation::range(1025, "n", 1, 1024).is_some());
    }

    #[test]
    fn state_messages_follow_the_key_state_table() {
        let arn = "arn:aws:kms:us-east-1:111122223333:key/k";
        assert_eq!(
            invalid_state(arn, KeyState::PendingDeletion),
            format!("{arn} is pending deletion.")
        );
        assert_eq!(disabled(arn), format!("{arn} is disabled."));
    }
}
