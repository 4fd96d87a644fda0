//! The inbox's tests: what is told, once, after pushes, catch-ups, gaps, restarts of either side, and hostile managers.

use super::*;
use nodepair_protocol::api::alerts::Rule;

const M: PublicKey = PublicKey([1; 32]);

/// An open warning about /var.
pub(crate) fn alert(id: u64) -> Alert {
    Alert {
        id,
        rule: Rule::DiskFree,
        subject: "/var".into(),
        severity: Severity::Warning,
        summary: format!("Disk /var has 4.1 GiB free (alert {id})"),
        first_seen_ms: 1,
        last_seen_ms: 2,
        resolved_at_ms: None,
        readings: Vec::new(),
        acknowledged: None,
        muted_until_ms: None,
        muted_by: None,
    }
}

fn change(seq: u64, id: u64, kind: AlertChangeKind) -> AlertChange {
    let mut alert = alert(id);
    alert.resolved_at_ms = (kind == AlertChangeKind::Resolved).then_some(3);
    AlertChange { seq, kind, alert }
}

/// A page read in the catch-up of M under way.
fn facts(inbox: &AlertInbox, last_seq: u64, ended: bool) -> PageFacts {
    PageFacts {
        last_seq,
        gap: false,
        ended,
        read: true,
        ticket: inbox.ticket(M),
    }
}

fn titles(notices: &[AlertNotice]) -> Vec<&str> {
    notices.iter().map(|n| n.title.as_str()).collect()
}

#[test]
fn a_pushed_alert_is_told_when_it_fires_and_when_it_resolves_and_not_twice() {
    let mut inbox = AlertInbox::default();
    let (fired, _) = inbox.pushed(M, "validator-1", change(1, 7, AlertChangeKind::Fired), 0);
    assert_eq!(titles(&fired), ["validator-1: warning"]);
    assert_eq!(fired[0].body, "Disk /var has 4.1 GiB free (alert 7)");
    assert_eq!(inbox.worst(0), Some(Severity::Warning));
    assert!(
        inbox
            .pushed(M, "validator-1", change(1, 7, AlertChangeKind::Fired), 0)
            .0
            .is_empty()
    );
    assert!(
        inbox
            .pushed(
                M,
                "validator-1",
                change(2, 7, AlertChangeKind::Acknowledged),
                0
            )
            .0
            .is_empty()
    );
    let (resolved, _) = inbox.pushed(M, "validator-1", change(3, 7, AlertChangeKind::Resolved), 0);
    assert_eq!(titles(&resolved), ["validator-1: resolved"]);
    assert_eq!(inbox.worst(0), None);
    assert!(inbox.open(M).is_empty());
}

#[test]
fn an_info_alert_is_told_when_it_comes_but_never_makes_the_app_alerting_and_its_end_is_quiet() {
    let mut inbox = AlertInbox::default();
    let info = |seq, kind| {
        let mut c = change(seq, 9, kind);
        c.alert.rule = Rule::ValidatorProposal;
        c.alert.severity = Severity::Info;
        c.alert.summary =
            "Validator 1234567 proposes the block of slot 10512390 in 7 minutes".into();
        c
    };
    let (told, _) = inbox.pushed(M, "validator-1", info(1, AlertChangeKind::Fired), 0);
    assert_eq!(titles(&told), ["validator-1: info"]);
    assert_eq!(inbox.open(M).len(), 1, "listed as open");
    assert_eq!(inbox.worst(0), None, "nothing is wrong");
    let _ = inbox.pushed(M, "validator-1", change(2, 7, AlertChangeKind::Fired), 0);
    assert_eq!(inbox.worst(0), Some(Severity::Warning));
    let (over, _) = inbox.pushed(M, "validator-1", info(3, AlertChangeKind::Resolved), 0);
    assert!(over.is_empty(), "its slot began: no news");
}

