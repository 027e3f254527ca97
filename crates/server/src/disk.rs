//! The data directory's free space, watched: below a watermark the server reports itself
//! degraded (`/health`, `/ready`, a metric, one log line a minute) while writes still succeed,
//! so that an operator hears of a filling disk before requests start to fail.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use strongbox_core::log_throttle::LogThrottle;

use crate::telemetry;

/// How often the free space is measured between `/health` and `/ready` calls.
const CHECK_INTERVAL: Duration = Duration::from_secs(10);
/// The default watermark's two bounds: the smaller of them applies.
const DEFAULT_BYTES: u64 = 1 << 30;
const DEFAULT_PERCENT: u64 = 5;

/// Below how much free space the server reports itself degraded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watermark {
    /// A number of bytes.
    Bytes(u64),
    /// A share of the filesystem's size.
    Percent(u8),
    /// The smaller of 1 GiB and 5% of the filesystem (a large disk warns at 1 GiB, a small
    /// volume at 5%).
    Default,
}

impl Watermark {
    /// Parses `5%`, `512MiB`, `1GiB`, `100MB`, `2GB` or a plain number of bytes.
    ///
    /// # Errors
    /// A message saying what is accepted.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let unclear =
            || format!("disk watermark '{text}': use a share (5%) or a size (512MiB, 1GiB, 100MB)");
        if let Some(percent) = text.strip_suffix('%') {
            return match percent.trim().parse::<u8>() {
                Ok(share) if (1..=99).contains(&share) => Ok(Watermark::Percent(share)),
                _ => Err(unclear()),
            };
        }
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let scale: u64 = match unit.trim() {
            "" | "B" => 1,
            "KB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            "TB" => 1_000_000_000_000,
            "TiB" => 1 << 40,
            _ => return Err(unclear()),
        };
        number
            .parse::<u64>()
            .ok()
            .and_then(|count| count.checked_mul(scale))
            .map(Watermark::Bytes)
            .ok_or_else(unclear)
    }

    /// The watermark in bytes on a filesystem of `total` bytes.
    pub fn bytes(self, total: u64) -> u64 {
        match self {
            Watermark::Bytes(bytes) => bytes,
            Watermark::Percent(share) => total / 100 * u64::from(share),
            Watermark::Default => DEFAULT_BYTES.min(total / 100 * DEFAULT_PERCENT),
        }
    }
}

/// The free space of the data directory's filesystem and whether it is below the watermark.
#[derive(Debug)]
pub struct Disk {
    dir: PathBuf,
    watermark: Watermark,
    low: AtomicBool,
    free: AtomicU64,
}

/// While the disk is low, one log line a minute.
static LOW: LogThrottle = LogThrottle::new(Duration::from_secs(60));

impl Disk {
    /// Watches the filesystem of `dir`.
    pub fn new(dir: PathBuf, watermark: Watermark) -> Arc<Self> {
        Arc::new(Self {
            dir,
            watermark,
            low: AtomicBool::new(false),
            free: AtomicU64::new(u64::MAX),
        })
    }

    /// Measures now; returns whether the free space is below the watermark. A filesystem that
    /// cannot be measured counts as low.
    pub fn check(&self) -> bool {
        let (free, total) = match rustix::fs::statvfs(&self.dir) {
            Ok(stats) => (
                stats.f_bavail.saturating_mul(stats.f_frsize),
                stats.f_blocks.saturating_mul(stats.f_frsize),
            ),
            Err(error) => {
                if LOW.allow().is_some() {
                    tracing::warn!(dir = %self.dir.display(), %error, "cannot measure the data directory's free space");
                }
                self.low.store(true, Ordering::Relaxed);
                return true;
            }
        };
        let watermark = self.watermark.bytes(total);
        let low = free < watermark;
        self.free.store(free, Ordering::Relaxed);
        self.low.store(low, Ordering::Relaxed);
        #[allow(clippy::cast_precision_loss)] // a gauge: precision beyond 2^53 bytes is moot
        metrics::gauge!(telemetry::FREE_DISK_BYTES).set(free as f64);
        if low && LOW.allow().is_some() {
            tracing::warn!(
                dir = %self.dir.display(),
                free_bytes = free,
                watermark_bytes = watermark,
                "the data directory's disk is nearly full: free space before writes start to fail"
            );
        }
        low
    }

    /// Why the server is degraded, if the disk is low (as last measured).
    pub fn reason(&self) -> Option<String> {
        self.low.load(Ordering::Relaxed).then(|| {
            match self.free.load(Ordering::Relaxed) {
                u64::MAX => "disk: the data directory's free space cannot be measured".to_owned(),
                free => format!(
                    "disk: {free} bytes free on the data directory's filesystem, below the watermark"
                ),
            }
        })
    }

    /// Measures every [`CHECK_INTERVAL`] until the task is aborted.
    pub async fn watch(self: Arc<Self>) {
        loop {
            self.check();
            tokio::time::sleep(CHECK_INTERVAL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermarks_parse_and_apply() {
        assert_eq!(Watermark::parse("5%"), Ok(Watermark::Percent(5)));
        assert_eq!(Watermark::parse("512MiB"), Ok(Watermark::Bytes(512 << 20)));
        assert_eq!(Watermark::parse("2GB"), Ok(Watermark::Bytes(2_000_000_000)));
        assert_eq!(Watermark::parse("4096"), Ok(Watermark::Bytes(4096)));
        for bad in ["", "0%", "100%", "5 parsecs", "-1", "1PB"] {
            assert!(Watermark::parse(bad).is_err(), "{bad}");
        }
        let terabyte = 1_000_000_000_000;
        assert_eq!(Watermark::Default.bytes(terabyte), 1 << 30);
        assert_eq!(Watermark::Default.bytes(1_000_000_000), 50_000_000);
        assert_eq!(Watermark::Percent(10).bytes(1000), 100);
    }

    #[test]
    fn a_watermark_above_the_free_space_is_low_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let relaxed = Disk::new(dir.path().to_owned(), Watermark::Bytes(1));
        assert!(!relaxed.check());
        assert_eq!(relaxed.reason(), None);
        let strict = Disk::new(dir.path().to_owned(), Watermark::Bytes(u64::MAX));
        assert!(strict.check());
        assert!(strict.reason().unwrap().contains("below the watermark"));
    }
}
