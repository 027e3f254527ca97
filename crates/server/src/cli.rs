//! The command line: `serve` and the admin commands, which work on the same data directory
//! whether or not the server is running (SQLite in WAL mode allows it).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use strongbox_core::model::{AccessKeyId, AccountId};

use crate::config::{self, FileConfig};
use crate::datadir::{self, OpenMode};
use crate::output::{self, CliError, Table};

/// Strongbox: a self-hosted key management service with the AWS KMS API.
#[derive(Debug, Parser)]
#[command(name = "strongbox", version, about)]
pub struct Cli {
    /// Data directory (root key, SQLite store, credentials).
    #[arg(long, global = true, env = "STRONGBOX_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// TOML configuration file.
    #[arg(long, global = true, env = "STRONGBOX_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log lines (on stderr) as text for people or JSON objects for log shippers.
    #[arg(
        long,
        global = true,
        env = "STRONGBOX_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `fields`).
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (initialises the data directory on first start).
    Serve(Box<ServeArgs>),
    /// Manage tenant accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage access keys.
    #[command(subcommand, name = "access-key")]
    AccessKey(AccessKeyCommand),
    /// Manage IAM users of an account.
    #[command(subcommand)]
    User(crate::cli_iam::UserCommand),
    /// Manage IAM roles of an account.
    #[command(subcommand)]
    Role(crate::cli_iam::RoleCommand),
    /// The audit trail: public key, digests, export and verification.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// TLS certificates.
    #[command(subcommand)]
    Tls(TlsCommand),
    /// Choose the seal that holds the root key, before the first `serve` (without it, `serve`
    /// makes a root key file).
    Init {
        /// `file` (a root key file: the default), `passphrase` (the root key wrapped under an
        /// Argon2id-derived key; the passphrase from STRONGBOX_PASSPHRASE_FILE or a prompt),
        /// `shamir` (wrapped under a key split into shares, printed once; the server starts
        /// sealed).
        #[arg(long, value_enum, default_value_t = SealKind::File)]
        seal: SealKind,
        /// Shamir: shares to make.
        #[arg(long, default_value_t = 5)]
        shares: u8,
        /// Shamir: shares needed to unseal.
        #[arg(long, default_value_t = 3)]
        threshold: u8,
        /// Shamir: write each share to its own file (mode 0600) in this directory instead of
        /// printing them.
        #[arg(long, value_name = "DIR")]
        share_dir: Option<PathBuf>,
        /// Shamir: encrypt share N to the N-th of these age public keys (`age1...`, once per
        /// share, in order; needs --share-dir), so that no share rests in plaintext here.
        #[arg(long = "share-recipient", value_name = "AGE_PUBLIC_KEY", value_parser = crate::shares::parse_recipient)]
        share_recipients: Vec<crate::shares::ShareRecipient>,
        /// PKCS#11: the module (e.g. /usr/lib/softhsm/libsofthsm2.so, or the HSM vendor's).
        #[arg(long, value_name = "PATH", required_if_eq("seal", "pkcs11"))]
        pkcs11_module: Option<PathBuf>,
        /// PKCS#11: the token's label (the user PIN comes from STRONGBOX_PKCS11_PIN_FILE or
        /// STRONGBOX_PKCS11_PIN).
        #[arg(long, value_name = "LABEL", required_if_eq("seal", "pkcs11"))]
        pkcs11_token_label: Option<String>,
        /// PKCS#11: the label of the AES key that wraps the root key (generated on the token,
        /// non-extractable, when none has it).
        #[arg(long, value_name = "LABEL", default_value = "strongbox-root-wrap")]
        pkcs11_key_label: String,
        /// Move an existing file seal's root key (`root.key`) under the chosen seal and remove
        /// `root.key` (stop the server first); then run `strongbox operator rotate-root`.
        #[arg(long)]
        convert: bool,
    },
    /// The root of trust: unseal, status, root key rotation, rekey.
    #[command(subcommand)]
    Operator(OperatorCommand),
}

/// The seals `init` can make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SealKind {
    /// A root key file, `<data-dir>/root.key`.
    File,
    /// The root key wrapped under a passphrase (Argon2id).
    Passphrase,
    /// The root key wrapped under a key split into Shamir shares.
    Shamir,
    /// The root key wrapped by an AES key on a PKCS#11 token (an HSM).
    Pkcs11,
}