#[test]
fn an_alert_that_fired_and_resolved_while_the_app_was_closed_is_told_once() {
    let mut inbox = AlertInbox::default();
    let _ = inbox.pushed(M, "validator-1", change(1, 1, AlertChangeKind::Fired), 0);
    // Kept, then the app restarts.
    let mut inbox = AlertInbox::from_json(&inbox.to_json());
    assert_eq!(inbox.last_seq(M), 1);
    inbox.catching_up(M);
    // A push arrives while the list is read: it waits.
    assert!(
        inbox
            .pushed(M, "validator-1", change(4, 3, AlertChangeKind::Fired), 0)
            .0
            .is_empty()
    );
    let page = vec![
        change(1, 1, AlertChangeKind::Fired),
        change(2, 2, AlertChangeKind::Fired),
        change(3, 2, AlertChangeKind::Resolved),
    ];
    assert_eq!(
        inbox.caught_up(M, "validator-1", page, facts(&inbox, 4, false), 0),
        AfterPage {
            notices: Vec::new(),
            again: true
        }
    );
    let told = inbox
        .caught_up(
            M,
            "validator-1",
            vec![change(4, 3, AlertChangeKind::Fired)],
            facts(&inbox, 4, true),
            0,
        )
        .notices;
    assert_eq!(
        titles(&told),
        [
            "validator-1: alert raised and resolved",
            "validator-1: warning"
        ]
    );
    assert_eq!(inbox.last_seq(M), 4);
    assert_eq!(
        inbox.open(M).iter().map(|a| a.id).collect::<Vec<_>>(),
        [3, 1]
    );
}

#[test]
fn a_push_after_a_missed_one_waits_for_the_catch_up_and_nothing_is_lost() {
    let mut inbox = AlertInbox::default();
    let _ = inbox.pushed(M, "validator-1", change(1, 1, AlertChangeKind::Fired), 0);
    // 2 was lost on the way; 3 arrives.
    let (told, missed) = inbox.pushed(M, "validator-1", change(3, 1, AlertChangeKind::Resolved), 0);
    assert!(told.is_empty() && missed);
    assert_eq!(inbox.last_seq(M), 1, "3 waits");
    let told = inbox
        .caught_up(
            M,
            "validator-1",
            vec![
                change(2, 2, AlertChangeKind::Fired),
                change(3, 1, AlertChangeKind::Resolved),
            ],
            facts(&inbox, 3, true),
            0,
        )
        .notices;
    assert_eq!(
        titles(&told),
        ["validator-1: resolved", "validator-1: warning"]
    );
    assert_eq!(inbox.last_seq(M), 3);
}

#[test]
fn a_muted_alert_is_quiet_and_does_not_turn_the_dot() {
    let mut inbox = AlertInbox::default();
    let mut muted = change(1, 1, AlertChangeKind::Fired);
    muted.alert.muted_until_ms = Some(1_000);
    assert!(inbox.pushed(M, "validator-1", muted, 0).0.is_empty());
    assert_eq!(inbox.worst(999), None);
    assert_eq!(
        inbox.worst(1_000),
        Some(Severity::Warning),
        "the mute ran out"
    );
    inbox.forget(M);
    assert_eq!(inbox.last_seq(M), 0);
}

#[test]
fn a_first_catch_up_tells_what_is_open_not_the_history_and_many_as_one() {
    let mut inbox = AlertInbox::default();
    inbox.catching_up(M);
    let mut history = Vec::new();
    for id in 1..=3 {
        history.push(change(2 * id - 1, id, AlertChangeKind::Fired));
        history.push(change(2 * id, id, AlertChangeKind::Resolved));
    }
    history.push(change(7, 4, AlertChangeKind::Fired));
    let told = inbox.caught_up(M, "validator-1", history, facts(&inbox, 7, true), 0);
    assert_eq!(titles(&told.notices), ["validator-1: warning"]);
    assert_eq!(inbox.all().len(), 4, "the history is kept, only not told");

    // A manager with many open alerts at once is one notification.
    let mut inbox = AlertInbox::default();
    inbox.catching_up(M);
    let open: Vec<AlertChange> = (1..=5)
        .map(|id| change(id, id, AlertChangeKind::Fired))
        .collect();
    let told = inbox.caught_up(M, "validator-1", open, facts(&inbox, 5, true), 0);
    assert_eq!(
        told.notices,
        [AlertNotice {
            title: "validator-1: 5 alerts changed".into(),
            body: "5 warning; open NodePair to see them".into(),
        }]
    );
}

