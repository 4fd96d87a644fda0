//! Moving every entry from one backend to another without losing one.
//!
//! Copy, read back, and only then delete: a run cut short at any point
//! leaves every entry in the source, the target or both, and running it
//! again finishes the job.

use crate::{EntryName, Keystore, KeystoreError};

/// What a migration did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Entries written to the target.
    pub copied: usize,
    /// Entries the target already held with the same value (an earlier,
    /// interrupted run).
    pub already_there: usize,
}

/// A migration that stopped. The source still holds every entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The target already holds an entry by this name with another value;
    /// nothing was written.
    #[error(
        "the target already holds {0} with a different value; nothing was copied (remove it from the target if it is stale)"
    )]
    Conflict(EntryName),
    /// Reading back from the target gave something else than was written.
    #[error("{0} reads back differently from the target; the source was left as it was")]
    Mismatch(EntryName),
    /// A backend failed.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
}

/// Copies every entry of `from` into `to` and checks each one by reading it
/// back. The source is not touched: call [`remove_migrated`] once the new
/// location is recorded.
pub fn copy_all(from: &dyn Keystore, to: &dyn Keystore) -> Result<MigrationReport, MigrateError> {
    let names = from.names()?;
    let mut pending = Vec::with_capacity(names.len());
    let mut report = MigrationReport::default();
    // Check every name before writing any, so a conflict changes nothing.
    for name in names {
        let Some(value) = from.get(&name)? else {
            continue;
        };
        match to.get(&name)? {
            Some(existing) if existing == value => report.already_there += 1,
            Some(_) => return Err(MigrateError::Conflict(name)),
            None => pending.push((name, value)),
        }
    }
    for (name, value) in &pending {
        to.put(name, value.expose())?;
        if to.get(name)?.as_ref() != Some(value) {
            return Err(MigrateError::Mismatch(name.clone()));
        }
        report.copied += 1;
    }
    Ok(report)
}

/// Deletes from `from` every entry `to` holds with the same value. Returns
/// how many were deleted.
pub fn remove_migrated(from: &dyn Keystore, to: &dyn Keystore) -> Result<usize, KeystoreError> {
    let mut removed = 0;
    for name in from.names()? {
        let (Some(old), Some(new)) = (from.get(&name)?, to.get(&name)?) else {
            continue;
        };
        if old == new && from.delete(&name)? {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    fn name(s: &str) -> EntryName {
        EntryName::new(s).unwrap()
    }

    fn filled() -> MemoryStore {
        let s = MemoryStore::new();
        s.put(&name("identity"), b"key").unwrap();
        s.put(&name("peer.a"), b"alice").unwrap();
        s.put(&name("peer.b"), b"bob").unwrap();
        s
    }

    #[test]
    fn everything_moves_and_the_source_empties_only_at_the_end() {
        let (from, to) = (filled(), MemoryStore::new());
        let report = copy_all(&from, &to).unwrap();
        assert_eq!(report.copied, 3);
        assert_eq!(
            from.names().unwrap().len(),
            3,
            "source untouched by the copy"
        );
        assert_eq!(remove_migrated(&from, &to).unwrap(), 3);
        assert!(from.names().unwrap().is_empty());
        assert_eq!(to.get(&name("peer.b")).unwrap().unwrap().expose(), b"bob");
    }

    #[test]
    fn a_target_that_fills_up_loses_nothing_and_a_rerun_finishes() {
        let from = filled();
        let small = MemoryStore::with_capacity(6);
        let err = copy_all(&from, &small).unwrap_err();
        assert!(matches!(
            err,
            MigrateError::Keystore(KeystoreError::Full { .. })
        ));
        // Nothing may be removed from the source for what did not arrive.
        assert_eq!(remove_migrated(&from, &small).unwrap(), 1);
        assert_eq!(from.names().unwrap().len(), 2);
        let big = MemoryStore::new();
        for n in small.names().unwrap() {
            big.put(&n, small.get(&n).unwrap().unwrap().expose())
                .unwrap();
        }
        let report = copy_all(&from, &big).unwrap();
        assert_eq!((report.copied, report.already_there), (2, 0));
    }

    #[test]
    fn a_rerun_after_an_interruption_counts_what_was_already_copied() {
        let (from, to) = (filled(), MemoryStore::new());
        to.put(&name("identity"), b"key").unwrap();
        let report = copy_all(&from, &to).unwrap();
        assert_eq!((report.copied, report.already_there), (2, 1));
    }

    #[test]
    fn a_conflicting_target_is_refused_before_anything_is_written() {
        let (from, to) = (filled(), MemoryStore::new());
        to.put(&name("peer.b"), b"someone else").unwrap();
        let err = copy_all(&from, &to).unwrap_err();
        assert!(matches!(err, MigrateError::Conflict(ref n) if n.as_str() == "peer.b"));
        assert_eq!(to.names().unwrap(), [name("peer.b")]);
        assert_eq!(remove_migrated(&from, &to).unwrap(), 0);
        assert_eq!(from.names().unwrap().len(), 3);
    }
}
