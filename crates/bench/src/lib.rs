//! `strongbox-bench`: a load generator for Strongbox and any other AWS KMS endpoint, and the
//! bare-HTTP baseline server it is compared with (`strongbox-baseline`).
//!
//! The generator sends real SigV4-signed AWS JSON 1.1 requests over HTTP/1.1 keep-alive, one
//! connection per concurrent worker, checks every answer (and undoes a sample of them: decrypts
//! what was encrypted, verifies what was signed), and reports req/s and latency percentiles, plus
//! the server's CPU time per request when given its process id. See `docs/performance.md`.

pub mod baseline;
pub mod cli;
pub mod client;
pub mod error;
pub mod procstat;
pub mod report;
pub mod run;
pub mod stats;
pub mod workload;
