//! What the store's test files share: a fresh SQLite store in a temporary directory.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::sync::Arc;

use strongbox_core::Store;
use strongbox_store::Engine;

/// A fresh SQLite store; it lives as long as the returned directory.
pub async fn sqlite() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = strongbox_store::open(&Engine::parse(&url).unwrap())
        .await
        .unwrap();
    (dir, store)
}
