//! Test harness: a real `strongbox serve` on 127.0.0.1:0 in a temporary data directory, driven
//! with the official `aws-sdk-kms` client, and stopped by the test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

pub mod audit;
pub mod cli;
pub mod identities;
pub mod peer;
pub mod process;
pub mod raw;

use std::path::{Path, PathBuf};

use aws_sdk_kms::Client;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use strongbox::config::ServeConfig;
use strongbox::datadir::{self, OpenMode};
use strongbox::http::DEV_CLOCK_PATH;
use strongbox_core::model::AccountId;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ACCOUNT: &str = "111122223333";
pub const ACCESS_KEY: &str = "AKIATESTTESTTEST0001";
pub const SECRET: &str = "test/secret/key/that/is/forty/chars/long";
pub const REGION: &str = "us-east-1";

/// A running server and its data directory.
pub struct TestServer {
    pub endpoint: String,
    pub address: std::net::SocketAddr,
    pub data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), String>>>,
}

impl TestServer {
    /// A server on a fresh data directory serving `us-east-1` and `eu-west-1`.
    pub async fn start() -> Self {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("data");
        let mut server = Self::start_in(&dir).await;
        server._temp = Some(temp);
        server
    }

    /// A server on a fresh data directory with adjusted settings.
    pub async fn start_with(adjust: impl FnOnce(&mut ServeConfig)) -> Self {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("data");
        let mut server = Self::start_configured(&dir, adjust).await;
        server._temp = Some(temp);
        server
    }

    /// A server on an existing (or new) data directory.
    pub async fn start_in(dir: &Path) -> Self {
        Self::start_configured(dir, |_| {}).await
    }