/// `operator` subcommands.
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Hand a running, sealed server the passphrase or one share (read from
    /// STRONGBOX_PASSPHRASE_FILE, a prompt, or standard input).
    Unseal,
    /// Where the running server's seal stands.
    Status,
    /// Change the passphrase, or make a new set of shares, without changing the root key (the
    /// server must be stopped; the current secret is asked for first, then the new one:
    /// STRONGBOX_NEW_PASSPHRASE_FILE or a prompt).
    Rekey {
        /// Shamir: shares to make [default: as before].
        #[arg(long)]
        shares: Option<u8>,
        /// Shamir: shares needed [default: as before].
        #[arg(long)]
        threshold: Option<u8>,
        /// Shamir: write each new share to its own file in this directory.
        #[arg(long, value_name = "DIR")]
        share_dir: Option<PathBuf>,
        /// Shamir: encrypt new share N to the N-th of these age public keys (needs
        /// --share-dir).
        #[arg(long = "share-recipient", value_name = "AGE_PUBLIC_KEY", value_parser = crate::shares::parse_recipient)]
        share_recipients: Vec<crate::shares::ShareRecipient>,
    },
    /// Make a new root key, seal every account's key-encryption key and the service's secrets
    /// again under it, and destroy the old one. Safe while the server runs (it follows within
    /// a second); resumes an interrupted rotation. Backups of the database made before it
    /// need the old root key, which is gone.
    RotateRoot,
}

/// `tls` subcommands.
#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Write a private CA (ca.pem) and a server certificate it signs (server.pem, server.key)
    /// for `serve --tls-cert DIR/server.pem --tls-key DIR/server.key`; clients trust ca.pem.
    SelfSigned {
        /// The directory to write to (created if needed; existing files are kept).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// A DNS name or IP address the server is reached at (repeatable) [default: localhost
        /// and 127.0.0.1].
        #[arg(long = "host", value_name = "NAME")]
        hosts: Vec<String>,
    },
}

/// `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the audit public key (PEM) that digests are signed with.
    PublicKey,
    /// Write a digest now for every chain, covering everything recorded so far.
    Digest {
        /// Only this account's chains.
        #[arg(long)]
        account: Option<String>,
    },
    /// Write CloudTrail-style log and digest files (gzip JSON) in CloudTrail's folder layout.
    Export {
        /// The directory to write to.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Only this account.
        #[arg(long)]
        account: Option<String>,
        /// Only digests ending at or after this time (RFC 3339 or Unix seconds).
        #[arg(long, value_name = "TIME")]
        start: Option<String>,
        /// Only digests starting at or before this time (RFC 3339 or Unix seconds).
        #[arg(long, value_name = "TIME")]
        end: Option<String>,
    },
    /// Check an export (--dir) or the live store for changed, added, removed, reordered or
    /// truncated records and files. Exits non-zero on any finding.
    Verify {
        /// An export directory [default: the live store of --data-dir].
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// The trusted public key (PEM) [default: the one sealed in --data-dir].
        #[arg(long, value_name = "FILE")]
        public_key: Option<PathBuf>,
        /// Anchors fetched from outside the host (the lines `serve --audit-anchor` delivered):
        /// every anchored digest must be in the trail unchanged, else the trail was rolled
        /// back, cut or forked.
        #[arg(long, value_name = "FILE")]
        anchor: Option<PathBuf>,
    },
}

