//! What the protocol costs: pairing derivation, HELLO seal/open, a full KK
//! handshake, and session encrypt+decrypt of 1 KiB frames side by side with
//! raw ChaCha20-Poly1305 on the same input.
//!
//! `cargo bench -p nodepair-protocol --bench protocol`; after criterion's own
//! report, a table prints the session's throughput against raw
//! ChaCha20-Poly1305 — both the RustCrypto crate and ring, which the session
//! runs on — measured interleaved in the same run.

// A bench times the real machine; protocol/'s own code takes time as an argument.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used, missing_docs)]

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use criterion::{Criterion, Throughput, criterion_group};
use nodepair_protocol::PairingKeys;
use nodepair_protocol::frame::{ByteString, Event, Frame};
use nodepair_protocol::hello::{Hello, Role};
use nodepair_protocol::identity::{NodeId, StaticKeypair};
use nodepair_protocol::pairing_code::PairingCode;
use nodepair_protocol::session::{Session, in_memory_pair};
use std::hint::black_box;
use std::time::Instant;

const FRAME: usize = 1024;

/// Two sessions with keys up.
fn established() -> (Session, Session) {
    let a = StaticKeypair::from_secret([1; 32]);
    let b = StaticKeypair::from_secret([2; 32]);
    in_memory_pair(a, b, Instant::now())
}

fn frame() -> Frame {
    // A 1 KiB event frame, encoded: the body fills it up.
    let mut body = vec![0x5a; FRAME];
    loop {
        let f = Frame::Event(Event {
            stream: ByteString::from_static("logs"),
            seq: 1,
            body: body.clone().into(),
        });
        let len = f.encode().len();
        if len == FRAME {
            return f;
        }
        body.truncate(body.len() - (len - FRAME));
    }
}

fn session_round(sa: &mut Session, sb: &mut Session, f: &Frame, now: Instant) {
    // Cloning the frame shares its body and stream name (both `Bytes`), as
    // a stream pushing events does; the session then encodes the body into
    // the message and seals it.
    sa.send(f.clone()).unwrap();
    let m = sa.poll_transmit().unwrap();
    sb.handle_message(now, &m);
    black_box(sb.poll_event().unwrap());
}

fn raw_round(cipher: &ChaCha20Poly1305, buf: &mut Vec<u8>, plain: &[u8], nonce: u64) {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&nonce.to_le_bytes());
    let nonce = Nonce::from(n);
    buf.clear();
    buf.extend_from_slice(plain);
    cipher.encrypt_in_place(&nonce, &[], buf).unwrap();
    cipher.decrypt_in_place(&nonce, &[], buf).unwrap();
    black_box(&buf);
}

/// ring's ChaCha20-Poly1305: the implementation the session runs on.
fn ring_round(key: &ring::aead::LessSafeKey, buf: &mut Vec<u8>, plain: &[u8], nonce: u64) {
    use ring::aead::{Aad, Nonce};
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&nonce.to_le_bytes());
    buf.clear();
    buf.extend_from_slice(plain);
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(n), Aad::empty(), buf)
        .unwrap();
    let opened = key
        .open_in_place(Nonce::assume_unique_for_key(n), Aad::empty(), buf)
        .unwrap();
    black_box(opened);
}

fn ring_key() -> ring::aead::LessSafeKey {
    let unbound = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, &[7u8; 32]).unwrap();
    ring::aead::LessSafeKey::new(unbound)
}

