//! Command-line arguments of `strongbox-bench`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

use crate::client::Endpoint;
use crate::error::Failure;
use crate::workload::{Op, Settings};

/// Drives an AWS KMS endpoint with SigV4-signed calls and reports throughput and latency.
/// (No `Debug`: it holds the secret access key.)
#[derive(Parser)]
#[command(name = "strongbox-bench", version)]
pub struct Args {
    /// The endpoint URL, e.g. http://127.0.0.1:4599, or https://localhost:4599 with --ca-bundle.
    #[arg(
        long,
        env = "AWS_ENDPOINT_URL",
        default_value = "http://127.0.0.1:4599"
    )]
    pub endpoint: String,
    /// The CA certificate(s) (PEM) an https:// endpoint's certificate must be signed by (the
    /// system's roots are not used).
    #[arg(long, env = "AWS_CA_BUNDLE", value_name = "FILE")]
    pub ca_bundle: Option<std::path::PathBuf>,
    /// The Region to sign for.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub region: String,
    /// The access key id to sign with.
    #[arg(long, env = "AWS_ACCESS_KEY_ID")]
    pub access_key_id: String,
    /// Its secret (prefer the environment variable: arguments are visible to other users).
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub secret_access_key: String,
    /// The workload; mixed is 70% decrypt, 20% generate-data-key, 10% encrypt.
    #[arg(long, value_enum, default_value = "encrypt")]
    pub op: Op,
    /// Plaintext bytes per encrypt (and behind each decrypt), 1-4096.
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
    /// Key spec of the keys the sign workload creates.
    #[arg(long, default_value = "ECC_NIST_P256")]
    pub key_spec: String,
    /// How many keys to create and spread the calls over (at random).
    #[arg(long, default_value_t = 1)]
    pub keys: usize,
    /// Use this existing key instead of creating keys (repeat for several).
    #[arg(long = "key-id")]
    pub key_ids: Vec<String>,
    /// Take up to --keys of the caller's existing keys (ListKeys) and create only the rest:
    /// a store seeded once serves many runs.
    #[arg(long)]
    pub existing_keys: bool,
    /// Before the warm-up, call once with every key (not measured), so that none is cold;
    /// prints how long that took.
    #[arg(long)]
    pub touch_each_key: bool,
    /// Concurrent workers, each with its own connection.
    #[arg(long, short = 'c', default_value_t = 32)]
    pub concurrency: usize,
    /// How long to measure, after the warm-up: `30s`, `2m`, `500ms` or seconds.
    #[arg(long, short = 'd', default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// How long to call before measuring.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// How long one call may take before it counts as failed (its connection is replaced).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Undo every n-th answer per worker with a second, untimed call (0: never).
    #[arg(long, default_value_t = 100)]
    pub check_every: u64,
    /// The server's process id: reports its CPU time per request (read from /proc).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// The endpoint is `strongbox-baseline`: send the same requests, create no keys, check
    /// only that each answer is a 200.
    #[arg(long)]
    pub baseline: bool,
    /// No progress lines on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl Args {
    /// The workload settings.
    pub fn settings(&self) -> Settings {
        Settings {
            op: self.op,
            size: self.size,
            key_spec: self.key_spec.clone(),
            baseline: self.baseline,
        }
    }

    /// Resolves the endpoint URL to an address.
    ///
    /// # Errors
    /// [`Failure::Setup`] for anything but `http://host[:port][/]`, or a host that does not
    /// resolve.
    pub async fn endpoint(&self) -> Result<Endpoint, Failure> {
        let bad = |why: &str| Failure::Setup(format!("--endpoint {}: {why}", self.endpoint));
        let uri: http::Uri = self.endpoint.parse().map_err(|_| bad("not a URL"))?;
        let tls = match uri.scheme_str() {
            Some("http") => None,
            Some("https") => {
                let ca = self
                    .ca_bundle
                    .as_deref()
                    .ok_or_else(|| bad("an https:// endpoint needs --ca-bundle"))?;
                let host = uri.host().ok_or_else(|| bad("no host"))?.to_owned();
                Some((
                    tls_connector(ca).map_err(|why| bad(&why))?,
                    server_name(host).map_err(|why| bad(&why))?,
                ))
            }
            _ => return Err(bad("only http:// and https:// endpoints are supported")),
        };
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(bad("the URL must not have a path"));
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        let port = authority
            .port_u16()
            .unwrap_or(if tls.is_some() { 443 } else { 80 });
        let address: SocketAddr = tokio::net::lookup_host((authority.host(), port))
            .await
            .map_err(|err| bad(&err.to_string()))?
            .next()
            .ok_or_else(|| bad("the host does not resolve"))?;
        if self.concurrency == 0 {
            return Err(Failure::Setup(
                "--concurrency must be at least 1".to_owned(),
            ));
        }
        if self.keys == 0 {
            return Err(Failure::Setup("--keys must be at least 1".to_owned()));
        }
        if self.duration.is_zero() || self.timeout.is_zero() {
            return Err(Failure::Setup(
                "--duration and --timeout must be more than zero".to_owned(),
            ));
        }
        Ok(Endpoint {
            address,
            host: authority.as_str().to_owned(),
            region: self.region.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            timeout: self.timeout,
            tls,
        })
    }
}

/// A TLS client trusting the certificates in `ca` (PEM), offering HTTP/1.1.
fn tls_connector(ca: &std::path::Path) -> Result<tokio_rustls::TlsConnector, String> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(ca)
        .map_err(|err| format!("--ca-bundle {}: {err}", ca.display()))?;
    for cert in certs {
        let cert = cert.map_err(|err| format!("--ca-bundle {}: {err}", ca.display()))?;
        roots
            .add(cert)
            .map_err(|err| format!("--ca-bundle {}: {err}", ca.display()))?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(std::sync::Arc::new(
        config,
    )))
}

fn server_name(host: String) -> Result<rustls_pki_types::ServerName<'static>, String> {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    rustls_pki_types::ServerName::try_from(host).map_err(|err| err.to_string())
}

/// `30s`, `2m`, `500ms`, or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration like 30s, 2m or 500ms"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("'{text}': the unit must be ms, s or m")),
    };
    let duration =
        Duration::try_from_secs_f64(seconds).map_err(|err| format!("'{text}': {err}"))?;
    if duration > MAX_DURATION {
        return Err(format!("'{text}': at most 24 hours"));
    }
    Ok(duration)
}

/// The longest duration any option takes (a run, its warm-up, a call's timeout).
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("1h").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1e19").is_err());
        assert!(parse_duration("1441m").is_err());
    }
}