/// Flags of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:4599].
    #[arg(long, env = "STRONGBOX_LISTEN", value_name = "IP:PORT")]
    pub listen: Option<String>,
    /// Regions served, comma-separated [default: us-east-1].
    #[arg(
        long,
        env = "STRONGBOX_REGION",
        value_delimiter = ',',
        value_name = "REGIONS"
    )]
    pub region: Option<Vec<String>>,
    /// Store URL [default: sqlite://<data-dir>/strongbox.db].
    #[arg(long, env = "STRONGBOX_STORE", value_name = "URL")]
    pub store: Option<String>,
    /// How often scheduled rotations and deletions run: seconds, or 30s, 5m, 1h [default: 60s].
    #[arg(long, env = "STRONGBOX_SCHEDULER_INTERVAL", value_name = "INTERVAL")]
    pub scheduler_interval: Option<String>,
    /// On-demand rotations allowed per key [default: 25, as AWS].
    #[arg(long, env = "STRONGBOX_ON_DEMAND_ROTATION_LIMIT", value_name = "N")]
    pub on_demand_rotation_limit: Option<u32>,
    /// Grants allowed per key [default: 50000, as AWS].
    #[arg(long, env = "STRONGBOX_GRANTS_PER_KEY", value_name = "N")]
    pub grants_per_key: Option<u32>,
    /// Keys kept in memory with their unsealed current material, about 400 bytes each
    /// [default: 1000000].
    #[arg(long, env = "STRONGBOX_KEY_CACHE_SIZE", value_name = "KEYS")]
    pub key_cache_size: Option<usize>,
    /// Enable POST /_strongbox/clock, which moves the server's clock forward (for lifecycle
    /// tests; loopback addresses only).
    #[arg(long, env = "STRONGBOX_DEV_CLOCK")]
    pub dev_clock: bool,
    /// Delete audit records older than this many days, keeping the chain verifiable through a
    /// signed checkpoint [default: keep forever].
    #[arg(long, env = "STRONGBOX_AUDIT_RETENTION_DAYS", value_name = "DAYS")]
    pub audit_retention_days: Option<u32>,
    /// Serve TLS with this certificate chain (PEM); needs --tls-key. Reloaded on SIGHUP.
    #[arg(long, env = "STRONGBOX_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "STRONGBOX_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// How long a request head or TLS handshake may take [default: 10s].
    #[arg(long, env = "STRONGBOX_HEADER_READ_TIMEOUT", value_name = "DURATION")]
    pub header_read_timeout: Option<String>,
    /// How long a keep-alive connection may wait for its next request [default: 60s].
    #[arg(long, env = "STRONGBOX_IDLE_TIMEOUT", value_name = "DURATION")]
    pub idle_timeout: Option<String>,
    /// Connections open at once; more wait in the kernel backlog [default: the open-file limit
    /// less what the store needs].
    #[arg(long, env = "STRONGBOX_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Serve GET /metrics (Prometheus) on this address instead of the main listener, e.g. a
    /// loopback or management address.
    #[arg(long, env = "STRONGBOX_METRICS_LISTEN", value_name = "IP:PORT")]
    pub metrics_listen: Option<String>,
    /// Report the server degraded below this much free space on the data directory's disk:
    /// a share (5%) or a size (512MiB, 1GiB) [default: the smaller of 1GiB and 5%].
    #[arg(long, env = "STRONGBOX_DISK_WATERMARK", value_name = "SIZE")]
    pub disk_watermark: Option<String>,
    /// Per-account request quotas: `aws` applies AWS KMS's default rates to every account,
    /// `off` none (accounts' own quotas come from the file's [quotas] table) [default: off].
    #[arg(long = "quotas", env = "STRONGBOX_QUOTAS", value_name = "PROFILE")]
    pub quota_profile: Option<String>,
    /// When audit records reach stable storage: `interval` answers read-only calls once their
    /// record is written and syncs within --audit-sync-interval (calls that change state wait
    /// for the sync); `always` makes every call wait for its sync [default: interval].
    #[arg(long, env = "STRONGBOX_AUDIT_SYNC", value_name = "MODE")]
    pub audit_sync: Option<String>,
    /// The longest a written audit record waits for its sync (1ms to 10s) [default: 10ms].
    #[arg(long, env = "STRONGBOX_AUDIT_SYNC_INTERVAL", value_name = "DURATION")]
    pub audit_sync_interval: Option<String>,
    /// The size at which the audit journal starts a new segment [default: 64MiB].
    #[arg(long, env = "STRONGBOX_AUDIT_SEGMENT_SIZE", value_name = "SIZE")]
    pub audit_segment_size: Option<String>,
    /// How sealed audit segments are stored: `none` or `gzip` [default: none].
    #[arg(long, env = "STRONGBOX_AUDIT_COMPRESSION", value_name = "KIND")]
    pub audit_compression: Option<String>,
    /// Anchor each new digest's head outside the host, signed: `file:/path` appends it to a
    /// file (on another mount, made append-only), `command:/path` hands it to a program on
    /// its standard input. `strongbox audit verify --anchor` then detects a rolled-back data
    /// directory [default: none].
    #[arg(long, env = "STRONGBOX_AUDIT_ANCHOR", value_name = "TARGET")]
    pub audit_anchor: Option<String>,
    /// Record nothing: only to measure what the audit trail costs. Never for real use.
    #[arg(long, hide = true)]
    pub benchmark_without_audit: bool,
}

