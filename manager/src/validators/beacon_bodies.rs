//! The Beacon API's and the keymanager API's answers about validators, read into what the manager keeps: statuses and balances, liveness, attestation rewards, proposer duties, the keystores a validator client holds.

use serde::Deserialize;

/// A validator's status, as `/eth/v1/beacon/states/{state}/validators`
/// names it (beacon-APIs `types/api.yaml#/ValidatorStatus`): the wire's.
pub(crate) use nodepair_protocol::api::validators::ValidatorStatus as Status;

/// One validator as the beacon node's state holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Validator {
    /// Its index in the registry.
    pub(crate) index: u64,
    /// Its BLS public key, `0x` and 96 hex digits.
    pub(crate) pubkey: String,
    /// Where it stands.
    pub(crate) status: Status,
    /// Its balance, in Gwei.
    pub(crate) balance_gwei: u64,
    /// Whether the state marks it slashed.
    pub(crate) slashed: bool,
}

/// A body that is not what the API specifies.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Not JSON of the expected shape.
    #[error("not the Beacon API's answer: {0}")]
    Shape(String),
    /// A number that is not a decimal string.
    #[error("{field} is not a decimal number: {value:?}")]
    Number {
        /// Which field.
        field: &'static str,
        /// What it held.
        value: String,
    },
    /// A public key that is not `0x` and 96 hex digits.
    #[error("not a validator public key: {0:?}")]
    Pubkey(String),
}

fn number(field: &'static str, value: &str) -> Result<u64, BodyError> {
    // Decimal digits only: the API writes every uint64 as a string.
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BodyError::Number {
            field,
            value: value.chars().take(40).collect(),
        });
    }
    value.parse().map_err(|_| BodyError::Number {
        field,
        value: value.chars().take(40).collect(),
    })
}

fn signed(field: &'static str, value: &str) -> Result<i64, BodyError> {
    let (negative, digits) = value
        .strip_prefix('-')
        .map_or((false, value), |d| (true, d));
    let n = i64::try_from(number(field, digits)?).map_err(|_| BodyError::Number {
        field,
        value: value.chars().take(40).collect(),
    })?;
    Ok(if negative { -n } else { n })
}

/// A public key as the APIs write it, lower-cased.
pub(crate) fn pubkey(value: &str) -> Result<String, BodyError> {
    let hex = value.strip_prefix("0x").unwrap_or("");
    if hex.len() != 96 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(BodyError::Pubkey(value.chars().take(100).collect()));
    }
    Ok(format!("0x{}", hex.to_ascii_lowercase()))
}

fn shape<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, BodyError> {
    serde_json::from_slice(body).map_err(|e| BodyError::Shape(e.to_string()))
}

/// `/eth/v1/beacon/states/{state}/validators`: the validators it holds (an
/// index or key it does not know is left out, as the API does).
pub(crate) fn validators(body: &[u8]) -> Result<Vec<Validator>, BodyError> {
    #[derive(Deserialize)]
    struct Body {
        data: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        index: String,
        balance: String,
        status: Status,
        validator: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        pubkey: String,
        slashed: bool,
    }
    shape::<Body>(body)?
        .data
        .into_iter()
        .map(|e| {
            Ok(Validator {
                index: number("index", &e.index)?,
                pubkey: pubkey(&e.validator.pubkey)?,
                status: e.status,
                balance_gwei: number("balance", &e.balance)?,
                slashed: e.validator.slashed,
            })
        })
        .collect()
}

/// `/eth/v1/validator/liveness/{epoch}`: whether each was seen live.
pub(crate) fn liveness(body: &[u8]) -> Result<Vec<(u64, bool)>, BodyError> {
    #[derive(Deserialize)]
    struct Body {
        data: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        index: String,
        is_live: bool,
    }
    shape::<Body>(body)?
        .data
        .into_iter()
        .map(|e| Ok((number("index", &e.index)?, e.is_live)))
        .collect()
}