#[test]
fn a_manager_whose_log_began_again_is_read_from_its_start_and_what_it_had_is_dropped() {
    let mut inbox = AlertInbox::default();
    for seq in 1..=9 {
        let _ = inbox.pushed(
            M,
            "validator-1",
            change(seq, seq, AlertChangeKind::Fired),
            0,
        );
    }
    assert_eq!(inbox.open(M).len(), 9);
    inbox.catching_up(M);
    // Its state directory was wiped: its log holds two changes.
    let after = inbox.caught_up(M, "validator-1", Vec::new(), facts(&inbox, 2, true), 0);
    assert!(after.again && after.notices.is_empty());
    assert_eq!(inbox.last_seq(M), 0, "read again from the start");
    let told = inbox.caught_up(
        M,
        "validator-1",
        vec![
            change(1, 1, AlertChangeKind::Fired),
            change(2, 1, AlertChangeKind::Resolved),
        ],
        facts(&inbox, 2, true),
        0,
    );
    assert!(told.notices.is_empty(), "nothing open: nothing told");
    assert!(inbox.open(M).is_empty(), "the old log's alerts are gone");
    assert_eq!(inbox.last_seq(M), 2);
}

#[test]
fn changes_dropped_while_away_make_the_catch_up_read_everything_so_nothing_stays_open_wrongly() {
    let mut inbox = AlertInbox::default();
    let _ = inbox.pushed(M, "validator-1", change(1, 1, AlertChangeKind::Fired), 0);
    let _ = inbox.pushed(M, "validator-1", change(2, 2, AlertChangeKind::Fired), 0);
    inbox.catching_up(M);
    // While away, alert 1 resolved (seq 3) and that change was dropped
    // from the bounded log; alert 3 fired (seq 9000).
    let gap = PageFacts {
        last_seq: 9000,
        gap: true,
        ended: true,
        read: true,
        ticket: inbox.ticket(M),
    };
    let after = inbox.caught_up(
        M,
        "validator-1",
        vec![change(9000, 3, AlertChangeKind::Fired)],
        gap,
        0,
    );
    assert!(after.again, "read the whole log");
    // The whole log: alert 2's last change (kept: it is open) and 3's.
    let told = inbox.caught_up(
        M,
        "validator-1",
        vec![
            change(2, 2, AlertChangeKind::Fired),
            change(9000, 3, AlertChangeKind::Fired),
        ],
        gap,
        0,
    );
    assert_eq!(
        inbox.open(M).iter().map(|a| a.id).collect::<Vec<_>>(),
        [3, 2],
        "alert 1 is no longer open"
    );
    assert_eq!(
        titles(&told.notices),
        ["validator-1: warning"],
        "only 3 is new"
    );
    assert_eq!(inbox.last_seq(M), 9000);
}

#[test]
fn a_flood_of_alerts_is_bounded_and_a_summary_cannot_carry_markup() {
    let mut inbox = AlertInbox::default();
    for seq in 1..=(MAX_OPEN as u64 + 50) {
        let mut c = change(seq, seq, AlertChangeKind::Fired);
        c.alert.summary = format!("<b>{}</b> & more\u{7}", "x".repeat(300));
        // A minute apart: each is told.
        let (told, _) = inbox.pushed(M, "validator-1", c, seq * 61_000);
        assert!(!told[0].body.contains('<') && !told[0].body.contains('\u{7}'));
        assert!(told[0].body.starts_with("&lt;b&gt;xxx") && told[0].body.ends_with('…'));
    }
    assert_eq!(inbox.open(M).len(), MAX_OPEN);
    assert_eq!(
        inbox.open(M)[0].id,
        MAX_OPEN as u64 + 50,
        "the newest are kept"
    );
}

