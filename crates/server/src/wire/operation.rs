//! The operation named by `X-Amz-Target`, parsed once at the edge into an enum.

/// The service prefix of every KMS target.
const KMS_PREFIX: &str = "TrentService.";
/// The prefix of every CloudTrail target.
const CLOUDTRAIL_PREFIX: &str = "com.amazonaws.cloudtrail.";
/// CloudTrail's LookupEvents, served on the same endpoint for the audit trail.
const LOOKUP_EVENTS: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";

pub use strongbox_core::operation::Operation;

/// Parses `TrentService.<Name>`; `None` for anything else.
pub fn from_target(target: &str) -> Option<Operation> {
    target
        .strip_prefix(KMS_PREFIX)
        .and_then(Operation::from_name)
}

/// What a request's `X-Amz-Target` asks for: a KMS operation, or CloudTrail's LookupEvents
/// over the audit trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A KMS operation.
    Kms(Operation),
    /// `CloudTrail_20131101.LookupEvents`.
    LookupEvents,
}

impl Target {
    /// Parses a target header; `None` for anything unknown.
    pub fn parse(target: &str) -> Option<Self> {
        if target == LOOKUP_EVENTS {
            return Some(Target::LookupEvents);
        }
        from_target(target).map(Target::Kms)
    }

    /// The SigV4 service the request must be signed for.
    pub fn service(self) -> &'static str {
        match self {
            Target::Kms(_) => "kms",
            Target::LookupEvents => "cloudtrail",
        }
    }
}

/// Whether an unknown target names a CloudTrail operation: it is then signed for `cloudtrail`
/// (and answered UnknownOperation rather than a signature error) and not recorded, like
/// LookupEvents.
pub fn is_cloudtrail(target: &str) -> bool {
    target.starts_with(CLOUDTRAIL_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip() {
        for op in Operation::ALL {
            let target = format!("TrentService.{}", op.name());
            assert_eq!(from_target(&target), Some(*op));
        }
        assert_eq!(Operation::ALL.len(), 56);
        assert_eq!(from_target("TrentService.encrypt"), None);
        assert_eq!(from_target("Encrypt"), None);
        assert_eq!(from_target("OtherService.Encrypt"), None);
    }

    #[test]
    fn targets_name_their_service() {
        assert_eq!(
            Target::parse("TrentService.Encrypt"),
            Some(Target::Kms(Operation::Encrypt))
        );
        assert_eq!(
            Target::parse(LOOKUP_EVENTS).map(Target::service),
            Some("cloudtrail")
        );
        assert_eq!(Target::parse("CloudTrail_20131101.LookupEvents"), None);
        assert!(is_cloudtrail(
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails"
        ));
        assert!(!is_cloudtrail("TrentService.Encrypt"));
    }
}