/// `/eth/v1/beacon/rewards/attestations/{epoch}`: each validator's total
/// attestation reward for the epoch in Gwei (head, target, source and
/// inactivity, and inclusion delay before Altair; penalties negative).
pub(crate) fn attestation_rewards(body: &[u8]) -> Result<Vec<(u64, i64)>, BodyError> {
    #[derive(Deserialize)]
    struct Body {
        data: Data,
    }
    #[derive(Deserialize)]
    struct Data {
        total_rewards: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        validator_index: String,
        head: String,
        target: String,
        source: String,
        inactivity: String,
        // Before Altair only; an empty string is none.
        #[serde(default)]
        inclusion_delay: Option<String>,
    }
    shape::<Body>(body)?
        .data
        .total_rewards
        .into_iter()
        .map(|e| {
            let mut parts = vec![
                ("head", e.head),
                ("target", e.target),
                ("source", e.source),
                ("inactivity", e.inactivity),
            ];
            if let Some(delay) = e.inclusion_delay.filter(|d| !d.is_empty()) {
                parts.push(("inclusion_delay", delay));
            }
            let mut total: i64 = 0;
            for (field, value) in parts {
                total = total
                    .checked_add(signed(field, &value)?)
                    .ok_or_else(|| BodyError::Number {
                        field,
                        value: value.chars().take(40).collect(),
                    })?;
            }
            Ok((number("validator_index", &e.validator_index)?, total))
        })
        .collect()
}

/// `/eth/v1/validator/duties/sync/{epoch}`: the validators (of those
/// asked) in the sync committee of the epoch's period.
pub(crate) fn sync_duties(body: &[u8]) -> Result<Vec<(u64, ())>, BodyError> {
    #[derive(Deserialize)]
    struct Body {
        data: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        validator_index: String,
    }
    shape::<Body>(body)?
        .data
        .into_iter()
        .map(|e| Ok((number("validator_index", &e.validator_index)?, ())))
        .collect()
}

/// `/eth/v1/validator/duties/proposer/{epoch}`: which index proposes at
/// which slot (every proposer of the epoch: the caller keeps its own).
pub(crate) fn proposer_duties(body: &[u8]) -> Result<Vec<(u64, u64)>, BodyError> {
    #[derive(Deserialize)]
    struct Body {
        data: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        validator_index: String,
        slot: String,
    }
    shape::<Body>(body)?
        .data
        .into_iter()
        .map(|e| {
            Ok((
                number("validator_index", &e.validator_index)?,
                number("slot", &e.slot)?,
            ))
        })
        .collect()
}

/// `/eth/v1/node/syncing`: the head's slot.
pub(crate) fn head_slot(body: &[u8]) -> Result<u64, BodyError> {
    #[derive(Deserialize)]
    struct Body {
        data: Data,
    }
    #[derive(Deserialize)]
    struct Data {
        head_slot: String,
    }
    number("head_slot", &shape::<Body>(body)?.data.head_slot)
}

/// `/eth/v1/beacon/genesis`: when the chain began, in ms since the Unix epoch.
pub(crate) fn genesis_ms(body: &[u8]) -> Result<u64, BodyError> {
    #[derive(Deserialize)]
    struct Body {
        data: Data,
    }
    #[derive(Deserialize)]
    struct Data {
        genesis_time: String,
    }
    Ok(number("genesis_time", &shape::<Body>(body)?.data.genesis_time)?.saturating_mul(1000))
}