/// `account` subcommands.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account and print its id.
    Create {
        /// A human-readable name.
        #[arg(long)]
        name: String,
        /// A 12-digit id [default: random].
        #[arg(long)]
        id: Option<String>,
    },
    /// List accounts.
    List,
    /// Delete an account with its keys, identities, access keys and key-encryption key (its
    /// audit trail stays).
    Delete {
        /// The account's 12-digit id.
        #[arg(long)]
        account: String,
        /// Also rotate the root key, so that no earlier copy of the database (a backup) can
        /// recover the account's keys. Such copies become unreadable for every account.
        #[arg(long)]
        crypto_shred: bool,
    },
}

/// `access-key` subcommands.
#[derive(Debug, Subcommand)]
pub enum AccessKeyCommand {
    /// Create an access key and print it once, in aws credentials-file form.
    Create {
        /// The owning account id.
        #[arg(long)]
        account: String,
        /// The IAM user the key belongs to (it must exist: `strongbox user create`).
        #[arg(long, default_value = "admin")]
        user: String,
    },
    /// List an account's access keys (never their secrets).
    List {
        /// The owning account id.
        #[arg(long)]
        account: String,
    },
    /// Delete an access key.
    Delete {
        /// The owning account id.
        #[arg(long)]
        account: String,
        /// The access key id.
        access_key_id: String,
    },
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let file = FileConfig::load(cli.config.as_deref())?;
    let data_dir = config::data_dir(cli.data_dir, &file);
    match cli.command {
        Command::Serve(args) => {
            let bootstrap = datadir::Bootstrap::from_env()?;
            let flags = config::ServeFlags {
                listen: args.listen,
                regions: args.region,
                store: args.store,
                scheduler_interval: args.scheduler_interval,
                on_demand_rotation_limit: args.on_demand_rotation_limit,
                grants_per_key: args.grants_per_key,
                key_cache_size: args.key_cache_size,
                dev_clock: args.dev_clock,
                audit_retention_days: args.audit_retention_days,
                without_audit: args.benchmark_without_audit,
                audit_sync: args.audit_sync,
                audit_sync_interval: args.audit_sync_interval,
                audit_segment_size: args.audit_segment_size,
                audit_compression: args.audit_compression,
                audit_anchor: args.audit_anchor,
                tls_cert: args.tls_cert,
                tls_key: args.tls_key,
                header_read_timeout: args.header_read_timeout,
                idle_timeout: args.idle_timeout,
                max_connections: args.max_connections,
                metrics_listen: args.metrics_listen,
                disk_watermark: args.disk_watermark,
                quota_profile: args.quota_profile,
            };
            let config = config::serve(flags, data_dir, &file, bootstrap)?;
            Ok(crate::app::serve(config).await?)
        }
        Command::Account(command) => {
            // A crypto-shred rotates the root key: one rotation or rekey at a time.
            let _root = matches!(
                command,
                AccountCommand::Delete {
                    crypto_shred: true,
                    ..
                }
            )
            .then(|| crate::datadir::lock_root_keys(&data_dir))
            .transpose()?;
            on_store(&data_dir, &file, command, account).await
        }
        Command::Operator(command) => operator(command, &data_dir, &file).await,
        Command::Init {
            seal,
            shares,
            threshold,
            share_dir,
            share_recipients,
            pkcs11_module,
            pkcs11_token_label,
            pkcs11_key_label,
            convert,
        } => {
            if seal == SealKind::Shamir {
                crate::shares::check(Some(shares), share_dir.as_deref(), &share_recipients)?;
            } else if !share_recipients.is_empty() {
                return Err("--share-recipient is for the shamir seal".into());
            }
            let choice = match seal {
                SealKind::File => crate::seal_setup::InitSeal::File,
                SealKind::Passphrase => crate::seal_setup::InitSeal::Passphrase,
                SealKind::Shamir => crate::seal_setup::InitSeal::Shamir { shares, threshold },
                SealKind::Pkcs11 => crate::seal_setup::InitSeal::Pkcs11 {
                    module: pkcs11_module.ok_or("--pkcs11-module is required")?,
                    token_label: pkcs11_token_label.ok_or("--pkcs11-token-label is required")?,
                    key_label: pkcs11_key_label,
                },
            };
            if convert {
                let _serving = crate::datadir::lock_for_serving(&data_dir)
                    .map_err(|error| format!("{error}: stop it to convert its seal"))?;
                let _root = crate::datadir::lock_root_keys(&data_dir)?;
                let made = crate::seal_setup::convert(&data_dir, choice)?;
                crate::shares::hand_out(&made.shares, share_dir.as_deref(), &share_recipients)?;
                made.commit()?;
                return output::println(format_args!(
                    "converted {} to the {} seal and removed root.key; now run `strongbox operator rotate-root --data-dir {}`, so that copies of the old root.key (backups) open nothing new",
                    data_dir.display(),
                    seal_name(seal),
                    data_dir.display()
                ));
            }
            let made = crate::seal_setup::init(&data_dir, choice)?;
            crate::shares::hand_out(&made.shares, share_dir.as_deref(), &share_recipients)?;
            made.commit()?;
            output::println(format_args!(
                "initialised {} with the {} seal; start it with: strongbox serve --data-dir {}",
                data_dir.display(),
                seal_name(seal),
                data_dir.display()
            ))
        }
        Command::AccessKey(command) => on_store(&data_dir, &file, command, access_key).await,
        Command::User(command) => on_store(&data_dir, &file, command, crate::cli_iam::user).await,
        Command::Role(command) => on_store(&data_dir, &file, command, crate::cli_iam::role).await,
        Command::Audit(command) => audit(command, &data_dir, &file).await,
        Command::Tls(TlsCommand::SelfSigned { out, hosts }) => {
            let written = crate::certs::self_signed(&out, &hosts)?;
            output::println(format_args!(
                "wrote {ca} (trust it: aws --ca-bundle {ca}, or AWS_CA_BUNDLE={ca}),\n      {cert} and {key}\nserve with: strongbox serve --tls-cert {cert} --tls-key {key}",
                ca = written.ca.display(),
                cert = written.cert.display(),
                key = written.key.display(),
            ))
        }
    }
}

