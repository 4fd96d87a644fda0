//! Writing counterparties to the keystore off the runtime's threads.

use nodepair_keystore::{Counterparty as Stored, Keystore};
use nodepair_protocol::PublicKey;
use std::sync::Arc;

/// Saves `record` (a keyring call may block: it runs on a blocking thread).
pub(crate) async fn store(keystore: &Arc<dyn Keystore>, record: Stored) -> Result<(), String> {
    let keystore = keystore.clone();
    tokio::task::spawn_blocking(move || record.save(&*keystore))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// Deletes `who`'s record.
pub(crate) async fn delete(keystore: &Arc<dyn Keystore>, who: PublicKey) -> Result<(), String> {
    let keystore = keystore.clone();
    tokio::task::spawn_blocking(move || Stored::remove(&*keystore, who.as_bytes()))
        .await
        .map_err(|e| e.to_string())?
        .map(drop)
        .map_err(|e| e.to_string())
}
