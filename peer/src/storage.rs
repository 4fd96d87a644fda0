//! Writing counterparties to the keystore, in order, off the driver's loop.
//!
//! One writer task per peer takes every change in the order the driver made
//! it. Saves nobody waits for (last-seen times, the records at shutdown)
//! that queue up while a write is under way go out together in one batch:
//! a vault writes its file once for 200 of them, not 200 times.

use nodepair_keystore::{Counterparty as Stored, Keystore};
use nodepair_protocol::PublicKey;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

type Done = oneshot::Sender<Result<(), String>>;

/// A write of another record than a counterparty's; it reports itself.
type Write = Box<dyn FnOnce(&dyn Keystore) + Send>;

enum Op {
    /// Save, and say how it went.
    Save(Box<Stored>, Done),
    /// Save when convenient; a failure is logged.
    SaveLater(Box<Stored>),
    Delete(PublicKey, Done),
    /// Any other write (the identity's), which says how it went itself.
    Run(Write),
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

/// The peer's handle on its writer task.
pub(crate) struct Storage {
    ops: mpsc::UnboundedSender<Op>,
}

const STOPPED: &str = "the keystore write did not finish";

impl Storage {
    /// Starts the writer for `keystore` on the current runtime.
    pub(crate) fn start(keystore: Arc<dyn Keystore>) -> Self {
        let (ops, queue) = mpsc::unbounded_channel();
        tokio::spawn(write(keystore, queue));
        Storage { ops }
    }

    /// Saves `record`, after everything queued before it.
    pub(crate) async fn save(&self, record: Stored) -> Result<(), String> {
        let (done, wait) = oneshot::channel();
        self.ops
            .send(Op::Save(Box::new(record), done))
            .map_err(|_| STOPPED.to_owned())?;
        wait.await.map_err(|_| STOPPED.to_owned())?
    }

    /// Queues `record` to be saved; nobody waits, a failure is logged.
    pub(crate) fn save_later(&self, record: Stored) {
        let _ = self.ops.send(Op::SaveLater(Box::new(record)));
    }

    /// Deletes `who`'s record, after everything queued before.
    pub(crate) async fn delete(&self, who: PublicKey) -> Result<(), String> {
        let (done, wait) = oneshot::channel();
        self.ops
            .send(Op::Delete(who, done))
            .map_err(|_| STOPPED.to_owned())?;
        wait.await.map_err(|_| STOPPED.to_owned())?
    }

    /// Runs `write` on the keystore, after everything queued before it.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        write: impl FnOnce(&dyn Keystore) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        let (done, wait) = oneshot::channel();
        let op = Op::Run(Box::new(move |keystore| {
            let _ = done.send(write(keystore));
        }));
        self.ops.send(op).map_err(|_| STOPPED.to_owned())?;
        wait.await.map_err(|_| STOPPED.to_owned())?
    }

    /// Waits until everything queued so far is written.
    pub(crate) async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.ops.send(Op::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

async fn write(keystore: Arc<dyn Keystore>, mut queue: mpsc::UnboundedReceiver<Op>) {
    let mut ops = Vec::new();
    while queue.recv_many(&mut ops, usize::MAX).await > 0 {
        let keystore = keystore.clone();
        let batch = std::mem::take(&mut ops);
        // A keyring call may block: the writes run on a blocking thread. If
        // one panics, whoever waited on that batch hears it failed (their
        // answer is dropped), and later changes are still written.
        if tokio::task::spawn_blocking(move || apply(&*keystore, batch))
            .await
            .is_err()
        {
            tracing::error!("a keystore write failed unexpectedly; its changes may be lost");
        }
    }
}

/// Applies `ops` in order, the runs of saves nobody waits for as one batch.
fn apply(keystore: &dyn Keystore, ops: Vec<Op>) {
    let mut later: BTreeMap<[u8; 32], Stored> = BTreeMap::new();
    for op in ops {
        if !matches!(op, Op::SaveLater(_)) {
            save_later(keystore, &mut later);
        }
        match op {
            // The newest record of each counterparty wins.
            Op::SaveLater(record) => {
                later.insert(record.public_key, *record);
            }
            Op::Save(record, done) => {
                let _ = done.send(record.save(keystore).map_err(|e| e.to_string()));
            }
            Op::Delete(who, done) => {
                let result = Stored::remove(keystore, who.as_bytes())
                    .map(drop)
                    .map_err(|e| e.to_string());
                let _ = done.send(result);
            }
            Op::Run(write) => write(keystore),
            Op::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
    save_later(keystore, &mut later);
}

fn save_later(keystore: &dyn Keystore, later: &mut BTreeMap<[u8; 32], Stored>) {
    if later.is_empty() {
        return;
    }
    let records: Vec<Stored> = std::mem::take(later).into_values().collect();
    if let Err(e) = Stored::save_all(keystore, &records) {
        tracing::warn!(count = records.len(), "cannot record last-seen times: {e}");
    }
}