async fn audit(
    command: AuditCommand,
    data_dir: &std::path::Path,
    file: &FileConfig,
) -> Result<(), CliError> {
    use crate::audit::{self, files};
    match command {
        AuditCommand::PublicKey => {
            let kms = admin_kms(data_dir, file).await?;
            let key = kms.audit_public_key().await.map_err(audit::detail);
            kms.close().await;
            output::print(files::pem(&key?))
        }
        AuditCommand::Digest { account } => {
            let account = account.as_deref().map(account_id).transpose()?;
            let kms = admin_kms(data_dir, file).await?;
            let written = match existing(&kms, account.as_ref()).await {
                Ok(()) => audit::digest_now(&kms, account.as_ref()).await,
                Err(error) => Err(error),
            };
            kms.close().await;
            for (_, _, object) in written? {
                output::println(object)?;
            }
            Ok(())
        }
        AuditCommand::Export {
            out,
            account,
            start,
            end,
        } => {
            let request = audit::export::ExportRequest {
                account: account.as_deref().map(account_id).transpose()?,
                start: start.as_deref().map(files::parse_time).transpose()?,
                end: end.as_deref().map(files::parse_time).transpose()?,
            };
            let kms = admin_kms(data_dir, file).await?;
            let summary = match existing(&kms, request.account.as_ref()).await {
                Ok(()) => audit::export::export(&kms, &out, &request).await,
                Err(error) => Err(error),
            };
            kms.close().await;
            let summary = summary?;
            for object in &summary.mismatches {
                output::warn(format_args!(
                    "warning: {object}: the stored records no longer match their signed digest; `strongbox audit verify` will report it"
                ));
            }
            output::println(format_args!(
                "exported {} chains: {} digests, {} log files, {} records to {}",
                summary.chains,
                summary.digests,
                summary.log_files,
                summary.records,
                out.display()
            ))
        }
        AuditCommand::Verify {
            dir,
            public_key,
            anchor,
        } => verify(dir, public_key, anchor, data_dir, file).await,
    }
}

