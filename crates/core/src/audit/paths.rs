//! CloudTrail's object layout, which exports follow so that tools (and people) used to
//! CloudTrail find files where they expect them:
//!
//! - `<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_YYYYMMDDTHHmmZ_<first>-<last>.json.gz`
//! - `<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_strongbox_<region>_YYYYMMDDTHHmmssZ_<n>.json.gz`
//!
//! CloudTrail's unique string becomes the record sequence range (log files) or the digest
//! number (digests), so that names never collide and sort in chain order within a day.

use time::OffsetDateTime;

use crate::model::{AccountId, Region};

/// The trail name digests carry.
pub const TRAIL: &str = "strongbox";

/// The object name of the log file holding records `first..=last`, named after its oldest
/// event.
pub fn log_object(
    account: &AccountId,
    region: &Region,
    oldest: OffsetDateTime,
    first: u64,
    last: u64,
) -> String {
    let oldest = utc(oldest);
    format!(
        "{account}/CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{:04}{:02}{:02}T{:02}{:02}Z_{first}-{last}.json.gz",
        day(oldest),
        oldest.year(),
        u8::from(oldest.month()),
        oldest.day(),
        oldest.hour(),
        oldest.minute()
    )
}

/// The object name of digest number `sequence`, which ends at `end`.
pub fn digest_object(
    account: &AccountId,
    region: &Region,
    end: OffsetDateTime,
    sequence: u64,
) -> String {
    let end = utc(end);
    format!(
        "{account}/CloudTrail-Digest/{region}/{}/{account}_CloudTrail-Digest_{region}_{TRAIL}_{region}_{:04}{:02}{:02}T{:02}{:02}{:02}Z_{sequence}.json.gz",
        day(end),
        end.year(),
        u8::from(end.month()),
        end.day(),
        end.hour(),
        end.minute(),
        end.second()
    )
}

/// The object name of a chain's checkpoint (what remains of a pruned prefix).
pub fn checkpoint_object(account: &AccountId, region: &Region) -> String {
    format!("{account}/CloudTrail-Digest/{region}/{account}_CloudTrail-Checkpoint_{region}.json")
}

fn utc(time: OffsetDateTime) -> OffsetDateTime {
    time.to_offset(time::UtcOffset::UTC)
}

fn day(time: OffsetDateTime) -> String {
    format!(
        "{:04}/{:02}/{:02}",
        time.year(),
        u8::from(time.month()),
        time.day()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudtrail_layout() {
        let account = AccountId::parse("111122223333").unwrap();
        let region = Region::parse("eu-west-1").unwrap();
        let time = time::macros::datetime!(2026-11-29 02:07:09 UTC);
        assert_eq!(
            log_object(&account, &region, time, 1, 42),
            "111122223333/CloudTrail/eu-west-1/2026/11/29/111122223333_CloudTrail_eu-west-1_20261129T0207Z_1-42.json.gz"
        );
        assert_eq!(
            digest_object(&account, &region, time, 7),
            "111122223333/CloudTrail-Digest/eu-west-1/2026/11/29/111122223333_CloudTrail-Digest_eu-west-1_strongbox_eu-west-1_20261129T020709Z_7.json.gz"
        );
    }
}