/// The keymanager API's `GET /eth/v1/keystores`: the public keys the
/// validator client signs for.
pub(crate) fn keystores(body: &[u8]) -> Result<Vec<String>, BodyError> {
    #[derive(Deserialize)]
    struct Body {
        data: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        validating_pubkey: String,
    }
    shape::<Body>(body)?
        .data
        .into_iter()
        .map(|e| pubkey(&e.validating_pubkey))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0x93247f2209abcacf57b75a51dafae777f9dd38bc7053d1af526f220a7489a6d3a2753e5f3e8b1cfe39b56f43611df74a";

    #[test]
    fn validators_are_read_from_the_spec_shape_with_numbers_as_strings() {
        // beacon-APIs v4.0.0 apis/beacon/states/validators.yaml, assembled
        // from types/api.yaml's per-field examples.
        let body = format!(
            r#"{{"execution_optimistic": false, "finalized": false, "data": [
              {{"index": "1", "balance": "32000000000", "status": "active_ongoing",
                "validator": {{"pubkey": "{KEY}", "withdrawal_credentials": "0xcf8e", "effective_balance": "32000000000",
                  "slashed": false, "activation_eligibility_epoch": "1", "activation_epoch": "1",
                  "exit_epoch": "18446744073709551615", "withdrawable_epoch": "18446744073709551615"}}}},
              {{"index": "2", "balance": "31000000000", "status": "exited_slashed_in_a_later_fork",
                "validator": {{"pubkey": "{}", "slashed": true}}}}]}}"#,
            KEY.to_uppercase().replace("0X", "0x")
        );
        let read = validators(body.as_bytes()).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(
            read[0],
            Validator {
                index: 1,
                pubkey: KEY.into(),
                status: Status::ActiveOngoing,
                balance_gwei: 32_000_000_000,
                slashed: false,
            }
        );
        assert_eq!(
            read[1].status,
            Status::Unknown,
            "a status from a newer node"
        );
        assert_eq!(read[1].pubkey, KEY, "keys are compared lower-cased");
        assert!(Status::ActiveSlashed.slashed() && Status::ActiveSlashed.attests());
        assert!(!Status::ExitedUnslashed.attests());
    }

    #[test]
    fn a_body_that_is_not_the_spec_is_refused_naming_what_is_wrong() {
        assert!(matches!(
            validators(b"{\"data\": 5}"),
            Err(BodyError::Shape(_))
        ));
        let bad_number = format!(
            r#"{{"data": [{{"index": "-1", "balance": "1", "status": "active_ongoing", "validator": {{"pubkey": "{KEY}", "slashed": false}}}}]}}"#
        );
        assert_eq!(
            validators(bad_number.as_bytes()),
            Err(BodyError::Number {
                field: "index",
                value: "-1".into()
            })
        );
        let bad_key = r#"{"data": [{"index": "1", "balance": "1", "status": "active_ongoing", "validator": {"pubkey": "0x1234", "slashed": false}}]}"#;
        assert!(matches!(
            validators(bad_key.as_bytes()),
            Err(BodyError::Pubkey(_))
        ));
        let overflowing = r#"{"data": {"total_rewards": [{"validator_index": "1", "head": "9223372036854775807", "target": "1", "source": "0", "inactivity": "0"}]}}"#;
        assert!(
            matches!(attestation_rewards(overflowing.as_bytes()), Err(BodyError::Number { field: "target", .. })),
            "a sum past i64 is refused, not wrapped"
        );
    }

    #[test]
    fn liveness_rewards_duties_and_keystores_read_as_the_specs_write_them() {
        // apis/validator/liveness.yaml
        assert_eq!(
            liveness(
                br#"{"data": [{"index": "1", "is_live": false}, {"index": "7", "is_live": true}]}"#
            )
            .unwrap(),
            [(1, false), (7, true)]
        );
        // apis/beacon/rewards/attestations.yaml with types/rewards.yaml's
        // examples; after Altair inclusion_delay is left out, and a penalty
        // is negative.
        let rewards = br#"{"execution_optimistic": false, "finalized": false, "data": {
            "ideal_rewards": [{"effective_balance": "1000000000", "head": "2500", "target": "5000", "source": "5000", "inactivity": "5000"}],
            "total_rewards": [
              {"validator_index": "0", "head": "2000", "target": "2000", "source": "4000", "inclusion_delay": "2000", "inactivity": "2000"},
              {"validator_index": "5", "head": "0", "target": "-4511", "source": "-2429", "inactivity": "0", "inclusion_delay": ""}]}}"#;
        assert_eq!(
            attestation_rewards(rewards).unwrap(),
            [(0, 12_000), (5, -6940)]
        );
        // apis/validator/duties/proposer.yaml
        let duties = format!(
            r#"{{"dependent_root": "0xcf8e", "execution_optimistic": false, "data": [{{"pubkey": "{KEY}", "validator_index": "1", "slot": "1"}}]}}"#
        );
        assert_eq!(proposer_duties(duties.as_bytes()).unwrap(), [(1, 1)]);
        // apis/validator/duties/sync.yaml
        let sync = format!(
            r#"{{"execution_optimistic": false, "data": [{{"pubkey": "{KEY}", "validator_index": "1", "validator_sync_committee_indices": ["0", "511"]}}]}}"#
        );
        assert_eq!(sync_duties(sync.as_bytes()).unwrap(), [(1, ())]);
        // apis/node/syncing.yaml; apis/beacon/genesis.yaml (mainnet's)
        assert_eq!(
            head_slot(br#"{"data": {"head_slot": "10512345", "sync_distance": "0", "is_syncing": false}}"#).unwrap(),
            10_512_345
        );
        assert_eq!(
            genesis_ms(br#"{"data": {"genesis_time": "1606824023", "genesis_validators_root": "0x4b36", "genesis_fork_version": "0x00000000"}}"#).unwrap(),
            1_606_824_023_000
        );
        // keymanager-APIs apis/local_keystores.yaml
        let stores = format!(
            r#"{{"data": [{{"validating_pubkey": "{KEY}", "derivation_path": "m/12381/3600/0/0/0", "readonly": true}}]}}"#
        );
        assert_eq!(keystores(stores.as_bytes()).unwrap(), [KEY]);
    }
}
