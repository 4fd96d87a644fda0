//! The sliding anti-replay window of a session's receive side (RFC 6479 style).

/// Nonces accepted out of order behind the highest one seen.
pub const WINDOW: u64 = 2048;
const BLOCKS: usize = (WINDOW / 64) as usize + 1;

/// Tracks which nonces a session has accepted, so each is delivered once.
///
/// Pub/sub reorders and duplicates messages: a nonce may arrive late, but
/// never twice, and never more than [`WINDOW`] behind the highest accepted.
/// [`check`](Self::check) is cheap and run before decryption;
/// [`accept`](Self::accept) only after the message authenticated, so forged
/// nonces cannot move the window.
#[derive(Clone, Debug)]
pub struct ReplayWindow {
    /// Highest nonce accepted; meaningless while `empty`.
    top: u64,
    /// Whether any nonce was accepted yet.
    empty: bool,
    /// Ring of bits, one per nonce in `(top - WINDOW, top]`; one spare block
    /// so advancing clears whole words.
    bits: [u64; BLOCKS],
}

/// Why a nonce is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Replay {
    /// This nonce was accepted before: a duplicate or a replay.
    #[error("nonce {0} was already received: duplicate or replay")]
    Duplicate(u64),
    /// The nonce is too far behind the newest to tell, so it is refused.
    #[error("nonce {nonce} is more than {WINDOW} behind the newest ({top})")]
    TooOld {
        /// The refused nonce.
        nonce: u64,
        /// The highest nonce accepted.
        top: u64,
    },
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplayWindow {
    /// A window that has accepted nothing.
    pub fn new() -> Self {
        ReplayWindow {
            top: 0,
            empty: true,
            bits: [0; BLOCKS],
        }
    }

    fn slot(nonce: u64) -> (usize, u64) {
        let block = ((nonce / 64) % BLOCKS as u64) as usize;
        (block, 1u64 << (nonce % 64))
    }

    /// Whether `nonce` could be accepted now; changes nothing.
    pub fn check(&self, nonce: u64) -> Result<(), Replay> {
        if self.empty || nonce > self.top {
            return Ok(());
        }
        if self.top - nonce >= WINDOW {
            return Err(Replay::TooOld {
                nonce,
                top: self.top,
            });
        }
        let (block, bit) = Self::slot(nonce);
        if self.bits[block] & bit != 0 {
            Err(Replay::Duplicate(nonce))
        } else {
            Ok(())
        }
    }

    /// Records `nonce` as received; call only after it authenticated.
    pub fn accept(&mut self, nonce: u64) -> Result<(), Replay> {
        self.check(nonce)?;
        if self.empty || nonce > self.top {
            // Clear the blocks the window slides over.
            let from = if self.empty {
                nonce / 64
            } else {
                self.top / 64 + 1
            };
            let to = nonce / 64;
            for b in from..=to.min(from + BLOCKS as u64 - 1) {
                self.bits[(b % BLOCKS as u64) as usize] = 0;
            }
            self.top = nonce;
            self.empty = false;
        }
        let (block, bit) = Self::slot(nonce);
        self.bits[block] |= bit;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[test]
    fn in_order_then_duplicate() {
        let mut w = ReplayWindow::new();
        for n in 0..100 {
            w.accept(n).unwrap();
        }
        assert_eq!(w.accept(42), Err(Replay::Duplicate(42)));
        assert_eq!(w.accept(99), Err(Replay::Duplicate(99)));
    }

    #[test]
    fn late_arrivals_within_the_window_are_accepted_once() {
        let mut w = ReplayWindow::new();
        w.accept(5000).unwrap();
        w.accept(5000 - WINDOW + 1).unwrap();
        assert_eq!(
            w.accept(5000 - WINDOW + 1),
            Err(Replay::Duplicate(5000 - WINDOW + 1))
        );
        assert_eq!(
            w.accept(5000 - WINDOW),
            Err(Replay::TooOld {
                nonce: 5000 - WINDOW,
                top: 5000
            })
        );
    }

    #[test]
    fn a_big_jump_forgets_everything_behind() {
        let mut w = ReplayWindow::new();
        w.accept(1).unwrap();
        w.accept(1_000_000).unwrap();
        assert!(matches!(w.accept(1), Err(Replay::TooOld { .. })));
        w.accept(1_000_000 - 1).unwrap();
    }

    #[test]
    fn check_changes_nothing() {
        let mut w = ReplayWindow::new();
        w.check(7).unwrap();
        w.check(7).unwrap();
        w.accept(7).unwrap();
        assert_eq!(w.check(7), Err(Replay::Duplicate(7)));
    }

    proptest! {
        /// Against a model: a nonce is accepted iff it is new and within the
        /// window of the highest accepted so far.
        #[test]
        fn matches_a_set_model(nonces in proptest::collection::vec(0u64..20_000, 1..600)) {
            let mut w = ReplayWindow::new();
            let mut seen = HashSet::new();
            let mut top: Option<u64> = None;
            for n in nonces {
                let fresh = !seen.contains(&n);
                let in_window = top.is_none_or(|t| n > t || t - n < WINDOW);
                let got = w.accept(n).is_ok();
                prop_assert_eq!(got, fresh && in_window, "nonce {}", n);
                if got {
                    seen.insert(n);
                    top = Some(top.map_or(n, |t| t.max(n)));
                }
            }
        }
    }
}
