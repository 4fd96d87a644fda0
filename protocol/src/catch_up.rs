//! How far back a side asks a store node for what passed it by while it was cut off from the Waku network (protocol.md §1).
//!
//! Times are durations since the Unix epoch, as Waku messages carry them;
//! the caller reads its clock and passes it in.

use std::time::Duration;

/// How far before the moment it was cut off a catch-up starts. Waku
/// messages carry their sender's time, and a counterparty's clock may be
/// minutes slow: its messages sent after the cut look older than the cut.
pub const MARGIN: Duration = Duration::from_secs(600);

/// From when (Unix nanoseconds, a store query's `time_start`) to fetch the
/// messages of our topics, having been cut off at `cut_off_at` and being
/// back at `now`: [`MARGIN`] before the cut, but no further back than
/// `window` (plus the margin) before now. `None` when catching up is off
/// (`window` zero).
pub fn since(cut_off_at: Duration, now: Duration, window: Duration) -> Option<i64> {
    if window.is_zero() {
        return None;
    }
    let earliest = now.saturating_sub(window.saturating_add(MARGIN));
    let from = cut_off_at.saturating_sub(MARGIN).max(earliest);
    Some(i64::try_from(from.as_nanos()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);
    const NOW: Duration = Duration::from_secs(1_780_000_000);

    fn nanos(d: Duration) -> Option<i64> {
        Some(i64::try_from(d.as_nanos()).unwrap())
    }

    #[test]
    fn a_short_cut_is_covered_from_ten_minutes_before_it() {
        let cut = NOW - 3 * MIN;
        assert_eq!(since(cut, NOW, 10 * MIN), nanos(cut - MARGIN));
    }

    #[test]
    fn a_long_cut_is_covered_only_as_far_as_the_window() {
        let cut = NOW - 120 * MIN;
        assert_eq!(since(cut, NOW, 10 * MIN), nanos(NOW - 10 * MIN - MARGIN));
        assert_eq!(since(cut, NOW, 24 * 60 * MIN), nanos(cut - MARGIN));
    }

    #[test]
    fn no_window_no_catch_up_and_no_time_before_the_epoch() {
        // A window past all time: no overflow; the cut decides.
        assert_eq!(since(NOW, NOW, Duration::MAX), nanos(NOW - MARGIN));
        assert_eq!(since(NOW - MIN, NOW, Duration::ZERO), None);
        assert_eq!(since(MIN, 2 * MIN, 10 * MIN), Some(0));
    }

    #[test]
    fn a_clock_that_went_backwards_still_starts_at_the_window() {
        // Cut "after" now (the wall clock stepped back): the margin before
        // the cut still applies, and never more than the window.
        let from = since(NOW + 5 * MIN, NOW, 10 * MIN).unwrap();
        assert_eq!(from, nanos(NOW - 5 * MIN).unwrap());
    }
}
