//! How long a vault takes to unlock with the default Argon2id parameters
//! (64 MiB, t = 3, p = 1): the cost an operator pays at each start, and the
//! cost an attacker pays per guessed passphrase.
//!
//! `cargo bench -p nodepair-keystore --bench vault`

#![allow(clippy::unwrap_used, missing_docs)]

use nodepair_keystore::{EntryName, KdfParams, Keystore, Vault};
use std::time::{Duration, Instant};

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault");
    let params = KdfParams::default();
    let vault = Vault::create(&path, b"bench passphrase", params).unwrap();
    for i in 0..20 {
        let name = EntryName::new(format!("peer.{i}")).unwrap();
        vault.put(&name, &[7u8; 200]).unwrap();
    }
    drop(vault);
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let v = Vault::open(&path, b"bench passphrase").unwrap();
            let d = t.elapsed();
            drop(v);
            d
        })
        .collect();
    times.sort();
    println!();
    println!(
        "| vault unlock, Argon2id m={} KiB t={} p={}, 20 entries | ms |",
        params.m_kib, params.t, params.p
    );
    println!("|---|---:|");
    println!("| fastest of 5 | {:.0} |", times[0].as_secs_f64() * 1e3);
    println!("| median of 5 | {:.0} |", times[2].as_secs_f64() * 1e3);
}
