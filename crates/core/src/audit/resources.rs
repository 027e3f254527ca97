//! The keys a request touches, collected where the KMS resolves them (one place, `resolve.rs`)
//! instead of threading a collector through every operation. The HTTP layer runs each request
//! inside [`collect`]; outside it (the scheduler, the admin CLI) [`touch`] does nothing.

use std::cell::RefCell;
use std::future::Future;

use crate::model::KeyArn;

tokio::task_local! {
    static TOUCHED: RefCell<Vec<KeyArn>>;
}

/// Runs `operation` and returns its output with the keys it touched, in first-touch order.
pub async fn collect<F: Future>(operation: F) -> (F::Output, Vec<KeyArn>) {
    TOUCHED
        .scope(RefCell::new(Vec::new()), async {
            let output = operation.await;
            let touched = TOUCHED.with(|touched| touched.take());
            (output, touched)
        })
        .await
}

/// Notes that the current request touched `key`.
pub fn touch(key: &KeyArn) {
    let _ = TOUCHED.try_with(|touched| {
        let mut touched = touched.borrow_mut();
        if !touched.contains(key) {
            touched.push(key.clone());
        }
    });
}
