//! The `validators` capability as the manager answers it: a round every slot reading the beacon node (and the keymanager, when one is configured), kept in the watch, and `validators.status` answered from it.

use super::reader::Api;
use super::settings::{Token, read_token};
use super::settings::MAX_VALIDATORS;
use super::watch::{Round, SLOT_MS, SLOTS_PER_EPOCH, Watch, checked_head};
use crate::answer::{Answer, Setup, ok, ready, request, unknown};
use anyhow::Context;
use bytes::Bytes;
use nodepair_peer::{Caller, ReplyFuture};
use nodepair_protocol::api::reading::{ReadErrorKind, Reading};
use nodepair_protocol::api::validators::{
    CAPABILITY, ChainPosition, EPOCHS_PER_SYNC_PERIOD, ValidatorsStatus,
};
use std::collections::HashSet;
use nodepair_protocol::api::Method;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The watch, shared by the rounds and the answers.
pub(crate) struct Validators {
    watch: Mutex<Watch>,
    /// Where the alert rounds find what the last round read.
    seen: crate::answer::ValidatorsSeen,
}

/// What a round asks.
struct Sources {
    beacon: Api,
    keymanager: Option<(Api, Token)>,
    /// `[validators]` indices (in decimal) and keys, each once.
    listed: Vec<String>,
}

fn client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    crate::ethereum::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("nodepair-manager/", env!("CARGO_PKG_VERSION")))
        // A redirect could lead anywhere, and its URL into messages.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot set up the validators' HTTP client")
}

/// The capability: enabled, it reads the keymanager's token now (a token
/// file others can read stops the start, exit 78) and, in the daemon,
/// starts the rounds.
pub(crate) fn answerer(setup: &mut Setup<'_>) -> anyhow::Result<Arc<dyn Answer>> {
    let config = setup.config;
    let validators = Arc::new(Validators {
        watch: Mutex::new(Watch::default()),
        seen: Arc::clone(&setup.validators_seen),
    });
    if !config.capabilities.iter().any(|c| c == CAPABILITY) {
        return Ok(validators);
    }
    let v = &config.validators;
    let timeout = Duration::from_millis(config.ethereum.timeout_ms);
    let url = |text: &str| reqwest::Url::parse(text).with_context(|| format!("{text:?} is not a URL"));
    // Config::from_toml made sure there is one.
    let beacon = url(config.ethereum.beacon_url.as_deref().unwrap_or_default())?;
    let keymanager = match (&v.keymanager_url, &v.token_file) {
        (Some(u), Some(file)) => Some((Api::new(client(timeout)?, url(u)?), read_token(file)?)),
        _ => None,
    };
    let mut listed: Vec<String> = v.indices.iter().map(u64::to_string).collect();
    listed.extend(
        v.pubkeys
            .iter()
            .filter_map(|k| super::beacon_bodies::pubkey(k).ok()),
    );
    let mut once = HashSet::new();
    listed.retain(|id| once.insert(id.clone()));
    let sources = Sources {
        beacon: Api::new(client(timeout)?, beacon),
        keymanager,
        listed,
    };
    if setup.watching {
        setup
            .tasks
            .push(tokio::spawn(Arc::clone(&validators).rounds(sources)));
    }
    Ok(validators)
}

