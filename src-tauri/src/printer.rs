//! How a command's replies are printed: text for a person or one JSON object per line for a script, with what a manager or a Waku peer chose escaped.

use crate::control::Reply;
use crate::status::StatusReport;
use std::io::Write;

/// How replies are printed: text or JSON, and whether a comparison is
/// confirmed without asking.
#[derive(Clone, Copy, Debug)]
pub struct Printer {
    /// JSON lines for a script, not text for a person.
    pub json: bool,
    /// A comparison is confirmed without asking (`--yes`).
    pub yes: bool,
}

impl Printer {
    /// Prints `reply` (an error only as a line on standard error).
    pub fn print(&self, reply: &Reply) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        match reply {
            Reply::Managers { managers } if self.json => {
                writeln!(out, "{}", serde_json::json!({ "managers": managers }))?;
            }
            Reply::Status { status } if self.json => {
                writeln!(out, "{}", serde_json::json!({ "status": status }))?;
            }
            Reply::Alerts { running, alerts } if self.json => {
                let line = serde_json::json!({ "running": running, "alerts": alerts });
                writeln!(out, "{}", json_for_terminal(&line))?;
            }
            Reply::Answer { body } => writeln!(out, "{}", json_for_terminal(body))?,
            reply if self.json => writeln!(
                out,
                "{}",
                serde_json::to_string(reply).map_err(std::io::Error::other)?
            )?,
            Reply::Code { code, qr, command } => {
                writeln!(out, "Pairing code: {code}")?;
                write!(out, "{}", qr_for_terminal(qr))?;
                writeln!(out, "\nOn the server, run:\n\n    {command}\n")?;
            }
            Reply::JoinCode { code, command } => {
                writeln!(out, "Introduction code: {code}")?;
                writeln!(
                    out,
                    "\nOn your computer already paired, run\n\n    {command}\n\nand type the code at its prompt.\n"
                )?;
            }
            Reply::CompareComputer {
                computer,
                verification,
            } => writeln!(
                out,
                "the computer {} (key {}) answered\nverification: {verification}  (compare it with that computer's screen)",
                computer.name, computer.fingerprint
            )?,
            Reply::Joined { via, managers } if managers.is_empty() => writeln!(
                out,
                "{via} introduced this computer, but no manager admitted it (see what {via} printed)"
            )?,
            Reply::Joined { via, managers } => {
                writeln!(out, "{via} introduced this computer to:")?;
                for m in managers {
                    writeln!(
                        out,
                        "  {} (key {})",
                        text(&m["name"]),
                        text(&m["fingerprint"])
                    )?;
                }
            }
            Reply::Introduced { report } => writeln!(out, "{}", report.describe())?,
            Reply::CutOff { report } => writeln!(out, "{}", report.describe())?,
            Reply::Progress { step } => eprintln!("… {step}"),
            Reply::Compare {
                manager,
                verification,
            } => writeln!(
                out,
                "the manager {} (key {}) answered\nverification: {verification}  (compare it with the server's screen)",
                manager.name, manager.fingerprint
            )?,
            Reply::Paired {
                manager,
                verification,
            } => writeln!(
                out,
                "paired with {} (key {})\nverification: {verification}",
                text(&manager["name"]),
                text(&manager["fingerprint"])
            )?,
            Reply::Managers { managers } => print_managers(&mut out, managers)?,
            Reply::Unpaired { name, told: true } => {
                writeln!(out, "unpaired {name}; it was told and forgot this app too")?;
            }
            Reply::Unpaired { name, told: false } => writeln!(
                out,
                "unpaired {name}; it is not reachable now and will be told the next time this app connects"
            )?,
            Reply::Rotation { rotation } => {
                writeln!(
                    out,
                    "{}",
                    rotation.describe("manager(s)", &when(rotation.grace_ends_at))
                )?;
            }
            Reply::Status { status } => print_status(&mut out, status)?,
            Reply::Alerts { running, alerts } => print_alerts(&mut out, *running, alerts)?,
            Reply::Error { message, .. } => eprintln!("error: {message}"),
        }
        out.flush()?;
        Ok(())
    }
}

