//! The store object Swift and Kotlin hold.

use std::collections::HashMap;
use std::sync::Arc;

use almanac_core::Store;

use crate::error::AlmanacError;
use crate::value::{FieldValue, RecordSnapshot};

/// The space the record-level calls below write in. The calendar API (a later issue) names
/// calendars, each its own space; these generic calls keep one space for app records.
const RECORDS_SPACE: &str = "default";

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
        Ok(Arc::new(Self { inner: Store::open(path)? }))
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
        let mut tx = self.inner.transaction(RECORDS_SPACE);
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
        Ok(self.inner.get(RECORDS_SPACE, &collection, &id)?.as_ref().map(RecordSnapshot::from))
    }

    /// Deletes a record (kept as a restorable tombstone).
    pub fn delete(&self, collection: String, id: String) -> Result<(), AlmanacError> {
        self.inner.transaction(RECORDS_SPACE).delete(&collection, &id).commit()?;
        Ok(())
    }

    /// Exchanges deltas with `other` in both directions for every space either holds (each
    /// joins the spaces it lacks), so both end with the same state.
    pub fn sync_with(&self, other: Arc<AlmanacStore>) -> Result<(), AlmanacError> {
        for (from, to) in [(&self.inner, &other.inner), (&other.inner, &self.inner)] {
            for space in from.spaces()? {
                to.join_space(space.as_str())?;
                let delta =
                    from.delta_since(space.as_str(), &to.version_vector(space.as_str())?)?;
                to.apply(&delta)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> FieldValue {
        FieldValue::Text { value: value.into() }
    }

    #[test]
    fn two_stores_converge_through_the_ffi_surface() -> Result<(), AlmanacError> {
        let dir =
            tempfile::tempdir().map_err(|e| AlmanacError::Storage { message: e.to_string() })?;
        let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        let phone = AlmanacStore::open(path("phone"))?;
        let laptop = AlmanacStore::open(path("laptop"))?;
        phone.put("events".into(), "e1".into(), HashMap::from([("title".into(), text("A"))]))?;
        laptop.put("events".into(), "e1".into(), HashMap::from([("title".into(), text("B"))]))?;
        phone.sync_with(Arc::clone(&laptop))?;
        let on_phone = phone.get("events".into(), "e1".into())?;
        assert_eq!(on_phone, laptop.get("events".into(), "e1".into())?);
        let title = &on_phone.as_ref().map(|r| r.fields.clone()).unwrap_or_default()[0];
        assert_eq!(title.conflicts.len(), 1);

        phone.delete("events".into(), "e1".into())?;
        assert_eq!(phone.get("events".into(), "e1".into())?, None);
        let refused =
            phone.put("events".into(), "e1".into(), HashMap::from([("title".into(), text("C"))]));
        assert!(matches!(refused, Err(AlmanacError::RecordDeleted { .. })));
        let bad =
            phone.put(String::new(), "e2".into(), HashMap::from([("title".into(), text("C"))]));
        assert!(matches!(bad, Err(AlmanacError::InvalidInput { .. })));
        Ok(())
    }

    #[test]
    fn opening_a_non_store_is_an_error_with_a_readable_message() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("notes.txt");
        std::fs::write(&file, "not a database at all, but long enough to have a header".repeat(10))
            .expect("write");
        match AlmanacStore::open(file.to_string_lossy().into_owned()) {
            Err(AlmanacError::Corrupt { message }) => {
                assert!(message.contains("not an Almanac store"), "{message}")
            }
            other => panic!("expected Corrupt, got {:?}", other.map(|_| ())),
        }
    }
}
