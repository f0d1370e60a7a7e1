//! The store object Swift and Kotlin hold.

use std::collections::HashMap;
use std::sync::Arc;

use almanac_core::Store;

use crate::error::AlmanacError;
use crate::value::{FieldValue, RecordSnapshot};

/// A replica persisted in one file. Thread-safe: share one instance across the app.
#[derive(uniffi::Object)]
pub struct AlmanacStore {
    inner: Store,
}

#[uniffi::export]
impl AlmanacStore {
    /// Opens the store at `path`, creating it if missing.
    #[uniffi::constructor]
    pub fn open(path: String) -> Result<Arc<Self>, AlmanacError> {
        Ok(Arc::new(Self {
            inner: Store::open(path)?,
        }))
    }

    /// This replica's id (32 hex digits).
    pub fn replica_id(&self) -> String {
        self.inner.replica_id().to_string()
    }

    /// Sets the given fields of a record in one transaction, creating the record if needed.
    pub fn put(
        &self,
        collection: String,
        id: String,
        fields: HashMap<String, FieldValue>,
    ) -> Result<(), AlmanacError> {
        let mut tx = self.inner.transaction();
        for (name, value) in fields {
            tx.set(&collection, &id, &name, value);
        }
        tx.commit()?;
        Ok(())
    }

    /// The live record, or `None` if it does not exist or is deleted.
    pub fn get(
        &self,
        collection: String,
        id: String,
    ) -> Result<Option<RecordSnapshot>, AlmanacError> {
        Ok(self
            .inner
            .get(&collection, &id)?
            .as_ref()
            .map(RecordSnapshot::from))
    }

    /// Deletes a record (kept as a restorable tombstone).
    pub fn delete(&self, collection: String, id: String) -> Result<(), AlmanacError> {
        self.inner.transaction().delete(&collection, &id).commit()?;
        Ok(())
    }

    /// Exchanges deltas with `other` in both directions, so both end with the same state.
    pub fn sync_with(&self, other: Arc<AlmanacStore>) -> Result<(), AlmanacError> {
        let to_other = self.inner.delta_since(&other.inner.version_vector()?)?;
        other.inner.apply(&to_other)?;
        let to_self = other.inner.delta_since(&self.inner.version_vector()?)?;
        self.inner.apply(&to_self)?;
        Ok(())
    }
}