/// `value` as JSON with every control, C1 and bidirectional-override
/// character escaped (`\u…`), so an answer a manager chose cannot act on
/// the terminal it is printed to; the JSON means the same.
pub fn json_for_terminal(value: &serde_json::Value) -> String {
    let mut out = String::new();
    for c in value.to_string().chars() {
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
        if c.is_control() || bidi {
            // Only inside strings: JSON's own syntax is printable ASCII.
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

fn text(value: &serde_json::Value) -> &str {
    value.as_str().unwrap_or("")
}

fn print_alerts(
    out: &mut impl Write,
    running: bool,
    alerts: &[crate::control::SeenAlert],
) -> std::io::Result<()> {
    if !running {
        eprintln!("NodePair is not running: these are the alerts as it last saw them");
    }
    if alerts.is_empty() {
        return writeln!(out, "no alerts");
    }
    let now = nodepair_peer::Clock::system().unix_millis();
    for seen in alerts {
        let manager = nodepair_protocol::hello::printable(&seen.manager, 64);
        writeln!(
            out,
            "{manager}: {}",
            seen.alert.line(now, |ms| when(ms / 1000))
        )?;
    }
    Ok(())
}

fn print_managers(out: &mut impl Write, managers: &[serde_json::Value]) -> std::io::Result<()> {
    if managers.is_empty() {
        return writeln!(out, "no paired managers; pair one with `nodepair pair`");
    }
    writeln!(
        out,
        "{:<24} {:<36} {:<10} {:<22}",
        "NAME", "NODE ID", "STATE", "LAST SEEN"
    )?;
    for m in managers {
        let seen = m["last_seen"]
            .as_u64()
            .map_or_else(|| "never".to_owned(), when);
        writeln!(
            out,
            "{:<24} {:<36} {:<10} {:<22}",
            text(&m["name"]),
            text(&m["node_id"]),
            text(&m["state"]),
            seen
        )?;
    }
    Ok(())
}

fn print_status(out: &mut impl Write, s: &StatusReport) -> std::io::Result<()> {
    let none = || "none yet".to_owned();
    writeln!(
        out,
        "app:       {} (node id {})",
        s.display_name,
        s.node_id.clone().unwrap_or_else(none)
    )?;
    writeln!(
        out,
        "identity:  key {} ({})",
        s.fingerprint.clone().unwrap_or_else(none),
        s.public_key.clone().unwrap_or_else(none)
    )?;
    writeln!(out, "keystore:  {}", s.keystore)?;
    let n = &s.network;
    match (&n.settings, &n.error) {
        (Some(net), _) => writeln!(
            out,
            "network:   {} ({} node, cluster {}, shard {})",
            net.preset.as_str(),
            net.mode.as_str(),
            net.cluster,
            net.shard
        )?,
        (None, Some(e)) => writeln!(out, "network:   cannot work: {e}")?,
        (None, None) => {}
    }
    if s.running {
        writeln!(
            out,
            "waku:      peer id {}, {} peer(s) connected, {} service node(s), {}",
            n.peer_id.as_deref().unwrap_or("-"),
            n.peers.len(),
            n.service_nodes,
            if n.reachable {
                "reachable".to_owned()
            } else {
                n.cut_since.map_or_else(
                    || "not reached yet".to_owned(),
                    |t| format!("cut off since {}", when(t)),
                )
            }
        )?;
        for p in &n.peers {
            let role = if p.service { "service node" } else { "peer" };
            writeln!(
                out,
                "             {} ({role}, {})",
                nodepair_protocol::hello::printable(&p.address, 200),
                nodepair_protocol::hello::printable(&p.agent, 64)
            )?;
        }
        if let Some(t) = n.last_message {
            writeln!(out, "last heard: {}", when(t))?;
        }
    } else {
        writeln!(out, "app:       not running (these are its settings)")?;
    }
    writeln!(out, "managers:  {}", s.managers.len())?;
    print_managers(out, &s.managers)
}

/// The QR code of `payload`, drawn with half blocks for a terminal.
pub fn qr_for_terminal(payload: &str) -> String {
    match qrcode::QrCode::new(payload.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::unicode::Dense1x2>()
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

/// `unix` (seconds) as a date and time in UTC.
fn when(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(
            || unix.to_string(),
            |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_printed_for_a_terminal_escapes_what_could_act_on_it_and_means_the_same() {
        let hostile = serde_json::json!({"hostname": "box\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{9b}2J\u{202e}txt.exe", "ok": "gr\u{fc}n"});
        let shown = json_for_terminal(&hostile);
        assert!(
            shown.chars().all(|c| !c.is_control() && c != '\u{202e}'),
            "{shown:?}"
        );
        assert!(
            shown.contains("gr\u{fc}n"),
            "other text stays as it is: {shown}"
        );
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back, hostile);
    }
}
