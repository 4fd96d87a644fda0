//! `nodepair-manager peers`, `revoke`, `grant` and `status`: what the manager knows.

use super::{GlobalArgs, Output};
use crate::config::Config;
use crate::control::{self, Dropped, ErrorKind, PeerRow, Reply, Request, StatusReport};
use crate::keys;
use crate::runtime::uuid_string;
use crate::serve;
use clap::Args;
use nodepair_keystore::{Counterparty, CounterpartyState, Identity};
use nodepair_peer::CounterpartyView;

/// List the paired apps: name, node id, state, last seen, latency.
#[derive(Debug, Args)]
pub(crate) struct PeersCmd {
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Unpair an app: it is told now if connected, else when it next connects.
#[derive(Debug, Args)]
pub(crate) struct RevokeCmd {
    /// Its name, or the start of its node id or key (as `peers` shows them).
    who: String,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Change what a paired app may use: the capabilities listed, none but
/// `manager.info` (`--none`), or everything the configuration offers
/// (`--all`, what an app has unless granted less). An app online is told at
/// once; its next request is judged by the new grant.
#[derive(Debug, Args)]
pub(crate) struct GrantCmd {
    /// Its name, or the start of its node id or key (as `peers` shows them).
    who: String,
    /// The capabilities it may use, of those the configuration lists (e.g.
    /// `host logs` or `host,logs`); `info` goes with any grant.
    #[arg(
        value_delimiter = ',',
        required_unless_present_any = ["all", "none"],
        conflicts_with_all = ["all", "none"]
    )]
    capabilities: Vec<String>,
    /// Everything the configuration's `capabilities` lists.
    #[arg(long, conflicts_with = "none")]
    all: bool,
    /// Nothing but `manager.info` (who the manager is).
    #[arg(long)]
    none: bool,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Identity, keystore, Waku peers and topics, paired apps, and what was dropped.
#[derive(Debug, Args)]
pub(crate) struct StatusCmd {
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Sends `request` to the daemon; `None` when no daemon runs.
async fn ask(config: &Config, request: &Request, out: &Output) -> anyhow::Result<Option<()>> {
    let Some(mut client) = control::connect(&config.state_dir()).await? else {
        return Ok(None);
    };
    client.send(request).await?;
    super::relay_replies(&mut client, out).await?;
    Ok(Some(()))
}

/// The stored counterparties, read without a daemon.
fn stored(config: &Config) -> anyhow::Result<(nodepair_keystore::Selected, Vec<Counterparty>)> {
    let selected = keys::open(config)?;
    let all = Counterparty::load_all(&*selected.store)?;
    Ok((selected, all))
}

fn row(c: &Counterparty) -> PeerRow {
    PeerRow::from_view(&CounterpartyView::at_rest(c))
}

impl PeersCmd {
    pub(crate) fn run(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let (config, _) = Config::load(global.config.as_deref())?;
        let out = Output { json: self.json };
        super::runtime()?.block_on(async {
            if ask(&config, &Request::Peers, &out).await?.is_some() {
                return Ok(());
            }
            let (_, all) = stored(&config)?;
            out.reply(&Reply::Peers {
                peers: all.iter().map(row).collect(),
            })
        })
    }
}

impl RevokeCmd {
    pub(crate) fn run(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let (config, _) = Config::load(global.config.as_deref())?;
        let out = Output { json: self.json };
        let request = Request::Revoke {
            who: self.who.clone(),
        };
        super::runtime()?.block_on(async {
            if ask(&config, &request, &out).await?.is_some() {
                return Ok(());
            }
            // No daemon: record the revocation; the daemon tells the app
            // when it next connects.
            change_stored(&config, &self.who, &out, false, |record| {
                record.state = CounterpartyState::Revoked;
                Reply::Revoked {
                    name: record.display_name.clone(),
                    told: false,
                }
            })
        })
    }
}

/// Without a daemon: applies `change` to the stored record `who` names
/// (only active ones when `active_only`), saves it, and prints the reply
/// `change` gives; or says why no record was changed.
fn change_stored(
    config: &Config,
    who: &str,
    out: &Output,
    active_only: bool,
    change: impl FnOnce(&mut Counterparty) -> Reply,
) -> anyhow::Result<()> {
    let (selected, all) = stored(config)?;
    let views: Vec<CounterpartyView> = all
        .iter()
        .filter(|c| !active_only || c.state == CounterpartyState::Active)
        .map(CounterpartyView::at_rest)
        .collect();
    match serve::find(&views, who) {
        Err(reply) => out.reply(&reply),
        Ok(target) => {
            let key = *target.public_key.as_bytes();
            let mut record = all
                .into_iter()
                .find(|c| c.public_key == key)
                .expect("the view came from this record");
            let reply = change(&mut record);
            record.save(&*selected.store)?;
            out.reply(&reply)
        }
    }
}

impl GrantCmd {
    pub(crate) fn run(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let (config, _) = Config::load(global.config.as_deref())?;
        let out = Output { json: self.json };
        let grants = (!self.all).then_some(self.capabilities);
        // Checked here too, so a typo says what is offered even without a
        // daemon.
        let grants = match grants {
            Some(names) => match nodepair_protocol::grants::check(&config.capabilities, &names) {
                Ok(grants) => Some(grants),
                Err(e) => {
                    return out.reply(&Reply::Error {
                        kind: ErrorKind::Invalid,
                        message: format!("nothing changed: {e}"),
                    });
                }
            },
            None => None,
        };
        let request = Request::Grant {
            who: self.who.clone(),
            grants: grants.clone(),
        };
        super::runtime()?.block_on(async {
            if ask(&config, &request, &out).await?.is_some() {
                return Ok(());
            }
            // No daemon: store the grant; the daemon tells the app when it
            // next connects.
            change_stored(&config, &self.who, &out, true, |record| {
                record.grants = grants;
                let view = CounterpartyView::at_rest(record);
                let name = nodepair_protocol::hello::printable(&record.display_name, 64);
                serve::granted(&config.capabilities, &view, name)
            })
        })
    }
}

impl StatusCmd {
    pub(crate) fn run(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let (config, _) = Config::load(global.config.as_deref())?;
        let out = Output { json: self.json };
        super::runtime()?.block_on(async {
            if ask(&config, &Request::Status, &out).await?.is_some() {
                return Ok(());
            }
            let (selected, all) = stored(&config)?;
            let identity = Identity::load(&*selected.store)?;
            let (node_id, key) = match &identity {
                Some(id) => {
                    let key =
                        nodepair_protocol::StaticKeypair::from_secret(*id.static_secret).public();
                    (uuid_string(&id.node_id), Some(key))
                }
                None => ("none yet".into(), None),
            };
            out.reply(&Reply::Status {
                status: Box::new(StatusReport {
                    display_name: config.display_name.to_string(),
                    node_id,
                    public_key: key.map(|k| k.to_string()).unwrap_or_default(),
                    fingerprint: key.map(|k| k.fingerprint()).unwrap_or_default(),
                    daemon_running: false,
                    keystore: selected.location.to_string(),
                    keystore_why: selected.why,
                    network: config.network.summary(nodepair_waku::Mode::Relay).ok(),
                    waku_peer_id: None,
                    waku_peers: Vec::new(),
                    listen: Vec::new(),
                    topics: Vec::new(),
                    counterparties: all.iter().map(row).collect(),
                    pairings_under_way: 0,
                    rotation: None,
                    dropped: Dropped::default(),
                }),
            })
        })
    }
}