async fn verify(
    dir: Option<PathBuf>,
    public_key: Option<PathBuf>,
    anchor: Option<PathBuf>,
    data_dir: &std::path::Path,
    file: &FileConfig,
) -> Result<(), CliError> {
    use crate::audit::files;
    let given = public_key
        .map(|path| {
            std::fs::read(&path)
                .map_err(|error| format!("cannot read {}: {error}", path.display()))
                .and_then(|content| files::parse_public_key(&content))
        })
        .transpose()?;
    let anchors = anchor
        .map(|path| {
            std::fs::read(&path)
                .map(|content| (path.display().to_string(), content))
                .map_err(|error| format!("cannot read {}: {error}", path.display()))
        })
        .transpose()?;
    let kms = if given.is_none() || dir.is_none() {
        Some(admin_kms(data_dir, file).await?)
    } else {
        None
    };
    let report = check(dir.as_deref(), given, anchors, kms.as_deref()).await;
    if let Some(kms) = &kms {
        kms.close().await;
    }
    let report = report?;
    // A reader that stopped reading must not turn a failed verification into success: the
    // outcome is decided by the findings, whatever could be printed.
    let lines = report
        .notes
        .iter()
        .map(|note| format!("note: {note}"))
        .chain(report.findings.iter().map(|f| format!("FAILED {f}")));
    let mut printed = Ok(());
    for line in lines {
        printed = output::println(line);
        if printed.is_err() {
            break;
        }
    }
    let summary = format!(
        "{} digests, {} log files, {} records checked",
        report.digests, report.log_files, report.records
    );
    if report.findings.is_empty() {
        printed.and_then(|()| output::println(format_args!("OK: {summary}")))
    } else {
        let count = report.findings.len();
        let problems = if count == 1 { "problem" } else { "problems" };
        Err(format!("audit verification failed: {count} {problems}; {summary}").into())
    }
}

/// Runs the check: `kms` is open whenever `dir` or `given` is missing.
async fn check(
    dir: Option<&std::path::Path>,
    given: Option<Vec<u8>>,
    anchors: Option<(String, Vec<u8>)>,
    kms: Option<&strongbox_core::Kms>,
) -> Result<strongbox_core::audit::verify::Report, String> {
    use crate::audit::{self, files};
    let store = || kms.ok_or("no data directory is open to verify with: pass --data-dir");
    let trusted = match given {
        Some(key) => key,
        None => store()?
            .existing_audit_public_key()
            .await
            .map_err(audit::detail)?
            .ok_or("this data directory has no audit signing key yet: no digest was ever written, so there is nothing signed to check")?,
    };
    match dir {
        Some(dir) => {
            if let Ok(exported) = std::fs::read(dir.join(files::PUBLIC_KEY_FILE))
                && files::parse_public_key(&exported).ok().as_deref() != Some(trusted.as_slice())
            {
                output::warn(format_args!(
                    "warning: {} differs from the trusted public key; it is ignored",
                    files::PUBLIC_KEY_FILE
                ));
            }
            audit::verify::verify_export_seen(dir, &trusted)
        }
        None => audit::verify::verify_store_seen(store()?, &trusted).await,
    }
    .map(|(mut report, live)| {
        if let Some((source, content)) = anchors {
            audit::anchor::check(
                &source,
                &content,
                &trusted,
                &live,
                dir.is_some(),
                &mut report,
            );
        }
        report
    })
}

async fn admin_kms(
    data_dir: &std::path::Path,
    file: &FileConfig,
) -> Result<std::sync::Arc<strongbox_core::Kms>, String> {
    let store = config::store_url(std::env::var("STRONGBOX_STORE").ok(), file, data_dir);
    datadir::open(data_dir, &store, OpenMode::MustExist).await
}

