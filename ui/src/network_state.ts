// How the app's own Waku network is doing, in words: connected, still looking, or nothing reachable and what to check.

import type { NetworkView } from "./api";

/** How long the node looks for peers before the window says none is reachable. */
export const LOOKING_MS = 20_000;

export interface NetworkState {
  /** `ok`: messages can flow; `looking`: not yet; `none`: nothing reachable, see the hints. */
  level: "ok" | "looking" | "none";
  /** One line: what the top bar's chip and the panel's heading say. */
  title: string;
  /** What to check, most likely first; empty when all is well. */
  hints: string[];
}

/** What `view` means for the person. */
export function networkState(view: NetworkView): NetworkState {
  const { status, runningForMs } = view;
  const peers = status.peers.length;
  const preset = status.settings?.preset ?? "waku-network";
  if (peers > 0 && (status.service_nodes > 0 || status.settings?.mode === "relay")) {
    const service = status.settings?.mode === "relay" ? "" : `, ${plural(status.service_nodes, "service node")}`;
    return { level: "ok", title: `Connected: ${plural(peers, "Waku peer")}${service}`, hints: [] };
  }
  if (peers > 0) {
    return {
      level: "none",
      title: `Connected to ${plural(peers, "Waku peer")}, but none serves light push and filter`,
      hints: [
        "This app publishes and receives through a service node; the peers it found do not offer one. It keeps looking through them for more.",
        ...presetHints(preset),
      ],
    };
  }
  if (runningForMs < LOOKING_MS) {
    return { level: "looking", title: "Looking for Waku peers…", hints: [] };
  }
  return { level: "none", title: "No Waku peer reachable", hints: presetHints(preset) };
}

function presetHints(preset: string): string[] {
  switch (preset) {
    case "local":
      return [
        "The local network is a nodepair-relay on this computer: start it (it listens on 127.0.0.1:60000), or choose another network below.",
      ];
    case "self-hosted":
      return [
        "Check that your relays are running and that this computer can reach them at the addresses below.",
        "A firewall may block outgoing connections to their ports.",
      ];
    default:
      return [
        "Check that this computer is online: The Waku Network's nodes are found through DNS and reached over outgoing TCP.",
        "A firewall or proxy may block outgoing connections (the nodes listen on port 30303 and on websockets).",
        "Or use relays of your own: choose Self-hosted below and list them.",
      ];
  }
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}
