//! CloudTrail LookupEvents on the KMS endpoint: filters, time ranges, pagination without gaps
//! or repeats, CloudTrail's error codes, and tenants and Regions that see only their own events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;

use common::audit::{cloudtrail, lookup, lookup_ok};
use common::raw::Signing;
use common::{ACCESS_KEY, SECRET, TestServer, create_key};
use serde_json::{Value, json};

fn names(page: &Value) -> Vec<String> {
    page["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["EventName"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn filters_and_pages() {
    let server = TestServer::start().await;
    let client = server.client();
    let first = create_key(&client).await;
    let second = create_key(&client).await;
    for _ in 0..3 {
        client.describe_key().key_id(&first).send().await.unwrap();
    }
    client.disable_key().key_id(&second).send().await.unwrap();

    // Newest first, every field CloudTrail's Event shape has.
    let all = lookup_ok(&server, json!({})).await;
    assert_eq!(
        names(&all),
        [
            "DisableKey",
            "DescribeKey",
            "DescribeKey",
            "DescribeKey",
            "CreateKey",
            "CreateKey"
        ]
    );
    assert!(all.get("NextToken").is_none());
    let newest = &all["Events"][0];
    assert_eq!(newest["ReadOnly"], "false");
    assert_eq!(newest["EventSource"], "kms.amazonaws.com");
    assert_eq!(newest["Username"], "admin");
    assert_eq!(newest["AccessKeyId"], ACCESS_KEY);
    assert!(newest["EventTime"].as_f64().unwrap() > 1.7e9);
    assert_eq!(newest["Resources"][0]["ResourceType"], "AWS::KMS::Key");
    assert!(
        newest["Resources"][0]["ResourceName"]
            .as_str()
            .unwrap()
            .ends_with(&second)
    );
    let event: Value = serde_json::from_str(newest["CloudTrailEvent"].as_str().unwrap()).unwrap();
    assert_eq!(event["eventID"], newest["EventId"]);

    // One attribute at a time, each kind.
    let attribute = |key: &str, value: &str| json!({"LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}]});
    let described = lookup_ok(&server, attribute("EventName", "DescribeKey")).await;
    assert_eq!(names(&described).len(), 3);
    let by_id = lookup_ok(&server, attribute("ResourceName", &first)).await;
    assert_eq!(
        names(&by_id),
        ["DescribeKey", "DescribeKey", "DescribeKey", "CreateKey"]
    );
    let arn = newest["Resources"][0]["ResourceName"].as_str().unwrap();
    let by_arn = lookup_ok(&server, attribute("ResourceName", arn)).await;
    assert_eq!(names(&by_arn), ["DisableKey", "CreateKey"]);
    let writes = lookup_ok(&server, attribute("ReadOnly", "false")).await;
    assert_eq!(names(&writes), ["DisableKey", "CreateKey", "CreateKey"]);
    let event_id = newest["EventId"].as_str().unwrap();
    assert_eq!(
        names(&lookup_ok(&server, attribute("EventId", event_id)).await),
        ["DisableKey"]
    );
    assert_eq!(
        names(&lookup_ok(&server, attribute("Username", "admin")).await).len(),
        6
    );
    assert_eq!(
        names(&lookup_ok(&server, attribute("Username", "bob")).await).len(),
        0
    );
    assert_eq!(
        names(&lookup_ok(&server, attribute("AccessKeyId", ACCESS_KEY)).await).len(),
        6
    );
    assert_eq!(
        names(&lookup_ok(&server, attribute("ResourceType", "AWS::KMS::Key")).await).len(),
        6
    );
    assert_eq!(
        names(&lookup_ok(&server, attribute("EventSource", "kms.amazonaws.com")).await).len(),
        6
    );
    assert_eq!(
        names(&lookup_ok(&server, attribute("EventSource", "s3.amazonaws.com")).await).len(),
        0
    );
    let insights = lookup_ok(&server, json!({"EventCategory": "insight"})).await;
    assert_eq!(names(&insights).len(), 0);

    // Time ranges are inclusive; a range before everything is empty.
    let newest_time = newest["EventTime"].as_f64().unwrap();
    let at_newest = lookup_ok(&server, json!({"StartTime": newest_time})).await;
    assert_eq!(names(&at_newest)[0], "DisableKey");
    // EventTime is whole seconds, like the record's eventTime; a range naming that second
    // includes the event.
    assert_eq!(newest_time.fract(), 0.0);
    let that_second = lookup_ok(
        &server,
        json!({"StartTime": newest_time, "EndTime": newest_time}),
    )
    .await;
    assert!(names(&that_second).contains(&"DisableKey".to_owned()));
    let before = lookup_ok(&server, json!({"EndTime": 1_000_000_000})).await;
    assert_eq!(names(&before).len(), 0);

    // Pages of two: every event exactly once, in the same order as one page.
    let mut paged = Vec::new();
    let mut seen = HashSet::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"MaxResults": 2});
        if let Some(token) = &token {
            body["NextToken"] = json!(token);
        }
        let page = lookup_ok(&server, body).await;
        for event in page["Events"].as_array().unwrap() {
            assert!(seen.insert(event["EventId"].as_str().unwrap().to_owned()));
            paged.push(event["EventName"].as_str().unwrap().to_owned());
        }
        match page.get("NextToken") {
            Some(next) => token = Some(next.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    assert_eq!(paged, names(&all));
    server.stop().await;
}

#[tokio::test]
async fn bad_parameters_get_cloudtrail_errors() {
    let server = TestServer::start().await;
    create_key(&server.client()).await;
    create_key(&server.client()).await;
    let page = lookup_ok(&server, json!({"MaxResults": 1})).await;
    let token = page["NextToken"].as_str().unwrap().to_owned();
    let cases = [
        (
            json!({"LookupAttributes": [
                {"AttributeKey": "EventName", "AttributeValue": "Encrypt"},
                {"AttributeKey": "Username", "AttributeValue": "admin"}]}),
            "InvalidLookupAttributesException",
        ),
        (
            json!({"LookupAttributes": [{"AttributeKey": "Colour", "AttributeValue": "red"}]}),
            "InvalidLookupAttributesException",
        ),
        (
            json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": ""}]}),
            "InvalidLookupAttributesException",
        ),
        (
            json!({"LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "maybe"}]}),
            "InvalidLookupAttributesException",
        ),
        (json!({"MaxResults": 0}), "InvalidMaxResultsException"),
        (json!({"MaxResults": 51}), "InvalidMaxResultsException"),
        (
            json!({"StartTime": 2_000_000_000, "EndTime": 1_000_000_000}),
            "InvalidTimeRangeException",
        ),
        (json!({"StartTime": 1e300}), "InvalidTimeRangeException"),
        (
            json!({"NextToken": "not-a-token"}),
            "InvalidNextTokenException",
        ),
        (
            json!({"NextToken": token, "LookupAttributes": [
                {"AttributeKey": "EventName", "AttributeValue": "CreateKey"}]}),
            "InvalidNextTokenException",
        ),
        (
            json!({"EventCategory": "data"}),
            "InvalidEventCategoryException",
        ),
        (json!({"MaxResults": "ten"}), "SerializationException"),
    ];
    for (body, expected) in cases {
        let response = lookup(&server, &body, &cloudtrail()).await;
        assert_eq!(response.status, 400, "{body}");
        assert_eq!(response.error_type(), expected, "{body}");
    }
    // The same token with the same parameters continues.
    let next = lookup_ok(&server, json!({"MaxResults": 1, "NextToken": token})).await;
    assert_eq!(names(&next), ["CreateKey"]);
    // Another CloudTrail operation: unknown here, not a signature error.
    let body = b"{}";
    let mut headers = common::raw::kms_headers(Some(
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails",
    ));
    common::raw::sign_headers(&mut headers, body, &cloudtrail());
    let response = common::raw::send(server.address, &common::raw::post(&headers, body))
        .await
        .unwrap();
    assert_eq!(response.error_type(), "UnknownOperationException");
    // Signed for KMS instead of CloudTrail.
    let response = lookup(&server, &json!({}), &Signing::default()).await;
    assert_eq!(response.error_type(), "InvalidSignatureException");
    server.stop().await;
}

#[tokio::test]
async fn tenants_and_regions_see_only_their_own_events() {
    let server = TestServer::start().await;
    let mine = create_key(&server.client()).await;
    let (_, other) = server.new_tenant("other").await;
    let theirs = create_key(&other).await;
    create_key(&server.client_as(ACCESS_KEY, SECRET, "eu-west-1")).await;

    let home = lookup_ok(&server, json!({})).await;
    assert_eq!(home["Events"].as_array().unwrap().len(), 1);
    assert!(home.to_string().contains(&mine));
    assert!(!home.to_string().contains(&theirs));
    let by_name =
        json!({"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": theirs}]});
    assert_eq!(
        lookup_ok(&server, by_name).await["Events"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    let europe = Signing {
        region: "eu-west-1",
        ..cloudtrail()
    };
    let response = lookup(&server, &json!({}), &europe).await;
    let events = response.json()["Events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert!(!events[0].to_string().contains(&mine));
    server.stop().await;
}
