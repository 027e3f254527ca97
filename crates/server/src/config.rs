//! Settings: flags, then environment, then a TOML file, then defaults (DESIGN.md section 1).
//! clap resolves flag over environment; this module layers the file and the defaults under it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use strongbox_core::model::Region;

use crate::datadir::Bootstrap;
use crate::disk::Watermark;
use crate::listener::Limits;
use crate::listener::activity::Timeouts;
use crate::listener::tls::TlsFiles;
use crate::quota::QuotaConfig;
use strongbox_store::journal::{Compression, JournalOptions, SyncMode};

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4599";
/// The default data directory.
pub const DEFAULT_DATA_DIR: &str = "./strongbox-data";
/// The default Region.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The TOML configuration file. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    /// `listen = "127.0.0.1:4599"`
    pub listen: Option<String>,
    /// `data-dir = "/var/lib/strongbox"`
    pub data_dir: Option<PathBuf>,
    /// `region = ["us-east-1", "eu-west-1"]` or `region = "us-east-1"`
    pub region: Option<RegionList>,
    /// `store = "sqlite:///var/lib/strongbox/strongbox.db"`
    pub store: Option<String>,
    /// `scheduler-interval = "60s"`
    pub scheduler_interval: Option<String>,
    /// `on-demand-rotation-limit = 25`
    pub on_demand_rotation_limit: Option<u32>,
    /// `grants-per-key = 50000`
    pub grants_per_key: Option<u32>,
    /// `key-cache-size = 1000000`
    pub key_cache_size: Option<usize>,
    /// `audit-retention-days = 365`
    pub audit_retention_days: Option<u32>,
    /// `audit-sync = "interval"` or `"always"`
    pub audit_sync: Option<String>,
    /// `audit-sync-interval = "10ms"`
    pub audit_sync_interval: Option<String>,
    /// `audit-segment-size = "64MiB"`
    pub audit_segment_size: Option<String>,
    /// `audit-compression = "gzip"` or `"none"`
    pub audit_compression: Option<String>,
    /// `audit-anchor = "file:/mnt/anchors/strongbox.jsonl"` or `"command:/usr/local/bin/push"`
    pub audit_anchor: Option<String>,
    /// `tls-cert = "/etc/strongbox/server.pem"`
    pub tls_cert: Option<PathBuf>,
    /// `tls-key = "/etc/strongbox/server.key"`
    pub tls_key: Option<PathBuf>,
    /// `header-read-timeout = "10s"`
    pub header_read_timeout: Option<String>,
    /// `idle-timeout = "60s"`
    pub idle_timeout: Option<String>,
    /// `max-connections = 1000`
    pub max_connections: Option<usize>,
    /// `metrics-listen = "127.0.0.1:9599"`
    pub metrics_listen: Option<String>,
    /// `disk-watermark = "5%"`
    pub disk_watermark: Option<String>,
    /// `[quotas]`: per-account request quotas.
    pub quotas: Option<QuotaConfig>,
}

/// One Region or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RegionList {
    /// `region = "us-east-1"`
    One(String),
    /// `region = ["us-east-1", "eu-west-1"]`
    Many(Vec<String>),
}

impl FileConfig {
    /// Reads the file, or an empty configuration when no file is named.
    pub fn load(path: Option<&Path>) -> Result<Self, String> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read config file {}: {error}", path.display()))?;
        toml::from_str(&text).map_err(|error| format!("config file {}: {error}", path.display()))
    }
}

/// The resolved settings of `strongbox serve`.
#[derive(Debug)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The Regions served (at least one).
    pub regions: Vec<Region>,
    /// The store URL.
    pub store: String,
    /// What a first start creates.
    pub bootstrap: Bootstrap,
    /// How long a request body may take to arrive (not a user setting; tests shorten it).
    pub body_read_timeout: std::time::Duration,
    /// How often the lifecycle scheduler runs.
    pub scheduler_interval: std::time::Duration,
    /// On-demand rotations allowed per key.
    pub on_demand_rotation_limit: u32,
    /// Grants allowed per key.
    pub grants_per_key: u32,
    /// How many keys (with their current material) the in-memory cache holds.
    pub key_cache_size: usize,
    /// Whether `POST /_strongbox/clock` may move the server's clock.
    pub dev_clock: bool,
    /// How long audit records are kept; `None` keeps them forever.
    pub audit_retention: Option<time::Duration>,
    /// Whether API calls are recorded (off only for `--benchmark-without-audit`).
    pub audit: bool,
    /// How the audit journal writes, syncs and seals.
    pub audit_journal: JournalOptions,
    /// Where each new digest's head is anchored outside the host, if anywhere.
    pub audit_anchor: Option<crate::audit::anchor::AnchorTarget>,
    /// The most records one audit digest covers (not a user setting; tests lower it).
    pub audit_digest_records: u64,
    /// The certificate and key to serve TLS with; plain HTTP without.
    pub tls: Option<TlsFiles>,
    /// Connection timeouts and cap.
    pub limits: Limits,
    /// Where `/metrics` is served instead of the main listener.
    pub metrics_listen: Option<SocketAddr>,
    /// Below how much free space the server reports itself degraded.
    pub disk_watermark: Watermark,
    /// Per-account request quotas.
    pub quotas: QuotaConfig,
}