pub(crate) fn account_id(value: &str) -> Result<AccountId, String> {
    AccountId::parse(value).map_err(|error| error.to_string())
}

/// Refuses an account that does not exist, as every admin command does.
async fn existing(kms: &strongbox_core::Kms, account: Option<&AccountId>) -> Result<(), String> {
    match account {
        Some(account) => kms
            .account(account)
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        None => Ok(()),
    }
}

/// Runs `run` on the data directory's KMS and closes the store whatever the outcome.
async fn on_store<C>(
    data_dir: &std::path::Path,
    file: &FileConfig,
    command: C,
    run: impl AsyncFnOnce(C, &strongbox_core::Kms) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let kms = admin_kms(data_dir, file).await?;
    let result = run(command, &kms).await;
    kms.close().await;
    result
}

async fn account(command: AccountCommand, kms: &strongbox_core::Kms) -> Result<(), CliError> {
    match command {
        AccountCommand::Create { name, id } => {
            let id = id.as_deref().map(account_id).transpose()?;
            let account = kms
                .create_account(&name, id)
                .await
                .map_err(|e| e.to_string())?;
            output::println(account.id)
        }
        AccountCommand::List => {
            let mut table = Table::new(&["ACCOUNT", "CREATED", "NAME"]);
            for account in kms.list_accounts().await.map_err(|e| e.to_string())? {
                table.row([
                    account.id.to_string(),
                    rfc3339(account.created_at),
                    account.name,
                ]);
            }
            output::print(table)
        }
        AccountCommand::Delete {
            account,
            crypto_shred,
        } => {
            let account = account_id(&account)?;
            let deleted = kms
                .delete_account(&account, crypto_shred)
                .await
                .map_err(crate::datadir::detail)?;
            match (deleted, crypto_shred) {
                (false, false) => Err(format!("account {account} does not exist").into()),
                (false, true) => output::println(format!(
                    "account {account} does not exist (any more); the root key was rotated anyway, so no copy of the database made before this rotation opens with the new one"
                )),
                (true, true) => output::println(format!(
                    "account {account} deleted and crypto-shredded: its key-encryption key is gone and the root key was rotated (destroy older copies of the root key too: root.key backups, or old root.sealed copies with their secret)"
                )),
                (true, false) => output::println(format!("account {account} deleted")),
            }
        }
    }
}

async fn operator(
    command: OperatorCommand,
    data_dir: &std::path::Path,
    file: &FileConfig,
) -> Result<(), CliError> {
    use crate::admin_socket::{Request, call};
    match command {
        OperatorCommand::RotateRoot => {
            let _root = crate::datadir::lock_root_keys(data_dir)?;
            on_store(data_dir, file, (), rotate_root).await
        }
        OperatorCommand::Status => {
            let answer = call(data_dir, &Request::Status).await?;
            print_unseal_answer(answer)
        }
        OperatorCommand::Unseal => {
            let status = call(data_dir, &Request::Status).await?;
            let prompt = match status.status.as_ref() {
                Some(status) if !status.sealed => {
                    return print_unseal_answer(status_answer(status));
                }
                Some(status) if status.seal == "shamir" => "Share: ",
                _ => "Passphrase: ",
            };
            let secret = match crate::seal_setup::passphrase_from_env()? {
                Some(secret) if prompt == "Passphrase: " => secret,
                _ => crate::seal_setup::read_secret(prompt)?,
            };
            let secret = String::from_utf8(secret.expose().to_vec())
                .map_err(|_| "the secret is not UTF-8 text")?;
            let answer = call(data_dir, &Request::Unseal { secret }).await?;
            print_unseal_answer(answer)
        }
        OperatorCommand::Rekey {
            shares,
            threshold,
            share_dir,
            share_recipients,
        } => {
            crate::shares::check(shares, share_dir.as_deref(), &share_recipients)?;
            let _lock = crate::datadir::lock_for_serving(data_dir).map_err(|error| {
                format!("{error}: stop it to rekey, then start and unseal it with the new secret")
            })?;
            let _root = crate::datadir::lock_root_keys(data_dir)?;
            let made = crate::seal_setup::rekey(data_dir, shares, threshold)?;
            crate::shares::hand_out(&made.shares, share_dir.as_deref(), &share_recipients)?;
            made.commit()?;
            output::println("rekeyed: the root key is unchanged; the old secret no longer opens it")
        }
    }
}