fn benches(c: &mut Criterion) {
    let code = PairingCode::from_u64(0x0123_4567_89ab_cdef);
    c.bench_function("pairing: derive T and HS from P", |b| {
        b.iter(|| PairingKeys::derive(black_box(&code)))
    });

    let keys = PairingKeys::derive(&code);
    let hello = Hello {
        role: Role::Manager,
        static_key: StaticKeypair::from_secret([9; 32]).public(),
        display_name: "validator-1".into(),
        node_id: NodeId::from_random([5; 16]),
        capabilities: vec!["host".into(), "ethereum".into()],
        nonce: [3; 32],
        answers: None,
    };
    c.bench_function("HELLO: seal + open", |b| {
        b.iter(|| {
            let sealed = hello.seal(&keys, [1; 24]);
            Hello::open(black_box(&sealed), &keys).unwrap()
        })
    });

    c.bench_function("session: full KK handshake (both sides)", |b| {
        b.iter(established)
    });

    let f = frame();
    let plain = f.encode();
    let mut group = c.benchmark_group("1 KiB frame: encrypt + decrypt");
    group.throughput(Throughput::Bytes(FRAME as u64));
    let (mut sa, mut sb) = established();
    let now = Instant::now();
    group.bench_function(
        "session (frame encode, seal, replay check, open, decode)",
        |b| b.iter(|| session_round(&mut sa, &mut sb, &f, now)),
    );
    let cipher = ChaCha20Poly1305::new(&[7u8; 32].into());
    let mut buf = Vec::with_capacity(FRAME + 16);
    let mut nonce = 0u64;
    group.bench_function("raw ChaCha20-Poly1305 (chacha20poly1305 crate)", |b| {
        b.iter(|| {
            nonce += 1;
            raw_round(&cipher, &mut buf, &plain, nonce)
        })
    });
    let key = ring_key();
    group.bench_function("raw ChaCha20-Poly1305 (ring)", |b| {
        b.iter(|| {
            nonce += 1;
            ring_round(&key, &mut buf, &plain, nonce)
        })
    });
    group.finish();
}

/// Measures all three in one run and prints the ratios.
///
/// This machine is shared and its speed drifts by a third within seconds,
/// so the three are run in short blocks (1000 frames), one after another
/// in an order that turns each time, 300 times; each ratio is the median
/// of the ratios of blocks run side by side, and the throughputs are the
/// medians of the blocks'.
fn ratio_table() {
    const BLOCK: u32 = 1_000;
    const BLOCKS: usize = 300;
    let f = frame();
    let plain = f.encode();
    let (mut sa, mut sb) = established();
    let cipher = ChaCha20Poly1305::new(&[7u8; 32].into());
    let key = ring_key();
    let mut buf = Vec::with_capacity(FRAME + 16);
    let now = Instant::now();
    let mut nonce = 0;
    // Per block: session, RustCrypto, ring, in seconds.
    let mut blocks: Vec<[f64; 3]> = Vec::with_capacity(BLOCKS);
    for i in 0..BLOCKS {
        let mut times = [0f64; 3];
        for k in 0..3 {
            let which = (i + k) % 3;
            let t = Instant::now();
            for _ in 0..BLOCK {
                nonce += 1;
                match which {
                    0 => session_round(&mut sa, &mut sb, &f, now),
                    1 => raw_round(&cipher, &mut buf, &plain, nonce),
                    _ => ring_round(&key, &mut buf, &plain, nonce),
                }
            }
            times[which] = t.elapsed().as_secs_f64();
        }
        blocks.push(times);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mib = |secs: f64| f64::from(BLOCK) * FRAME as f64 / secs / (1024.0 * 1024.0);
    let speed = |k: usize| mib(median(blocks.iter().map(|b| b[k]).collect()));
    // session / other, in throughput: the other's time over the session's.
    let ratio = |k: usize| median(blocks.iter().map(|b| b[k] / b[0]).collect());
    println!();
    println!("| 1 KiB frames, encrypt + decrypt | MiB/s | session / this |");
    println!("|---|---:|---:|");
    println!("| NodePair session | {:.1} | 1.00 |", speed(0));
    println!(
        "| raw ChaCha20-Poly1305, chacha20poly1305 crate | {:.1} | {:.2} |",
        speed(1),
        ratio(1)
    );
    println!(
        "| raw ChaCha20-Poly1305, ring (what the session uses) | {:.1} | {:.2} |",
        speed(2),
        ratio(2)
    );
}

criterion_group!(group, benches);

fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
    ratio_table();
}
