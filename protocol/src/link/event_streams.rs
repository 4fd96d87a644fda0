//! The sequence numbers of our event streams to one counterparty.

use bytestring::ByteString;
use std::collections::HashMap;

/// The last number sent on each stream; a stream's first event is 1, so a
/// receiver sees gaps (and a stream that started over).
#[derive(Debug, Default)]
pub(crate) struct EventStreams {
    last: HashMap<ByteString, u64>,
}

impl EventStreams {
    /// The number the next event of `stream` carries.
    pub(crate) fn next(&self, stream: &str) -> u64 {
        self.last.get(stream).copied().unwrap_or(0) + 1
    }

    /// The event numbered `seq` went out.
    pub(crate) fn sent(&mut self, stream: ByteString, seq: u64) {
        self.last.insert(stream, seq);
    }
}
