//! Reading the audit trail in tests: the stored records of a chain, and LookupEvents over raw
//! signed HTTP (service `cloudtrail`, as boto3 and the aws CLI sign it).

use std::path::Path;

use serde_json::Value;
use strongbox::datadir::{self, OpenMode};
use strongbox_core::model::{AccountId, Region};

use super::TestServer;
use super::raw::{self, RawResponse, Signing};

/// CloudTrail's LookupEvents target.
pub const LOOKUP_EVENTS: &str =
    "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";

/// A stored record: its exact bytes and their parsed JSON.
pub struct Stored {
    pub bytes: Vec<u8>,
    pub json: Value,
}

/// Every record of the chain of `account` in `region`, in sequence order.
pub async fn records(server: &TestServer, account: &str, region: &str) -> Vec<Stored> {
    records_in(&server.data_dir, account, region).await
}

/// [`records`] of the data directory `data_dir`, opened as the admin CLI opens it.
pub async fn records_in(data_dir: &Path, account: &str, region: &str) -> Vec<Stored> {
    let store = format!("sqlite://{}", data_dir.join("strongbox.db").display());
    let kms = datadir::open(data_dir, &store, OpenMode::MustExist)
        .await
        .unwrap();
    let account = AccountId::parse(account).unwrap();
    let region = Region::parse(region).unwrap();
    let mut stored = Vec::new();
    let mut after = 0;
    loop {
        let page = kms
            .audit_records_after(&account, &region, after, 500)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = last.sequence;
        for record in page {
            let json = serde_json::from_slice(&record.record).unwrap();
            stored.push(Stored {
                bytes: record.record,
                json,
            });
        }
    }
    kms.close().await;
    stored
}

/// The record whose `requestID` is `request_id`.
pub fn by_request<'a>(records: &'a [Stored], request_id: &str) -> &'a Value {
    &records
        .iter()
        .find(|record| record.json["requestID"] == request_id)
        .unwrap_or_else(|| panic!("no record for request {request_id}"))
        .json
}

/// A LookupEvents call signed as `signing` says (service `cloudtrail` unless changed).
pub async fn lookup(server: &TestServer, body: &Value, signing: &Signing<'_>) -> RawResponse {
    let body = serde_json::to_vec(body).unwrap();
    let mut headers = raw::kms_headers(Some(LOOKUP_EVENTS));
    raw::sign_headers(&mut headers, &body, signing);
    raw::send(server.address, &raw::post(&headers, &body))
        .await
        .unwrap()
}

/// LookupEvents with the bootstrap credentials; panics unless it succeeds.
pub async fn lookup_ok(server: &TestServer, body: Value) -> Value {
    let response = lookup(server, &body, &cloudtrail()).await;
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    response.json()
}

/// Default signing for CloudTrail.
pub fn cloudtrail() -> Signing<'static> {
    Signing {
        service: "cloudtrail",
        ..Signing::default()
    }
}

/// Copies a directory tree (an export, to tamper with the copy).
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `audit verify` of the data directory `data_dir`, as the admin CLI runs it (next to a server
/// or not).
pub async fn verify_data_dir(data_dir: &Path) -> strongbox_core::audit::verify::Report {
    let store = format!("sqlite://{}", data_dir.join("strongbox.db").display());
    let kms = datadir::open(data_dir, &store, OpenMode::MustExist)
        .await
        .unwrap();
    let public_key = kms.audit_public_key().await.unwrap();
    let report = strongbox::audit::verify::verify_store(&kms, &public_key)
        .await
        .unwrap();
    kms.close().await;
    report
}
