//! A vault writer killed with SIGKILL at any moment, and in particular
//! between writing its temporary file and renaming it over the vault,
//! leaves a vault that opens and holds every entry it confirmed.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use nodepair_keystore::{EntryName, KdfParams, Keystore, Vault};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PASSPHRASE: &[u8] = b"crash test";
const ROLE: &str = "NODEPAIR_CRASH_TEST_WRITER";
const FAST: KdfParams = KdfParams {
    m_kib: 64,
    t: 1,
    p: 1,
};

/// In the child: put `peer.N = N` for N = 0, 1, 2, … and say "ok N" after
/// each put returned, until killed.
fn writer(path: &Path) -> ! {
    let vault = Vault::open(path, PASSPHRASE).unwrap();
    let mut n = vault.names().unwrap().len();
    loop {
        let name = EntryName::new(format!("peer.{n}")).unwrap();
        vault.put(&name, n.to_string().as_bytes()).unwrap();
        println!("ok {n}");
        n += 1;
    }
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".tmp-"))
        .collect()
}

#[test]
fn a_writer_killed_mid_write_loses_nothing_it_confirmed() {
    if let Some(path) = std::env::var_os(ROLE) {
        writer(Path::new(&path));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault");
    drop(Vault::create(&path, PASSPHRASE, FAST).unwrap());

    let mut confirmed = 0usize; // entries peer.0 .. peer.{confirmed-1} were confirmed
    let mut mid_write = 0;
    let started = Instant::now();
    for attempt in 0..400 {
        if mid_write >= 5 && attempt >= 20 {
            break;
        }
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_writer_killed_mid_write_loses_nothing_it_confirmed",
                "--nocapture",
            ])
            .env(ROLE, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Let it confirm a few writes, then kill it the moment its next
        // temporary file exists.
        let wait_for = 1 + attempt % 3;
        let mut seen = 0;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("ok ") {
                confirmed = confirmed.max(n.parse::<usize>().unwrap() + 1);
                seen += 1;
                if seen == wait_for {
                    break;
                }
            }
        }
        let deadline = Instant::now() + Duration::from_millis(200);
        let mut caught = false;
        while Instant::now() < deadline {
            if !temp_files(dir.path()).is_empty() {
                caught = true;
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // Whatever it printed before dying was confirmed too.
        for line in lines.map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("ok ") {
                confirmed = confirmed.max(n.parse::<usize>().unwrap() + 1);
            }
        }
        if caught && !temp_files(dir.path()).is_empty() {
            mid_write += 1;
        }

        let vault = Vault::open(&path, PASSPHRASE)
            .unwrap_or_else(|e| panic!("attempt {attempt}: the vault no longer opens: {e}"));
        assert!(
            temp_files(dir.path()).is_empty(),
            "the opener removed stale temp files"
        );
        let names = vault.names().unwrap();
        assert!(
            names.len() == confirmed || names.len() == confirmed + 1,
            "attempt {attempt}: {} entries, {confirmed} confirmed",
            names.len()
        );
        for n in 0..names.len() {
            let value = vault
                .get(&EntryName::new(format!("peer.{n}")).unwrap())
                .unwrap()
                .unwrap_or_else(|| panic!("attempt {attempt}: peer.{n} lost"));
            assert_eq!(value.expose(), n.to_string().as_bytes());
        }
        confirmed = names.len();
    }
    eprintln!("{mid_write} kills between write and rename; {confirmed} entries confirmed");
    assert!(
        mid_write >= 5,
        "only {mid_write} kills landed between write and rename in {:?}",
        started.elapsed()
    );
}
