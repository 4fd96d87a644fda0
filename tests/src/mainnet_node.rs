//! An Ethereum node on mainnet's clock, for pictures of a synced node: a beacon node and an execution client whose heads follow the wall clock as mainnet's would, and the execution client's journal in geth's own format with the same block numbers (made-up, mainnet-like; see `tests/fixtures/ethereum/SOURCES.md`).

use crate::staking_node::clock_slot;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The Merge: the first proof-of-stake slot and its execution block.
const MERGE_SLOT: u64 = 4_700_013;
const MERGE_BLOCK: u64 = 15_537_394;
/// What the two clients call themselves (versions of their day, made up).
const BEACON_VERSION: &str = "Lighthouse/v7.0.1-e42406d/x86_64-linux";
const EXECUTION_VERSION: &str = "Geth/v1.15.11-stable-36b2371c/linux-amd64/go1.24.2";
/// Peers each client has: typical of a mainnet node at default limits.
const BEACON_PEERS: u64 = 84;
const EXECUTION_PEERS: u64 = 50;

/// The execution block at `slot`: one per slot since the Merge, less the
/// one slot in a hundred that mainnet misses.
pub fn block_at(slot: u64) -> u64 {
    MERGE_BLOCK + slot.saturating_sub(MERGE_SLOT) * 99 / 100
}

/// The head block now.
pub fn head_block() -> u64 {
    block_at(clock_slot())
}

/// An answer's body, made when asked.
type Body = fn() -> serde_json::Value;

fn json_rpc(result: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"jsonrpc": "2.0", "id": 1, "result": result}))
}

/// A synced beacon node and execution client at the clock's head.
///
/// # Panics
///
/// Never: mocks only mount.
pub async fn mainnet_node() -> (MockServer, MockServer) {
    let beacon = MockServer::start().await;
    let answers: [(&str, Body); 3] = [
        (
            "/eth/v1/node/version",
            || json!({"data": {"version": BEACON_VERSION}}),
        ),
        ("/eth/v1/node/syncing", || {
            json!({"data": {"head_slot": clock_slot().to_string(), "sync_distance": "0",
                "is_syncing": false, "is_optimistic": false, "el_offline": false}})
        }),
        ("/eth/v1/node/peer_count", || {
            json!({"data": {"disconnected": "1210", "connecting": "0",
                "connected": BEACON_PEERS.to_string(), "disconnecting": "2"}})
        }),
    ];
    for (p, body) in answers {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(move |_: &Request| ResponseTemplate::new(200).set_body_json(body()))
            .mount(&beacon)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/eth/v1/node/health"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&beacon)
        .await;
    let execution = MockServer::start().await;
    let answers: [(&str, Body); 4] = [
        ("web3_clientVersion", || json!(EXECUTION_VERSION)),
        ("eth_syncing", || json!(false)),
        ("eth_blockNumber", || json!(format!("{:#x}", head_block()))),
        ("net_peerCount", || json!(format!("{EXECUTION_PEERS:#x}"))),
    ];
    for (m, result) in answers {
        Mock::given(method("POST"))
            .and(body_partial_json(json!({"method": m})))
            .respond_with(move |_: &Request| json_rpc(result()))
            .mount(&execution)
            .await;
    }
    (beacon, execution)
}

/// Writes geth's journal to `path` as `journalctl --output=short-iso` shows
/// it: the last `history` blocks at the times they came, then each new block
/// as the clock reaches it, until the returned task is dropped with the
/// runtime.
///
/// # Panics
///
/// When the file cannot be opened.
pub fn write_geth_journal(path: PathBuf, history: u64) -> tokio::task::JoinHandle<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("the journal file opens");
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "node".into());
    tokio::spawn(async move {
        let mut next = head_block().saturating_sub(history);
        loop {
            let head = head_block();
            while next <= head {
                for line in geth_lines(next, &hostname) {
                    let _ = writeln!(file, "{line}");
                }
                next += 1;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

/// When block `number` came: its slot's start, less the missed slots.
fn block_time(number: u64) -> SystemTime {
    let slot = MERGE_SLOT + (number - MERGE_BLOCK) * 100 / 99;
    UNIX_EPOCH + Duration::from_secs(crate::staking_node::GENESIS + slot * 12)
}

/// What geth logs for block `number`, prefixed as journald shows it.
fn geth_lines(number: u64, hostname: &str) -> Vec<String> {
    let at = block_time(number) + Duration::from_millis(1_400 + number % 600);
    let prefix = format!("{} {hostname} geth[1187]:", iso_time(at));
    let stamp = geth_time(at);
    let hash = (number.wrapping_mul(2_654_435_761) as u32, number % 0xffff);
    let txs = 120 + number % 97;
    let gas = 10.0 + (number % 13) as f64 * 0.731;
    let mut lines = vec![
        format!(
            "{prefix} INFO [{stamp}] Imported new potential chain segment     number={number} hash=0x{:08x}..{:04x} blocks=1 txs={txs} mgas={gas:.3} elapsed=212.304ms mgasps={:.3}",
            hash.0,
            hash.1,
            gas / 0.212
        ),
        format!(
            "{prefix} INFO [{stamp}] Chain head was updated                   number={number} hash=0x{:08x}..{:04x} root=0x{:08x}..{:04x} elapsed=1.523ms",
            hash.0,
            hash.1,
            number.wrapping_mul(40_503) as u32,
            (number * 7) % 0xffff
        ),
    ];
    if number.is_multiple_of(5) {
        lines.push(format!(
            "{prefix} INFO [{stamp}] Looking for peers                        peercount={EXECUTION_PEERS} tried=112 static=0"
        ));
    }
    lines
}

/// The civil time of `at` in UTC: year, month, day, hour, minute, second,
/// millisecond.
fn civil(at: SystemTime) -> [u64; 7] {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (days, secs) = (since.as_secs() / 86_400, since.as_secs() % 86_400);
    // Days since 1970-01-01 to a proleptic Gregorian date.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    let millis = u64::from(since.subsec_millis());
    [
        year,
        month,
        day,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        millis,
    ]
}

/// `YYYY-MM-DDThh:mm:ss+0000`, as `journalctl --output=short-iso` stamps lines.
fn iso_time(at: SystemTime) -> String {
    let [year, month, day, h, m, s, _] = civil(at);
    format!("{year}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}+0000")
}

/// `MM-DD|hh:mm:ss.mmm` in UTC, as geth stamps its lines.
fn geth_time(at: SystemTime) -> String {
    let [_, month, day, h, m, s, millis] = civil(at);
    format!("{month:02}-{day:02}|{h:02}:{m:02}:{s:02}.{millis:03}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_comes_back_to_its_slot_and_times_read_as_mainnets() {
        // A block's time is its slot's, give or take the one missed.
        for slot in [MERGE_SLOT, 10_000_000, 15_800_123] {
            let at = block_time(block_at(slot));
            let back = (at.duration_since(UNIX_EPOCH).unwrap().as_secs()
                - crate::staking_node::GENESIS)
                / 12;
            assert!(back.abs_diff(slot) <= 1, "{slot}: {back}");
        }
        // Genesis, as both stamps write it.
        assert_eq!(
            iso_time(UNIX_EPOCH + Duration::from_secs(1_606_824_023)),
            "2020-12-01T12:00:23+0000"
        );
        assert_eq!(
            geth_time(UNIX_EPOCH + Duration::from_millis(1_733_580_000_250)),
            "12-07|14:00:00.250"
        );
    }
}