#[test]
fn a_page_that_fails_mid_catch_up_loses_nothing_it_did_not_read() {
    let mut inbox = AlertInbox::default();
    inbox.catching_up(M);
    let first: Vec<AlertChange> = (1..=40)
        .map(|seq| change(seq, seq, AlertChangeKind::Fired))
        .collect();
    assert!(
        inbox
            .caught_up(M, "validator-1", first, facts(&inbox, 3000, false), 0)
            .again
    );
    // Pushes wait: 41 follows on, 3001 comes after a hole.
    let _ = inbox.pushed(
        M,
        "validator-1",
        change(3001, 3001, AlertChangeKind::Fired),
        0,
    );
    // The next page never comes.
    let failed = PageFacts {
        last_seq: 40,
        gap: false,
        ended: true,
        read: false,
        ticket: inbox.ticket(M),
    };
    let after = inbox.caught_up(M, "validator-1", Vec::new(), failed, 0);
    assert!(!after.again);
    assert_eq!(inbox.last_seq(M), 40, "3001 is not taken over the hole");
    // The next push sees the hole and starts a catch-up of it.
    let (_, missed) = inbox.pushed(
        M,
        "validator-1",
        change(3002, 3002, AlertChangeKind::Fired),
        0,
    );
    assert!(missed);
}

#[test]
fn an_unpaired_manager_stays_forgotten_until_it_is_paired_again() {
    let mut inbox = AlertInbox::default();
    let _ = inbox.pushed(M, "validator-1", change(1, 1, AlertChangeKind::Fired), 0);
    inbox.catching_up(M);
    inbox.forget(M);
    // The catch-up under way, and a push in flight, bring nothing back.
    let late = inbox.caught_up(
        M,
        "validator-1",
        vec![change(2, 2, AlertChangeKind::Fired)],
        facts(&inbox, 2, true),
        0,
    );
    assert_eq!(late, AfterPage::default());
    assert!(
        inbox
            .pushed(M, "validator-1", change(3, 3, AlertChangeKind::Fired), 0)
            .0
            .is_empty()
    );
    assert!(inbox.all().is_empty() && inbox.worst(0).is_none());
    // Paired again and online: taken as new.
    inbox.catching_up(M);
    let told = inbox.caught_up(
        M,
        "validator-1",
        vec![change(1, 1, AlertChangeKind::Fired)],
        facts(&inbox, 1, true),
        0,
    );
    assert_eq!(titles(&told.notices), ["validator-1: warning"]);
    // One unpaired while the app was closed goes at the next start.
    inbox.retain(&[]);
    assert!(inbox.all().is_empty());
}

#[test]
fn a_manager_pushing_alert_after_alert_is_told_five_a_minute_then_once_that_there_are_more() {
    let mut inbox = AlertInbox::default();
    let mut told = Vec::new();
    for seq in 1..=9 {
        told.extend(
            inbox
                .pushed(
                    M,
                    "<b>box</b>",
                    change(seq, seq, AlertChangeKind::Fired),
                    seq * 1000,
                )
                .0,
        );
    }
    assert_eq!(told.len(), 6);
    assert_eq!(
        told[0].title, "&lt;b&gt;box&lt;/b&gt;: warning",
        "a name is no markup either"
    );
    assert_eq!(told[5].title, "&lt;b&gt;box&lt;/b&gt;: more alerts");
    assert_eq!(inbox.open(M).len(), 9, "all are kept and shown");
    // A minute later, told again.
    let (later, _) = inbox.pushed(
        M,
        "<b>box</b>",
        change(10, 10, AlertChangeKind::Fired),
        80_000,
    );
    assert_eq!(later.len(), 1);
}

