//! Where a follow of a container's log is up to, so that a stream opened again (after a restart, a re-creation, or the engine ending it) sends each line once.
//!
//! The engine stamps each line (`timestamps=1`), Docker to the nanosecond,
//! Podman 4 to the second, and reopens from a whole second (`since`). So
//! the follow keeps the newest stamp it sent and how many lines it sent
//! with that stamp: at the start of a reopened stream, older lines are
//! skipped, and of those with that very stamp, as many as were already
//! sent. Past that replay every line is new, in whatever order its stamps
//! come.

use jiff::Timestamp;

/// What a follow has sent so far.
#[derive(Clone, Debug)]
pub(crate) struct Resume {
    last: Timestamp,
    sent_at_last: u64,
    /// In a reopened stream, until its first line newer than `last`: how
    /// many lines stamped `last` it has replayed. `None` once it is past
    /// them: from then on every line is new, whatever its stamp (a line
    /// written in pieces keeps its first piece's stamp, and a clock may
    /// step back).
    replayed_at_last: Option<u64>,
}

impl Resume {
    /// A follow that starts at `now` (from its whole second: a line the
    /// engine stamped in this second is new).
    pub(crate) fn starting(now: Timestamp) -> Resume {
        Resume {
            last: Timestamp::from_second(now.as_second()).unwrap_or(now),
            sent_at_last: 0,
            replayed_at_last: Some(0),
        }
    }

    /// The `since` to reopen with: the second of the newest line sent.
    pub(crate) fn since_secs(&self) -> i32 {
        i32::try_from(self.last.as_second()).unwrap_or(i32::MAX)
    }

    /// A stream of the same container is opened again from
    /// [`Resume::since_secs`]: it replays what was sent of that second.
    pub(crate) fn reopened(&mut self) {
        self.replayed_at_last = Some(0);
    }

    /// A stream of another container under the same name (removed and
    /// created again) is opened: nothing of its log was sent, even what it
    /// stamped in the second of the last line sent.
    pub(crate) fn another_container(&mut self) {
        self.replayed_at_last = None;
    }

    /// Whether the next line of the stream, stamped `at`, is new.
    pub(crate) fn admit(&mut self, at: Timestamp) -> bool {
        let Some(replayed) = &mut self.replayed_at_last else {
            // Past the replay: new, and the newest stamp kept.
            if at > self.last {
                self.last = at;
                self.sent_at_last = 1;
            } else if at == self.last {
                self.sent_at_last += 1;
            }
            return true;
        };
        if at < self.last {
            return false;
        }
        if at > self.last {
            self.last = at;
            self.sent_at_last = 1;
            self.replayed_at_last = None;
            return true;
        }
        *replayed += 1;
        if *replayed > self.sent_at_last {
            self.sent_at_last += 1;
            self.replayed_at_last = None;
            true
        } else {
            false
        }
    }
}

/// A stamped line's stamp and the line shown: the stamp to the second, in
/// UTC, then the text. A line with no stamp is shown as it is.
pub(crate) fn stamped(line: &str) -> (Option<Timestamp>, String) {
    let Some((stamp, text)) = line.split_once(' ') else {
        return (None, line.to_owned());
    };
    match stamp.parse::<Timestamp>() {
        Ok(at) => (
            Some(at),
            format!("{} {text}", at.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ),
        Err(_) => (None, line.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_reopened_stream_sends_only_what_was_not_sent() {
        let mut resume = Resume::starting(at("2026-12-06T15:17:07.600Z"));
        assert_eq!(resume.since_secs(), 1_796_570_227);
        // Podman's stamps are whole seconds: three lines in the same one.
        let first = ["15:17:06", "15:17:07", "15:17:07", "15:17:08", "15:17:08"];
        let sent: Vec<bool> = first
            .iter()
            .map(|t| resume.admit(at(&format!("2026-12-06T{t}Z"))))
            .collect();
        assert_eq!(
            sent,
            [false, true, true, true, true],
            "older than the start: not sent"
        );
        // The stream ends (a restart) and is opened again from 15:17:08:
        // the two lines of that second come again, then a new one of it.
        resume.reopened();
        assert_eq!(resume.since_secs(), 1_796_570_228);
        let again = ["15:17:08", "15:17:08", "15:17:08", "15:17:09"];
        let sent: Vec<bool> = again
            .iter()
            .map(|t| resume.admit(at(&format!("2026-12-06T{t}Z"))))
            .collect();
        assert_eq!(sent, [false, false, true, true]);
    }

    #[test]
    fn past_the_replay_a_line_stamped_earlier_is_still_sent() {
        // Standard error's line began (and was stamped) before standard
        // output's; a clock stepped back: both are news, not replays.
        let mut resume = Resume::starting(at("2026-12-06T15:17:07Z"));
        assert!(resume.admit(at("2026-12-06T15:17:09Z")));
        assert!(resume.admit(at("2026-12-06T15:17:08Z")));
        assert!(resume.admit(at("2026-12-06T15:16:00Z")));
        assert!(resume.admit(at("2026-12-06T15:17:09Z")));
        // Reopened: the two of 15:17:09 were sent; the earlier ones too.
        resume.reopened();
        assert_eq!(resume.since_secs(), 1_796_570_229);
        assert!(!resume.admit(at("2026-12-06T15:17:09Z")));
        assert!(!resume.admit(at("2026-12-06T15:17:09Z")));
        assert!(resume.admit(at("2026-12-06T15:17:09Z")));
        assert!(resume.admit(at("2026-12-06T15:17:08Z")), "past the replay");
    }

    #[test]
    fn a_new_container_under_the_name_is_all_news_even_in_the_same_second() {
        let mut resume = Resume::starting(at("2026-12-06T15:17:07Z"));
        assert!(resume.admit(at("2026-12-06T15:17:08Z")));
        assert!(resume.admit(at("2026-12-06T15:17:08Z")));
        // Removed, and created again within that second: its first two
        // lines share the stamp of the two sent, and are not them.
        resume.another_container();
        assert!(resume.admit(at("2026-12-06T15:17:08Z")));
        assert!(resume.admit(at("2026-12-06T15:17:08Z")));
        assert!(resume.admit(at("2026-12-06T15:17:09Z")));
    }

    #[test]
    fn nanosecond_stamps_resume_exactly() {
        let mut resume = Resume::starting(at("2026-12-06T15:17:07Z"));
        assert!(resume.admit(at("2026-12-06T15:17:07.100000001Z")));
        assert!(resume.admit(at("2026-12-06T15:17:07.200000001Z")));
        resume.reopened();
        assert!(!resume.admit(at("2026-12-06T15:17:07.100000001Z")));
        assert!(!resume.admit(at("2026-12-06T15:17:07.200000001Z")));
        assert!(resume.admit(at("2026-12-06T15:17:07.300000001Z")));
    }

    #[test]
    fn a_line_is_shown_with_its_stamp_to_the_second() {
        let (at, shown) = stamped("2026-12-06T15:17:17.027140374Z INFO Imported new chain segment");
        assert_eq!(at.unwrap().as_second(), 1_796_570_237);
        assert_eq!(
            shown,
            "2026-12-06T15:17:17Z INFO Imported new chain segment"
        );
        assert_eq!(stamped("no stamp here"), (None, "no stamp here".to_owned()));
        assert_eq!(stamped("alone"), (None, "alone".to_owned()));
    }
}
