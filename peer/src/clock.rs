//! The peer's clocks, injected so its tests run on paused time.

use nodepair_protocol::session::WallClock;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where the runtime reads the time. Monotonic time is tokio's, which a
/// test pauses and advances (`#[tokio::test(start_paused = true)]`); wall
/// time comes from the function given, the system's by default.
#[derive(Clone)]
pub struct Clock {
    wall: Arc<dyn Fn() -> SystemTime + Send + Sync>,
}

impl Clock {
    /// The system's clocks.
    pub fn system() -> Self {
        Clock::with_wall(SystemTime::now)
    }

    /// Tokio's monotonic time and `wall` for the date.
    pub fn with_wall(wall: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        Clock {
            wall: Arc::new(wall),
        }
    }

    /// Wall time that starts at `start` and then follows tokio's time, so
    /// a test on paused time sees dates move as its timers do.
    pub fn following_tokio(start: SystemTime) -> Self {
        let origin = tokio::time::Instant::now();
        Clock::with_wall(move || start + origin.elapsed())
    }

    /// Monotonic now, for the protocol's machines and their timers.
    pub fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    /// The date now.
    pub fn wall(&self) -> SystemTime {
        (self.wall)()
    }

    /// The date now, in seconds since the Unix epoch (0 before it).
    pub fn unix_secs(&self) -> u64 {
        self.since_epoch().as_secs()
    }

    /// The date now, in milliseconds since the Unix epoch (0 before it).
    pub fn unix_millis(&self) -> u64 {
        u64::try_from(self.since_epoch().as_millis()).unwrap_or(u64::MAX)
    }

    /// How monotonic time maps onto the date now, for handshake timestamps.
    pub fn wall_clock(&self) -> WallClock {
        WallClock {
            at: self.now(),
            unix_nanos: u64::try_from(self.since_epoch().as_nanos()).unwrap_or(u64::MAX),
        }
    }

    fn since_epoch(&self) -> Duration {
        self.wall()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock").field("wall", &self.wall()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_following_clock_moves_with_paused_time_and_sleeps_not() {
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = Clock::following_tokio(start);
        let (mono, anchor) = (clock.now(), clock.wall_clock());
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(clock.now() - mono, Duration::from_secs(3600));
        assert_eq!(clock.unix_secs(), 1_800_003_600);
        assert_eq!(anchor.unix_nanos, 1_800_000_000 * 1_000_000_000);
    }
}