#[test]
fn a_gap_seen_on_a_later_page_of_a_first_catch_up_keeps_it_quiet() {
    let mut inbox = AlertInbox::default();
    inbox.catching_up(M);
    let history: Vec<AlertChange> = (1..=40)
        .map(|seq| {
            change(
                seq,
                seq,
                if seq % 2 == 1 {
                    AlertChangeKind::Fired
                } else {
                    AlertChangeKind::Resolved
                },
            )
        })
        .collect();
    assert!(
        inbox
            .caught_up(M, "validator-1", history, facts(&inbox, 9000, false), 0)
            .again
    );
    // The manager compacted its log meanwhile: read again from the start.
    let gap = PageFacts {
        last_seq: 9000,
        gap: true,
        ended: false,
        read: true,
        ticket: inbox.ticket(M),
    };
    assert!(inbox.caught_up(M, "validator-1", Vec::new(), gap, 0).again);
    assert_eq!(inbox.last_seq(M), 0);
    let told = inbox.caught_up(
        M,
        "validator-1",
        vec![
            change(8999, 500, AlertChangeKind::Resolved),
            change(9000, 501, AlertChangeKind::Fired),
        ],
        PageFacts { ended: true, ..gap },
        0,
    );
    assert_eq!(
        titles(&told.notices),
        ["validator-1: warning"],
        "what is open, not the history"
    );
}

#[test]
fn a_catch_up_taken_over_reads_no_further_and_the_new_one_goes_on_from_where_it_got() {
    let mut inbox = AlertInbox::default();
    let old = inbox.catching_up(M);
    let page = |ticket| PageFacts {
        last_seq: 3,
        gap: false,
        ended: false,
        read: true,
        ticket,
    };
    let first = vec![change(1, 1, AlertChangeKind::Fired)];
    assert!(inbox.caught_up(M, "validator-1", first, page(old), 0).again);
    // The session renewed: a new catch-up takes over.
    let new = inbox.catching_up(M);
    let stale = inbox.caught_up(
        M,
        "validator-1",
        vec![change(2, 2, AlertChangeKind::Fired)],
        page(old),
        0,
    );
    assert_eq!(stale, AfterPage::default(), "the old one stops");
    assert_eq!(inbox.last_seq(M), 1, "and takes nothing");
    let told = inbox.caught_up(
        M,
        "validator-1",
        vec![
            change(2, 2, AlertChangeKind::Fired),
            change(3, 3, AlertChangeKind::Fired),
        ],
        PageFacts {
            ended: true,
            ..page(new)
        },
        0,
    );
    assert_eq!(
        told.notices.len(),
        3,
        "all three, told once: {:?}",
        told.notices
    );
}

#[test]
fn a_manager_that_keeps_pushing_is_told_there_are_more_each_time_a_told_one_came_between() {
    let mut inbox = AlertInbox::default();
    let mut more = 0;
    for seq in 1..=40 {
        // One every 5 s for over three minutes: 12 a minute.
        let (told, _) = inbox.pushed(
            M,
            "validator-1",
            change(seq, seq, AlertChangeKind::Fired),
            seq * 5_000,
        );
        more += told
            .iter()
            .filter(|n| n.title.ends_with("more alerts"))
            .count();
    }
    assert!(
        more >= 3,
        "said again after told ones, not silent for good: {more}"
    );
}

#[test]
fn a_first_catch_up_whose_page_fails_stays_quiet_for_the_next() {
    let mut inbox = AlertInbox::default();
    let ticket = inbox.catching_up(M);
    let failed = PageFacts {
        last_seq: 0,
        gap: false,
        ended: true,
        read: false,
        ticket,
    };
    let _ = inbox.caught_up(M, "validator-1", Vec::new(), failed, 0);
    // The next push shows the whole history is unread: a catch-up, quiet.
    let (_, missed) = inbox.pushed(M, "validator-1", change(50, 9, AlertChangeKind::Fired), 0);
    assert!(missed);
    let history: Vec<AlertChange> = (1..=49)
        .map(|seq| {
            change(
                seq,
                seq,
                if seq % 2 == 1 {
                    AlertChangeKind::Fired
                } else {
                    AlertChangeKind::Resolved
                },
            )
        })
        .collect();
    let told = inbox.caught_up(M, "validator-1", history, facts(&inbox, 50, true), 0);
    // Quiet: the 25 open at the end are told (as one), not the 24 resolved.
    assert_eq!(
        told.notices,
        [AlertNotice {
            title: "validator-1: 25 alerts changed".into(),
            body: "25 warning; open NodePair to see them".into(),
        }]
    );
}