async fn rotate_root((): (), kms: &strongbox_core::Kms) -> Result<(), CliError> {
    let done = kms.rotate_root().await.map_err(crate::datadir::detail)?;
    output::println(format!(
        "root key rotated: {} account keys and {} service values sealed again; the old root key is destroyed",
        done.account_keys, done.service_values
    ))
}

fn status_answer(status: &crate::seal_setup::UnsealStatus) -> crate::admin_socket::Answer {
    crate::admin_socket::Answer {
        status: Some(status.clone()),
        error: None,
    }
}

/// Prints where the seal stands, or the server's refusal (an error).
fn print_unseal_answer(answer: crate::admin_socket::Answer) -> Result<(), CliError> {
    if let Some(error) = answer.error {
        return Err(error.into());
    }
    let status = answer.status.ok_or("the server answered nothing")?;
    match (status.sealed, status.shares_held, status.threshold) {
        (false, _, _) => output::println(format_args!("unsealed ({} seal)", status.seal)),
        (true, Some(have), Some(need)) => output::println(format_args!(
            "sealed ({} seal): {have} of {need} shares held; {} more needed",
            status.seal,
            need - have
        )),
        (true, _, _) => output::println(format_args!("sealed ({} seal)", status.seal)),
    }
}

fn seal_name(seal: SealKind) -> &'static str {
    match seal {
        SealKind::File => "file",
        SealKind::Passphrase => "passphrase",
        SealKind::Shamir => "shamir",
        SealKind::Pkcs11 => "pkcs11",
    }
}

async fn access_key(command: AccessKeyCommand, kms: &strongbox_core::Kms) -> Result<(), CliError> {
    match command {
        AccessKeyCommand::Create { account, user } => {
            let account = account_id(&account)?;
            let key = kms
                .create_access_key(&account, &user, None)
                .await
                .map_err(|e| e.to_string())?;
            let region = strongbox_core::model::Region::parse(config::DEFAULT_REGION)
                .map_err(|e| e.to_string())?;
            let profile = datadir::profile_name(&key.key);
            let text = datadir::credentials_text(&profile, &key, &region);
            // The secret is shown once: a key whose secret nobody saw must not stay usable.
            if let Err(error) = output::print(text) {
                let undone = kms.delete_access_key(&account, &key.key.id).await;
                return Err(CliError::Failed(match undone {
                    Ok(()) => format!(
                        "the access key was not kept: its secret could not be written out ({error})"
                    ),
                    Err(undo) => format!(
                        "the secret of access key {} could not be written out ({error}), and deleting the key failed ({undo}): delete it with `strongbox access-key delete --account {account} {}`",
                        key.key.id, key.key.id
                    ),
                }));
            }
            output::warn(format_args!(
                "Append this to a credentials file (e.g. `>> ~/.aws/credentials`) and use it with `--profile {profile}` or AWS_PROFILE={profile}."
            ));
            Ok(())
        }
        AccessKeyCommand::List { account } => {
            let account = account_id(&account)?;
            let mut table = Table::new(&["ACCESS KEY ID", "STATUS", "CREATED", "USER"]);
            for key in kms
                .list_access_keys(&account)
                .await
                .map_err(|e| e.to_string())?
            {
                table.row([
                    key.id.to_string(),
                    format!("{:?}", key.status),
                    rfc3339(key.created_at),
                    key.user,
                ]);
            }
            output::print(table)
        }
        AccessKeyCommand::Delete {
            account,
            access_key_id,
        } => {
            let account = account_id(&account)?;
            let id = AccessKeyId::parse(&access_key_id).map_err(|e| e.to_string())?;
            kms.delete_access_key(&account, &id)
                .await
                .map_err(|e| e.to_string())?;
            output::println(format_args!("deleted {id}"))
        }
    }
}

pub(crate) fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}