    /// A server on an existing (or new) data directory with adjusted settings.
    pub async fn start_configured(dir: &Path, adjust: impl FnOnce(&mut ServeConfig)) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut config = config(dir, address);
        adjust(&mut config);
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(strongbox::app::run(config, listener, async {
            let _ = signal.await;
        }));
        let server = Self {
            endpoint: format!("http://{address}"),
            address,
            data_dir: dir.to_owned(),
            _temp: None,
            shutdown: Some(shutdown),
            task: Some(task),
        };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&self) {
        for _ in 0..200 {
            if let Ok(response) = raw::send(self.address, &raw::get("/health")).await
                && response.status == 200
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("server did not become healthy");
    }

    /// A client with the bootstrap credentials in `us-east-1`.
    pub fn client(&self) -> Client {
        self.client_as(ACCESS_KEY, SECRET, REGION)
    }

    /// A client with the given credentials and Region, without retries so that every error
    /// reaches the test as it was sent.
    pub fn client_as(&self, access_key: &str, secret: &str, region: &str) -> Client {
        let credentials = Credentials::new(access_key, secret, None, None, "test");
        Client::from_conf(sdk_config(&self.endpoint, credentials, region).build())
    }

    /// A second handle on the data directory, as the admin CLI opens it.
    pub async fn admin_kms(&self) -> std::sync::Arc<strongbox_core::Kms> {
        let store = format!("sqlite://{}", self.data_dir.join("strongbox.db").display());
        datadir::open(&self.data_dir, &store, OpenMode::MustExist)
            .await
            .unwrap()
    }

    /// Moves the dev clock forward (the server must run with `dev_clock`) and returns the
    /// response body.
    pub async fn advance_clock(&self, seconds: i64) -> serde_json::Value {
        let body = format!("{{\"AdvanceSeconds\": {seconds}}}");
        let headers = [("host".to_owned(), "127.0.0.1".to_owned())];
        let request = raw::post_to(DEV_CLOCK_PATH, &headers, body.as_bytes());
        let response = raw::send(self.address, &request).await.unwrap();
        assert_eq!(
            response.status,
            200,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        response.json()
    }

    /// Creates another tenant with an access key through the admin path (a second handle on the
    /// data directory, as `strongbox account create` does while the server runs) and returns a
    /// client for it.
    pub async fn new_tenant(&self, name: &str) -> (AccountId, Client) {
        let tenant = Tenant::new(self, name).await;
        (tenant.account, tenant.client(self))
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        self.halt().await;
    }

    /// Stops the server gracefully and waits for it, keeping its data directory.
    pub async fn halt(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

/// A tenant made through the admin path (a second handle on the data directory), with its
/// admin's credentials kept, to make clients again after a restart.
pub struct Tenant {
    pub account: AccountId,
    pub access_key: String,
    pub secret: String,
}

impl Tenant {
    pub async fn new(server: &TestServer, name: &str) -> Self {
        let kms = server.admin_kms().await;
        let account = kms.create_account(name, None).await.unwrap().id;
        let key = kms
            .create_access_key(&account, "admin", None)
            .await
            .unwrap();
        kms.close().await;
        Self {
            account,
            access_key: key.key.id.as_str().to_owned(),
            secret: String::from_utf8(key.secret.expose().to_vec()).unwrap(),
        }
    }

    /// A client of the tenant's admin on `server`, in `us-east-1`.
    pub fn client(&self, server: &TestServer) -> Client {
        server.client_as(&self.access_key, &self.secret, REGION)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// An SDK configuration for `endpoint` with `credentials` in `region`, without retries so that
/// every error reaches the test as it was sent (a test that wants retries sets its own).
pub fn sdk_config(
    endpoint: &str,
    credentials: Credentials,
    region: &str,
) -> aws_sdk_kms::config::Builder {
    aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled())
}

/// The configuration tests serve with: two Regions, known bootstrap credentials, a short body
/// timeout.
pub fn config(dir: &Path, address: std::net::SocketAddr) -> ServeConfig {
    let mut config = strongbox::config::local(address, dir.to_owned(), ACCESS_KEY, SECRET).unwrap();
    config
        .regions
        .push(strongbox_core::model::Region::parse("eu-west-1").unwrap());
    config.body_read_timeout = std::time::Duration::from_secs(2);
    config
}

/// The AWS error code of a failed SDK call.
pub fn code<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    result: Result<impl std::fmt::Debug, SdkError<E, R>>,
) -> String {
    match result {
        Ok(output) => panic!("expected an error, got {output:?}"),
        Err(SdkError::ServiceError(error)) => error.err().code().unwrap_or("<no code>").to_owned(),
        Err(other) => panic!("expected a service error, got {other:?}"),
    }
}

/// The AWS error message of a failed SDK call.
pub fn message<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    result: Result<impl std::fmt::Debug, SdkError<E, R>>,
) -> String {
    match result {
        Ok(output) => panic!("expected an error, got {output:?}"),
        Err(SdkError::ServiceError(error)) => error.err().message().unwrap_or("").to_owned(),
        Err(other) => panic!("expected a service error, got {other:?}"),
    }
}

/// The code and message of a failed call.
pub fn failure<T: std::fmt::Debug, E, R>(result: Result<T, SdkError<E, R>>) -> (String, String)
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match result {
        Err(SdkError::ServiceError(error)) => (
            error.err().code().unwrap_or_default().to_owned(),
            error.err().message().unwrap_or_default().to_owned(),
        ),
        other => panic!("expected a service error, got {other:?}"),
    }
}

/// The key ARN of `key` (any identifier form), from DescribeKey.
pub async fn arn_of(client: &Client, key: &str) -> String {
    client
        .describe_key()
        .key_id(key)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned()
}

/// Waits until the scheduler has performed the on-demand rotation of `key` (usually done in
/// milliseconds; the bound is generous for a loaded CI machine).
pub async fn rotation_done(client: &Client, key: &str) {
    for _ in 0..2000 {
        let status = client
            .get_key_rotation_status()
            .key_id(key)
            .send()
            .await
            .unwrap();
        if status.on_demand_rotation_start_date().is_none() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the on-demand rotation of {key} did not complete");
}

/// Creates a symmetric key and returns its id.
pub async fn create_key(client: &Client) -> String {
    client
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_owned()
}

/// Encrypts `plaintext` under `key` and returns the ciphertext blob.
pub async fn encrypt(
    client: &Client,
    key: &str,
    plaintext: &[u8],
) -> aws_sdk_kms::primitives::Blob {
    client
        .encrypt()
        .key_id(key)
        .plaintext(aws_sdk_kms::primitives::Blob::new(plaintext.to_vec()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .clone()
}

/// Decrypts `blob` and returns the plaintext.
pub async fn decrypt(client: &Client, blob: &aws_sdk_kms::primitives::Blob) -> Vec<u8> {
    client
        .decrypt()
        .ciphertext_blob(blob.clone())
        .send()
        .await
        .unwrap()
        .plaintext()
        .unwrap()
        .as_ref()
        .to_vec()
}

/// Copies the tree `from` to `to`, making it private as a data directory is (git keeps no
/// modes); sockets (a stopped server's `admin.sock`) are left behind.
pub fn copy_private(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_private(&entry.path(), &target);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
}