impl Validators {
    /// One round a slot, for as long as the manager runs; the epoch's
    /// sources (liveness of the last epoch, rewards of the one before,
    /// this epoch's proposers and sync committees) once per epoch, again
    /// each slot until they read.
    async fn rounds(self: Arc<Self>, sources: Sources) {
        let mut tick = tokio::time::interval(Duration::from_millis(SLOT_MS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut genesis_ms = None;
        let mut last_epoch = None;
        let mut capped = false;
        loop {
            tick.tick().await;
            let round = read_round(&sources, &mut genesis_ms, &mut last_epoch, &mut capped).await;
            let at = round.now_ms;
            let seen = {
                let mut watch = self.watch.lock().unwrap_or_else(PoisonError::into_inner);
                watch.record(round);
                watch.seen()
            };
            *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = seen.map(|s| (at, s));
        }
    }
}

async fn read_round(
    sources: &Sources,
    genesis_ms: &mut Option<u64>,
    last_epoch: &mut Option<u64>,
    capped: &mut bool,
) -> Round {
    let beacon = &sources.beacon;
    if genesis_ms.is_none()
        && let Reading::Value(at) = beacon.genesis_ms().await
    {
        *genesis_ms = Some(at);
    }
    let now_ms = nodepair_peer::Clock::system().unix_millis();
    let head = match beacon.head_slot().await {
        Reading::Value(slot) => Reading::Value(ChainPosition {
            slot,
            epoch: slot / SLOTS_PER_EPOCH,
        }),
        Reading::Error(e) => Reading::Error(e),
    };
    let chain = checked_head(head, *genesis_ms, now_ms);
    let keys = match &sources.keymanager {
        Some((api, token)) => Some(api.keystores(token).await),
        None => None,
    };
    let mut ids = sources.listed.clone();
    if let Some(Reading::Value(held)) = &keys {
        let mut once: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let new: Vec<String> = held
            .iter()
            .filter(|k| once.insert(k.as_str()))
            .cloned()
            .collect();
        ids.extend(new);
    }
    if ids.len() > MAX_VALIDATORS {
        if !*capped {
            tracing::warn!(
                listed = ids.len(),
                "more than {MAX_VALIDATORS} validators listed and held by the keymanager; the first {MAX_VALIDATORS} are watched"
            );
            *capped = true;
        }
        ids.truncate(MAX_VALIDATORS);
    }
    let validators = beacon.validators(&ids).await;
    let epoch = match &chain {
        Reading::Value(c) => Some(c.epoch),
        Reading::Error(_) => None,
    };
    let mut round = Round {
        chain,
        genesis_ms: *genesis_ms,
        validators,
        listed: ids,
        liveness: None,
        rewards: None,
        proposers: None,
        sync: None,
        keymanager: keys,
        now_ms,
    };
    // The epoch's sources need the validators' indices: without them a
    // request would ask for nothing and seem to succeed.
    let Reading::Value(read) = &round.validators else {
        return round;
    };
    let indices: Vec<u64> = read.iter().map(|v| v.index).collect();
    if let Some(epoch) = epoch
        && *last_epoch != Some(epoch)
    {
        if let Some(previous) = epoch.checked_sub(1) {
            round.liveness = Some((previous, beacon.liveness(previous, &indices).await));
        }
        // Two back: the one every client serves rewards for.
        if let Some(settled) = epoch.checked_sub(2) {
            round.rewards = Some((settled, beacon.rewards(settled, &indices).await));
        }
        // This epoch's and the next's (the API serves both): a proposal is
        // known up to two epochs, 12.8 minutes, ahead.
        let (now, next) = (beacon.proposers(epoch).await, beacon.proposers(epoch + 1).await);
        round.proposers = Some((
            epoch,
            match (now, next) {
                (Reading::Value(mut now), Reading::Value(next)) => {
                    now.extend(next);
                    Reading::Value(now)
                }
                // The next epoch's not read: this one's still tell.
                (Reading::Value(now), Reading::Error(_)) => Reading::Value(now),
                (Reading::Error(e), _) => Reading::Error(e),
            },
        ));
        let next_period = epoch - epoch % EPOCHS_PER_SYNC_PERIOD + EPOCHS_PER_SYNC_PERIOD;
        round.sync = Some((
            epoch,
            beacon.sync_duties(epoch, &indices).await,
            beacon.sync_duties(next_period, &indices).await,
        ));
        // Read once the epoch's sources answered (a source that does not
        // serve one answered too); one that failed is asked again next slot.
        let all_read = !round.liveness.as_ref().is_some_and(|(_, r)| failed(r))
            && !round.rewards.as_ref().is_some_and(|(_, r)| failed(r))
            && !round.proposers.as_ref().is_some_and(|(_, r)| failed(r))
            && !round.sync.as_ref().is_some_and(|(_, a, b)| failed(a) || failed(b));
        if all_read {
            *last_epoch = Some(epoch);
        }
    }
    round
}

/// Whether a reading failed in a way worth asking again.
fn failed<T>(reading: &Reading<T>) -> bool {
    matches!(reading, Reading::Error(e) if e.kind != ReadErrorKind::NotServed)
}

impl Answer for Validators {
    fn answer(self: Arc<Self>, _caller: Caller, method: &'static str, body: Bytes) -> ReplyFuture {
        match method {
            ValidatorsStatus::NAME => ready(match request::<ValidatorsStatus>(&body) {
                Ok(r) => ok(&self
                    .watch
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .page(&r)),
                Err(reply) => reply,
            }),
            other => ready(unknown(other)),
        }
    }
}
