//! The `validators` capability as the manager answers it: a round every slot reading the beacon node (and the keymanager, when one is configured), kept in the watch, and `validators.status` answered from it.

use super::reader::Api;
use super::settings::{Token, read_token};
use super::watch::{Round, SLOT_MS, SLOTS_PER_EPOCH, Watch};
use crate::answer::{Answer, Setup, ok, ready, request, unknown};
use anyhow::Context;
use bytes::Bytes;
use nodepair_peer::{Caller, ReplyFuture};
use nodepair_protocol::api::reading::Reading;
use nodepair_protocol::api::validators::{CAPABILITY, ChainPosition, ValidatorsStatus};
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
    /// `[validators]` indices and keys, as the API takes ids.
    listed: Vec<String>,
    /// `[validators]` keys.
    listed_keys: Vec<String>,
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
    let listed_keys: Vec<String> = v
        .pubkeys
        .iter()
        .filter_map(|k| super::beacon_bodies::pubkey(k).ok())
        .collect();
    listed.extend(listed_keys.iter().cloned());
    let sources = Sources {
        beacon: Api::new(client(timeout)?, beacon),
        keymanager,
        listed,
        listed_keys,
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
    /// this epoch's proposers) once per epoch.
    async fn rounds(self: Arc<Self>, sources: Sources) {
        let mut tick = tokio::time::interval(Duration::from_millis(SLOT_MS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut genesis_ms = None;
        let mut last_epoch = None;
        loop {
            tick.tick().await;
            let round = read_round(&sources, &mut genesis_ms, &mut last_epoch).await;
            let seen = {
                let mut watch = self.watch.lock().unwrap_or_else(PoisonError::into_inner);
                watch.record(round);
                watch.seen()
            };
            *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = seen;
        }
    }
}

async fn read_round(sources: &Sources, genesis_ms: &mut Option<u64>, last_epoch: &mut Option<u64>) -> Round {
    let beacon = &sources.beacon;
    let chain = match beacon.head_slot().await {
        Reading::Value(slot) => Reading::Value(ChainPosition {
            slot,
            epoch: slot / SLOTS_PER_EPOCH,
        }),
        Reading::Error(e) => Reading::Error(e),
    };
    if genesis_ms.is_none()
        && let Reading::Value(at) = beacon.genesis_ms().await
    {
        *genesis_ms = Some(at);
    }
    let keys = match &sources.keymanager {
        Some((api, token)) => Some(api.keystores(token).await),
        None => None,
    };
    let mut ids = sources.listed.clone();
    let mut listed_keys = sources.listed_keys.clone();
    if let Some(Reading::Value(held)) = &keys {
        for key in held {
            if !ids.contains(key) {
                ids.push(key.clone());
                listed_keys.push(key.clone());
            }
        }
    }
    let validators = beacon.validators(&ids).await;
    let indices: Vec<u64> = match &validators {
        Reading::Value(v) => v.iter().map(|v| v.index).collect(),
        Reading::Error(_) => Vec::new(),
    };
    let epoch = match &chain {
        Reading::Value(c) => Some(c.epoch),
        Reading::Error(_) => None,
    };
    let mut round = Round {
        chain,
        genesis_ms: *genesis_ms,
        validators,
        listed_keys,
        liveness: None,
        rewards: None,
        proposers: None,
        keymanager: keys,
        now_ms: nodepair_peer::Clock::system().unix_millis(),
    };
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
        round.proposers = Some((epoch, beacon.proposers(epoch).await));
        *last_epoch = Some(epoch);
    }
    round
}

impl Answer for Validators {
    fn answer(self: Arc<Self>, _caller: Caller, method: &'static str, body: Bytes) -> ReplyFuture {
        match method {
            ValidatorsStatus::NAME => ready(match request::<ValidatorsStatus>(&body) {
                Ok(r) => ok(&self
                    .watch
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .page(r.after_index)),
                Err(reply) => reply,
            }),
            other => ready(unknown(other)),
        }
    }
}
