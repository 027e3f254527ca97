//! The Strongbox server: configuration, the HTTP shell, the AWS JSON wire format, one handler per
//! operation, and the admin command line. It is the adapter that wires the KMS core to HTTP, the
//! SQLite store and the file seal; nothing below it knows about HTTP or the wire format.
#![forbid(unsafe_code)]

pub mod admin_socket;
pub mod api;
pub mod app;
pub mod audit;
pub mod certs;
pub mod cli;
pub mod cli_iam;
pub mod config;
pub mod datadir;
pub mod disk;
pub mod hardening;
pub mod http;
pub mod jobs;
pub mod listener;
pub mod output;
pub mod query;
pub mod quota;
pub mod seal_setup;
pub mod shares;
pub mod telemetry;
pub mod wire;
