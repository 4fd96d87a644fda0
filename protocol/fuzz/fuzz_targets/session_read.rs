//! The session's read path sees everything published on its topic. Each
//! input is a list of messages, either raw bytes or a genuine sealed message
//! with bytes flipped; fed to an established session, none may panic, and
//! the session must stay up unless the peer genuinely closed it.
//!
//! The established pair is made once per process (a handshake under the
//! sanitizer costs milliseconds) and made again when an input closed it, so
//! state carries from one input to the next as it does on a real topic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepair_protocol::frame::{Frame, Request};
use nodepair_protocol::identity::StaticKeypair;
use nodepair_protocol::session::{Session, in_memory_pair};
use std::cell::RefCell;
use std::time::Instant;

thread_local! {
    static PAIR: RefCell<Option<(Instant, Session, Session)>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    PAIR.with_borrow_mut(|pair| {
        if pair.as_ref().is_none_or(|(_, _, sb)| sb.is_closed()) {
            let now = Instant::now();
            let a = StaticKeypair::from_secret([1; 32]);
            let b = StaticKeypair::from_secret([2; 32]);
            let (sa, sb) = in_memory_pair(a, b, now);
            *pair = Some((now, sa, sb));
        }
        let (now, sa, sb) = pair.as_mut().expect("made above");
        let now = *now;
        for chunk in data.split(|b| *b == 0xff).take(16) {
            let Some((&mode, rest)) = chunk.split_first() else { continue };
            let message = if mode & 1 == 0 {
                rest.to_vec()
            } else {
                let body = rest.to_vec().into();
                let _ = sa.send(Frame::Request(Request { id: 1, method: "x".into(), body }));
                let Some(mut genuine) = sa.poll_transmit() else { continue };
                for (i, b) in rest.iter().enumerate().take(8) {
                    let at = usize::from(*b) % genuine.len();
                    genuine[at] ^= 1 << (i % 8);
                }
                genuine
            };
            sb.handle_message(now, &message);
            while sb.poll_event().is_some() {}
            while sb.poll_transmit().is_some() {}
        }
        assert!(sb.is_online() || sb.is_closed());
    });
});
