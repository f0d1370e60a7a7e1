//! The handle every listener registration returns: cancelling it, or dropping it (a Swift
//! deinit, a Kotlin `close()` or garbage collection), stops the calls.

use std::sync::{Arc, Mutex, PoisonError};

/// Keeps a listener registered; cancel or drop it to stop the calls.
#[derive(uniffi::Object)]
pub struct Subscription {
    inner: Mutex<Option<Registration>>,
}

enum Registration {
    /// A store change subscription (unsubscribes when dropped).
    Store(#[allow(dead_code)] almanac_core::Subscription),
    /// A task forwarding a watched value.
    Task(tokio::task::AbortHandle),
}

impl Subscription {
    pub(crate) fn store(inner: almanac_core::Subscription) -> Arc<Self> {
        Arc::new(Subscription { inner: Mutex::new(Some(Registration::Store(inner))) })
    }

    pub(crate) fn task(handle: tokio::task::AbortHandle) -> Arc<Self> {
        Arc::new(Subscription { inner: Mutex::new(Some(Registration::Task(handle))) })
    }
}

#[uniffi::export]
impl Subscription {
    /// Stops the calls (a call already running finishes). Cancelling twice is fine.
    pub fn cancel(&self) {
        let registration = self.inner.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(Registration::Task(handle)) = registration {
            handle.abort();
        }
    }

    /// Whether `cancel` was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).is_none()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.cancel();
    }
}