/// The `serve` settings that come from flags or the environment.
#[derive(Debug, Default)]
pub struct ServeFlags {
    /// `--listen`
    pub listen: Option<String>,
    /// `--region`
    pub regions: Option<Vec<String>>,
    /// `--store`
    pub store: Option<String>,
    /// `--scheduler-interval`
    pub scheduler_interval: Option<String>,
    /// `--on-demand-rotation-limit`
    pub on_demand_rotation_limit: Option<u32>,
    /// `--grants-per-key`
    pub grants_per_key: Option<u32>,
    /// `--key-cache-size`
    pub key_cache_size: Option<usize>,
    /// `--dev-clock`
    pub dev_clock: bool,
    /// `--audit-retention-days`
    pub audit_retention_days: Option<u32>,
    /// `--benchmark-without-audit`
    pub without_audit: bool,
    /// `--audit-sync`
    pub audit_sync: Option<String>,
    /// `--audit-sync-interval`
    pub audit_sync_interval: Option<String>,
    /// `--audit-segment-size`
    pub audit_segment_size: Option<String>,
    /// `--audit-compression`
    pub audit_compression: Option<String>,
    /// `--audit-anchor`
    pub audit_anchor: Option<String>,
    /// `--tls-cert`
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key`
    pub tls_key: Option<PathBuf>,
    /// `--header-read-timeout`
    pub header_read_timeout: Option<String>,
    /// `--idle-timeout`
    pub idle_timeout: Option<String>,
    /// `--max-connections`
    pub max_connections: Option<usize>,
    /// `--metrics-listen`
    pub metrics_listen: Option<String>,
    /// `--disk-watermark`
    pub disk_watermark: Option<String>,
    /// `--quotas`: the quota profile (`aws` or `off`), over the file's.
    pub quota_profile: Option<String>,
}

/// The default scheduler interval.
pub const DEFAULT_SCHEDULER_INTERVAL: &str = "60s";
/// AWS's per-key limit on on-demand rotations.
pub const DEFAULT_ON_DEMAND_ROTATION_LIMIT: u32 = 25;
/// Keys cached in memory: a million take about 400 MB (docs/performance.md).
pub const DEFAULT_KEY_CACHE_SIZE: usize = 1_000_000;

/// The audit journal's settings; each `None` takes the default (sync within 10ms, 64 MiB
/// segments, no compression).
fn journal_options(
    sync: Option<String>,
    interval: Option<String>,
    segment_size: Option<String>,
    compression: Option<String>,
) -> Result<JournalOptions, String> {
    let mut options = JournalOptions::default();
    if let Some(sync) = sync {
        options.sync = match sync.trim() {
            "interval" => SyncMode::Interval,
            "always" => SyncMode::Always,
            other => {
                return Err(format!(
                    "audit sync '{other}': use interval (sync within --audit-sync-interval) or always"
                ));
            }
        };
    }
    if let Some(text) = interval {
        options.sync_interval = parse_sync_interval(&text)?;
    }
    if let Some(text) = segment_size {
        let unclear =
            || format!("audit segment size '{text}': use a size from 1MiB to 1GiB, e.g. 64MiB");
        options.segment_bytes = match Watermark::parse(&text) {
            Ok(Watermark::Bytes(bytes)) if ((1 << 20)..=(1 << 30)).contains(&bytes) => bytes,
            _ => return Err(unclear()),
        };
    }
    if let Some(compression) = compression {
        options.compression = match compression.trim() {
            "none" => Compression::None,
            "gzip" => Compression::Gzip,
            other => return Err(format!("audit compression '{other}': use none or gzip")),
        };
    }
    Ok(options)
}

/// `10ms`, `1s`: how long a written audit record may wait for its sync (1ms to 10s).
fn parse_sync_interval(text: &str) -> Result<std::time::Duration, String> {
    let trimmed = text.trim();
    let unclear = || format!("audit sync interval '{trimmed}': use 1ms to 10s, e.g. 10ms or 1s");
    let interval = if let Some(ms) = trimmed.strip_suffix("ms") {
        std::time::Duration::from_millis(ms.parse().map_err(|_| unclear())?)
    } else if let Some(seconds) = trimmed.strip_suffix('s') {
        std::time::Duration::from_secs(seconds.parse().map_err(|_| unclear())?)
    } else {
        return Err(unclear());
    };
    let allowed = std::time::Duration::from_millis(1)..=std::time::Duration::from_secs(10);
    if allowed.contains(&interval) {
        Ok(interval)
    } else {
        Err(unclear())
    }
}

/// The data directory from the flag or environment, else the file, else the default.
pub fn data_dir(cli: Option<PathBuf>, file: &FileConfig) -> PathBuf {
    cli.or_else(|| file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
}

/// The store URL: explicit, else SQLite in the data directory.
pub fn store_url(cli: Option<String>, file: &FileConfig, data_dir: &Path) -> String {
    cli.or_else(|| file.store.clone())
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("strongbox.db").display()))
}

/// Resolves the serve settings.
pub fn serve(
    flags: ServeFlags,
    data_dir: PathBuf,
    file: &FileConfig,
    bootstrap: Bootstrap,
) -> Result<ServeConfig, String> {
    let listen = flags
        .listen
        .or_else(|| file.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    let listen: SocketAddr = listen
        .parse()
        .map_err(|_| format!("listen address '{listen}' is not IP:PORT, e.g. 127.0.0.1:4599"))?;
    if flags.dev_clock && !listen.ip().is_loopback() {
        return Err(format!(
            "--dev-clock lets anyone who can reach the server move its clock; it is allowed only on a loopback address, not {listen}"
        ));
    }
    let regions = flags
        .regions
        .or_else(|| {
            file.region.as_ref().map(|list| match list {
                RegionList::One(one) => vec![one.clone()],
                RegionList::Many(many) => many.clone(),
            })
        })
        .unwrap_or_else(|| vec![DEFAULT_REGION.to_owned()]);
    let regions = regions
        .iter()
        .map(|name| name.trim())
        .filter(|name| !name.is_empty())
        .map(|name| Region::parse(name).map_err(|error| error.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    if regions.is_empty() {
        return Err("at least one region must be served".to_owned());
    }
    let interval = flags
        .scheduler_interval
        .or_else(|| file.scheduler_interval.clone())
        .unwrap_or_else(|| DEFAULT_SCHEDULER_INTERVAL.to_owned());
    let store = store_url(flags.store, file, &data_dir);
    let retention_days = flags.audit_retention_days.or(file.audit_retention_days);
    let key_cache_size = flags
        .key_cache_size
        .or(file.key_cache_size)
        .unwrap_or(DEFAULT_KEY_CACHE_SIZE);
    if key_cache_size == 0 {
        return Err("the key cache must hold at least 1 key".to_owned());
    }
    let tls = match (
        flags.tls_cert.or_else(|| file.tls_cert.clone()),
        flags.tls_key.or_else(|| file.tls_key.clone()),
    ) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        _ => return Err("TLS needs both --tls-cert and --tls-key".to_owned()),
    };
    let duration = |setting: &str, value: Option<String>, default: std::time::Duration| {
        value.map_or(Ok(default), |text| {
            crate::jobs::parse_duration(setting, &text)
        })
    };
    let max_connections = flags
        .max_connections
        .or(file.max_connections)
        .unwrap_or_else(crate::listener::default_max_connections);
    let most = crate::listener::MAX_CONNECTIONS_LIMIT;
    if !(1..=most).contains(&max_connections) {
        return Err(format!(
            "--max-connections must be 1 to {most}, not {max_connections}"
        ));
    }
    let limits = Limits {
        timeouts: Timeouts {
            header_read: duration(
                "header read timeout",
                flags
                    .header_read_timeout
                    .or_else(|| file.header_read_timeout.clone()),
                crate::listener::DEFAULT_HEADER_READ_TIMEOUT,
            )?,
            idle: duration(
                "idle timeout",
                flags.idle_timeout.or_else(|| file.idle_timeout.clone()),
                crate::listener::DEFAULT_IDLE_TIMEOUT,
            )?,
        },
        max_connections,
    };
    let metrics_listen = flags
        .metrics_listen
        .or_else(|| file.metrics_listen.clone())
        .map(|text| {
            text.parse::<SocketAddr>()
                .map_err(|_| format!("metrics listen address '{text}' is not IP:PORT"))
        })
        .transpose()?;
    if retention_days == Some(0) {
        return Err(
            "audit retention must be at least 1 day (leave it unset to keep records forever)"
                .to_owned(),
        );
    }
    Ok(ServeConfig {
        listen,
        data_dir,
        regions,
        store,
        bootstrap,
        body_read_timeout: crate::http::BODY_READ_TIMEOUT,
        scheduler_interval: crate::jobs::parse_interval(&interval)?,
        on_demand_rotation_limit: flags
            .on_demand_rotation_limit
            .or(file.on_demand_rotation_limit)
            .unwrap_or(DEFAULT_ON_DEMAND_ROTATION_LIMIT),
        grants_per_key: flags
            .grants_per_key
            .or(file.grants_per_key)
            .unwrap_or(strongbox_core::kms::DEFAULT_GRANTS_PER_KEY)
            .max(1),
        key_cache_size,
        dev_clock: flags.dev_clock,
        audit_retention: retention_days.map(|days| time::Duration::days(i64::from(days))),
        audit: !flags.without_audit,
        audit_journal: journal_options(
            flags.audit_sync.or_else(|| file.audit_sync.clone()),
            flags
                .audit_sync_interval
                .or_else(|| file.audit_sync_interval.clone()),
            flags
                .audit_segment_size
                .or_else(|| file.audit_segment_size.clone()),
            flags
                .audit_compression
                .or_else(|| file.audit_compression.clone()),
        )?,
        audit_anchor: flags
            .audit_anchor
            .or_else(|| file.audit_anchor.clone())
            .map(|text| crate::audit::anchor::AnchorTarget::parse(&text))
            .transpose()?,
        audit_digest_records: strongbox_core::kms::KmsConfig::default().max_digest_records,
        tls,
        limits,
        metrics_listen,
        quotas: {
            let mut quotas = file.quotas.clone().unwrap_or_default();
            if let Some(profile) = flags.quota_profile {
                quotas.profile = Some(profile);
            }
            // Checked here, so that a bad table stops the start with a clear message.
            crate::quota::Quotas::from_config(&quotas)?;
            quotas
        },
        disk_watermark: flags
            .disk_watermark
            .or_else(|| file.disk_watermark.clone())
            .map_or(Ok(Watermark::Default), |text| Watermark::parse(&text))?,
    })
}

/// The settings of a server that a test, an example or a benchmark starts in its own process:
/// the defaults of `serve` (one Region, SQLite in `data_dir`, audit on), the given address, and
/// known credentials for the default account's first access key.
///
/// # Errors
/// A message when the access key id is not one.
pub fn local(
    listen: SocketAddr,
    data_dir: PathBuf,
    access_key_id: &str,
    secret_access_key: &str,
) -> Result<ServeConfig, String> {
    let account = strongbox_core::model::AccountId::parse(crate::datadir::DEFAULT_ACCOUNT_ID)
        .map_err(|error| error.to_string())?;
    let access_key_id = strongbox_core::model::AccessKeyId::parse(access_key_id)
        .map_err(|error| error.to_string())?;
    let secret = strongbox_crypto::SecretBytes::new(secret_access_key.as_bytes().to_vec());
    serve(
        ServeFlags {
            listen: Some(listen.to_string()),
            ..ServeFlags::default()
        },
        data_dir,
        &FileConfig::default(),
        Bootstrap {
            account,
            fixed_key: Some((access_key_id, secret)),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use strongbox_core::model::AccountId;

    fn bootstrap() -> Bootstrap {
        Bootstrap {
            account: AccountId::parse("111122223333").unwrap(),
            fixed_key: None,
        }
    }

    fn resolve(flags: ServeFlags, file: &FileConfig) -> Result<ServeConfig, String> {
        serve(flags, PathBuf::from("d"), file, bootstrap())
    }

    #[test]
    fn flags_win_over_file_and_file_over_defaults() {
        let file: FileConfig = toml::from_str(
            "listen = \"127.0.0.1:5000\"\nregion = [\"eu-west-1\", \"us-east-1\"]\nstore = \"sqlite:///tmp/x.db\"\nscheduler-interval = \"5m\"\non-demand-rotation-limit = 3\nkey-cache-size = 500\naudit-retention-days = 30",
        )
        .unwrap();
        let from_file = resolve(ServeFlags::default(), &file).unwrap();
        assert_eq!(from_file.listen.port(), 5000);
        assert_eq!(from_file.regions.len(), 2);
        assert_eq!(from_file.store, "sqlite:///tmp/x.db");
        assert_eq!(from_file.scheduler_interval.as_secs(), 300);
        assert_eq!(from_file.on_demand_rotation_limit, 3);
        assert_eq!(from_file.key_cache_size, 500);
        assert_eq!(from_file.audit_retention, Some(time::Duration::days(30)));
        let flags = ServeFlags {
            listen: Some("127.0.0.1:6000".into()),
            regions: Some(vec!["ap-south-1".into()]),
            scheduler_interval: Some("1".into()),
            on_demand_rotation_limit: Some(7),
            key_cache_size: Some(9),
            ..ServeFlags::default()
        };
        let from_flags = resolve(flags, &file).unwrap();
        assert_eq!(from_flags.listen.port(), 6000);
        assert_eq!(from_flags.regions[0].as_str(), "ap-south-1");
        assert_eq!(from_flags.scheduler_interval.as_secs(), 1);
        assert_eq!(from_flags.on_demand_rotation_limit, 7);
        assert_eq!(from_flags.key_cache_size, 9);
        let defaults = resolve(ServeFlags::default(), &FileConfig::default()).unwrap();
        assert_eq!(defaults.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(defaults.store, "sqlite://d/strongbox.db");
        assert_eq!(defaults.scheduler_interval.as_secs(), 60);
        assert_eq!(defaults.on_demand_rotation_limit, 25);
        assert_eq!(defaults.key_cache_size, DEFAULT_KEY_CACHE_SIZE);
        assert!(!defaults.dev_clock);
        assert_eq!(defaults.audit_retention, None);
        assert!(defaults.audit);
    }

    #[test]
    fn bad_values_are_explained() {
        let file = FileConfig::default();
        let bad = [
            ServeFlags {
                listen: Some("nope".into()),
                ..ServeFlags::default()
            },
            ServeFlags {
                key_cache_size: Some(0),
                ..ServeFlags::default()
            },
            ServeFlags {
                regions: Some(vec!["US EAST".into()]),
                ..ServeFlags::default()
            },
            ServeFlags {
                scheduler_interval: Some("0s".into()),
                ..ServeFlags::default()
            },
            ServeFlags {
                audit_retention_days: Some(0),
                ..ServeFlags::default()
            },
            ServeFlags {
                max_connections: Some(0),
                ..ServeFlags::default()
            },
            ServeFlags {
                max_connections: Some(usize::MAX),
                ..ServeFlags::default()
            },
            ServeFlags {
                tls_cert: Some("cert.pem".into()),
                ..ServeFlags::default()
            },
            ServeFlags {
                idle_timeout: Some("0s".into()),
                ..ServeFlags::default()
            },
            ServeFlags {
                disk_watermark: Some("lots".into()),
                ..ServeFlags::default()
            },
            ServeFlags {
                quota_profile: Some("generous".into()),
                ..ServeFlags::default()
            },
            ServeFlags {
                metrics_listen: Some("nowhere".into()),
                ..ServeFlags::default()
            },
        ];
        for flags in bad {
            assert!(resolve(flags, &file).is_err());
        }
        assert!(toml::from_str::<FileConfig>("unknown = 1").is_err());
    }

    #[test]
    fn the_packaged_example_configuration_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/strongbox.toml");
        let file = FileConfig::load(Some(&path)).unwrap();
        let config = resolve(ServeFlags::default(), &file).unwrap();
        assert_eq!(config.listen.port(), 4599);
        assert_eq!(config.quotas.profile.as_deref(), Some("aws"));
        assert_eq!(config.limits.timeouts.idle.as_secs(), 60);
        assert!(config.metrics_listen.is_some());
    }

    #[test]
    fn the_dev_clock_needs_a_loopback_address() {
        let file = FileConfig::default();
        let open = ServeFlags {
            listen: Some("0.0.0.0:4599".into()),
            dev_clock: true,
            ..ServeFlags::default()
        };
        assert!(resolve(open, &file).unwrap_err().contains("loopback"));
        let local = ServeFlags {
            listen: Some("127.0.0.1:4599".into()),
            dev_clock: true,
            ..ServeFlags::default()
        };
        assert!(resolve(local, &file).unwrap().dev_clock);
        let v6 = ServeFlags {
            listen: Some("[::1]:4599".into()),
            dev_clock: true,
            ..ServeFlags::default()
        };
        assert!(resolve(v6, &file).is_ok());
    }
}
