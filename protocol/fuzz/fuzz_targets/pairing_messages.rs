//! Everything a pairing hears on its topics comes from anyone holding the
//! code, or anyone at all: raw bytes, and genuine messages of this pairing
//! (sealed with its code) with bytes flipped, fed to both roles at every
//! step. Nothing may panic, and nothing may pair with anyone but the one
//! genuine other side.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepair_protocol::identity::{NodeId, StaticKeypair};
use nodepair_protocol::pairing::{LocalIdentity, Pairing, PairingConfig, PairingEvent};
use nodepair_protocol::PairingCode;
use std::time::{Duration, Instant};

fn identity(seed: u8) -> LocalIdentity {
    LocalIdentity {
        keypair: StaticKeypair::from_secret([seed; 32]),
        display_name: format!("side {seed}"),
        node_id: NodeId::from_random([seed; 16]),
        capabilities: vec!["host".into()],
    }
}

fuzz_target!(|data: &[u8]| {
    let code = PairingCode::from_u64(0x0123_4567_89ab_cdef);
    let mut now = Instant::now();
    let mut app = Pairing::app(&code, identity(1), now, PairingConfig::default(), [1; 32]);
    let mut manager = Pairing::manager(&code, identity(2), now, PairingConfig::default(), [2; 32]);
    let mut heard: Vec<Vec<u8>> = Vec::new();
    for chunk in data.split(|b| *b == 0xff).take(24) {
        let Some((&mode, rest)) = chunk.split_first() else { continue };
        // What the two genuine sides said so far, passed on.
        while let Some(t) = manager.poll_transmit() {
            app.handle_message(now, &t.payload);
            heard.push(t.payload);
        }
        while let Some(t) = app.poll_transmit() {
            manager.handle_message(now, &t.payload);
            heard.push(t.payload);
        }
        for (p, other) in [(&mut app, identity(2)), (&mut manager, identity(1))] {
            while let Some(event) = p.poll_event() {
                match event {
                    PairingEvent::Compare(_) => p.confirm(now, mode & 2 == 0),
                    PairingEvent::Paired(paired) => {
                        assert!(paired.counterparty.static_key == other.keypair.public());
                    }
                    _ => {}
                }
            }
        }
        // Then something of the attacker's: raw, or a genuine message bent.
        let message = if mode & 1 == 0 || heard.is_empty() {
            rest.to_vec()
        } else {
            let mut m = heard[usize::from(mode) % heard.len()].clone();
            for (i, b) in rest.iter().enumerate().take(8) {
                let at = usize::from(*b) % m.len();
                m[at] ^= 1 << (i % 8);
            }
            m
        };
        if mode & 4 == 0 {
            app.handle_message(now, &message);
        } else {
            manager.handle_message(now, &message);
        }
        now += Duration::from_millis(u64::from(mode) * 40);
        app.handle_timeout(now);
        manager.handle_timeout(now);
    }
});
