//! What a request touched, collected where the KMS learns it instead of threading a collector
//! through every operation: the keys it resolved (one place, `resolve.rs`) and the grants that
//! allowed it or that it retired. The HTTP layer runs each request inside [`collect`]; outside
//! it (the scheduler, the admin CLI) [`touch`] and [`note_grant`] do nothing.

use std::cell::RefCell;
use std::future::Future;

use crate::model::{GrantId, KeyArn};

/// What one request touched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Touched {
    /// The keys, in first-touch order.
    pub keys: Vec<KeyArn>,
    /// The grants that allowed the request (or that it retired), in first-use order.
    pub grants: Vec<GrantId>,
}

tokio::task_local! {
    static TOUCHED: RefCell<Touched>;
}

/// Runs `operation` and returns its output with what it touched.
pub async fn collect<F: Future>(operation: F) -> (F::Output, Touched) {
    TOUCHED
        .scope(RefCell::new(Touched::default()), async {
            let output = operation.await;
            let touched = TOUCHED.with(|touched| touched.take());
            (output, touched)
        })
        .await
}

/// Notes that the current request touched `key`.
pub fn touch(key: &KeyArn) {
    let _ = TOUCHED.try_with(|touched| {
        let keys = &mut touched.borrow_mut().keys;
        if !keys.contains(key) {
            keys.push(key.clone());
        }
    });
}

/// Notes that grant `id` allowed the current request (or that the request retired it).
pub fn note_grant(id: crate::model::GrantId) {
    let _ = TOUCHED.try_with(|touched| {
        let grants = &mut touched.borrow_mut().grants;
        if !grants.contains(&id) {
            grants.push(id);
        }
    });
}
