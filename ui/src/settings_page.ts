// The settings page: how the app's own Waku network is doing and which one it joins, keeping running in the tray, starting at login, this computer's key, the person's other computers.

import type { KeyView, NetworkForm, NetworkView, SettingsView } from "./api";
import { button, h } from "./dom";
import { networkState } from "./network_state";

/** What the page's controls do; each resolves to an error to show, or null. */
export interface SettingsActions {
  back: () => void;
  setKeepInTray: (on: boolean) => Promise<string | null>;
  setStartAtLogin: (on: boolean) => Promise<string | null>;
  setNetwork: (form: NetworkForm) => Promise<string | null>;
  /** Asks, then rotates this computer's key; fills the key panel. */
  rotateKey: () => void;
  /** Opens the card where the new computer's code is typed. */
  addComputer: () => void;
  /** Opens the card showing a code for the other computer. */
  joinComputer: () => void;
  /** Asks, then cuts off the computer named `who`; fills the cut-off panel. */
  cutOff: (who: string) => void;
}

const PRESETS: [string, string][] = [
  ["waku-network", "The Waku Network (default: works anywhere with internet)"],
  ["self-hosted", "My own relays"],
  ["local", "A relay on this computer (nodepair-relay)"],
];

/** Renders the page into `root`: the network panel (filled by `showNetwork`) and the settings. */
export function renderSettings(root: HTMLElement, settings: SettingsView, actions: SettingsActions): void {
  const back = button("← Managers", actions.back, { class: "quiet", "data-testid": "back" });
  const panel = h("div", { "data-testid": "network-panel", "aria-live": "polite" }, h("p", { class: "muted" }, "Asking the network…"));
  root.replaceChildren(
    h("div", { class: "card-header" }, h("div", { class: "title" }, back, h("h2", { id: "settings-title" }, "Settings"))),
    h("section", { class: "settings-section", "aria-labelledby": "network-title" }, h("h3", { id: "network-title" }, "Network"), panel, networkForm(settings, actions)),
    h("section", { class: "settings-section", "aria-labelledby": "app-title" }, h("h3", { id: "app-title" }, "This app"), appToggles(settings, actions)),
    h(
      "section",
      { class: "settings-section", "aria-labelledby": "key-title" },
      h("h3", { id: "key-title" }, "This computer's key"),
      h("div", { "data-testid": "key-panel", "aria-live": "polite" }, h("p", { class: "muted" }, "Reading the key…")),
      h(
        "div",
        { class: "settings-form" },
        button("Rotate key…", actions.rotateKey, { "data-testid": "rotate-key" }),
        h(
          "p",
          { class: "muted" },
          "Makes a new key and moves every paired manager to it, without pairing again: do it if this computer's key may have been copied (a backup, a lost disk). Managers offline now are moved when they next connect.",
        ),
      ),
    ),
    computers(actions),
    h("p", { class: "muted small" }, `Kept in ${settings.settingsFile}`),
  );
}

function computers(actions: SettingsActions): HTMLElement {
  const who = h("input", {
    id: "cut-off-who",
    "data-testid": "cut-off-who",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "laptop, or 3f2a-9c01-77de-0b45",
  });
  const cut = h("button", { type: "submit", class: "danger", "data-testid": "cut-off-submit" }, "Cut off…");
  const problem = h("p", { class: "notice bad", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "settings-form", "data-testid": "cut-off-form" },
    h("label", { for: "cut-off-who" }, "Lost a computer? Its name or key fingerprint:"),
    h("div", { class: "inline-form" }, who, cut),
    problem,
    h(
      "p",
      { class: "muted" },
      "Every manager that admitted it through your computers unpairs it: those online now, within seconds; the others when they next connect. A manager you paired it with by a code of its own is not asked: unpair it there.",
    ),
    h("div", { "data-testid": "cut-off-result", "aria-live": "polite" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = who.value.trim();
    problem.textContent = name === "" ? "Name the lost computer: its name, or its key's fingerprint." : "";
    problem.hidden = name !== "";
    if (name !== "") actions.cutOff(name);
  });
  return h(
    "section",
    { class: "settings-section", "aria-labelledby": "computers-title" },
    h("h3", { id: "computers-title" }, "Your other computers"),
    h(
      "div",
      { class: "settings-form" },
      h(
        "p",
        {},
        "A new computer can reach the managers this one is paired with, without a code typed on each server: join on the new one, add it here. Managers admit it only if their operator allows introductions, and never with more than this computer may use.",
      ),
      h(
        "div",
        { class: "actions" },
        button("Add a computer…", actions.addComputer, { "data-testid": "add-computer" }),
        button("Join from another computer…", actions.joinComputer, { "data-testid": "join-computer" }),
      ),
    ),
    form,
  );
}

/** Fills the key panel with `view` (or why it cannot be read); the rotate button waits while a rotation is under way. */
export function showKey(root: HTMLElement, view: KeyView | null, error: string | null, now: number): void {
  const panel = root.querySelector("[data-testid=key-panel]");
  const rotate = root.querySelector<HTMLButtonElement>("[data-testid=rotate-key]");
  if (!panel) return;
  if (!view) {
    panel.replaceChildren(h("p", { class: "muted" }, error ?? "Reading the key…"));
    return;
  }
  const lines: HTMLElement[] = [h("p", {}, "Managers know this computer by key ", h("code", { "data-testid": "key-fingerprint" }, view.fingerprint), ".")];
  const r = view.rotation;
  if (r && r.finished) {
    lines.push(h("p", { class: "notice", "data-testid": "rotation-state" }, `Every manager moved to key ${r.newFingerprint}; the old key no longer works.`));
  } else if (r) {
    const total = r.moved.length + r.waiting.length;
    const days = Math.max(0, Math.ceil((r.graceEndsAtMs - now) / 86_400_000));
    lines.push(
      h(
        "p",
        { class: "notice", "data-testid": "rotation-state" },
        `Moving to key ${r.newFingerprint}: ${r.moved.length} of ${total} ${total === 1 ? "manager" : "managers"} moved.`,
        r.waiting.length > 0
          ? ` Not yet: ${r.waiting.join(", ")} (told when they next connect). The old key stops working once they have, or in ${days} ${days === 1 ? "day" : "days"}; a manager not moved by then must be paired again.`
          : "",
      ),
    );
  }
  panel.replaceChildren(...lines);
  if (rotate) rotate.disabled = r !== null && r !== undefined && !r.finished;
}

/** Fills the network panel with `view` (or why it cannot be asked). */
export function showNetwork(root: HTMLElement, view: NetworkView | null, error: string | null): void {
  const panel = root.querySelector("[data-testid=network-panel]");
  if (!panel) return;
  if (!view) {
    panel.replaceChildren(h("p", { class: "muted" }, error ?? "Asking the network…"));
    return;
  }
  const state = networkState(view);
  const { status } = view;
  const s = status.settings;
  const lines: (HTMLElement | null)[] = [
    h("p", { class: `network-state ${state.level}`, "data-testid": "network-state", "data-level": state.level }, state.title),
  ];
  if (state.hints.length > 0) {
    lines.push(
      h(
        "div",
        { class: state.level === "none" ? "notice bad" : "notice", role: state.level === "none" ? "alert" : "status", "data-testid": "network-hints" },
        h("ul", {}, ...state.hints.map((hint) => h("li", {}, hint))),
        h("p", {}, h("a", { href: "#network-settings", "data-testid": "network-settings-link" }, "Network settings ↓")),
      ),
    );
  }
  if (s) {
    lines.push(
      h(
        "p",
        { class: "muted", "data-testid": "network-summary" },
        `${presetName(s.preset)} · ${s.mode} node · cluster ${s.cluster}, shard ${s.shard}`,
      ),
    );
  }
  if (status.peers.length > 0) {
    lines.push(
      h(
        "ul",
        { class: "peers", "data-testid": "network-peers" },
        ...status.peers.map((p) => h("li", {}, h("code", {}, p.address), p.service ? h("span", { class: "badge good" }, "service node") : null)),
      ),
    );
  }
  if (status.last_message) {
    lines.push(h("p", { class: "muted" }, `Last message from a manager: ${new Date(status.last_message * 1000).toLocaleString()}`));
  }
  panel.replaceChildren(...lines.filter((l): l is HTMLElement => l !== null));
}

function presetName(preset: string): string {
  return PRESETS.find(([id]) => id === preset)?.[1].replace(/ \(.*/, "") ?? preset;
}

/** The form's fields as the backend takes them, or what is wrong with them. */
export function readForm(preset: string, bootstrap: string, cluster: string, shard: string): NetworkForm | string {
  const number = (text: string, what: string, max: number): number | null | string => {
    const t = text.trim();
    if (t === "") return null;
    if (!/^\d+$/.test(t) || Number(t) > max) return `The ${what} is a whole number from 0 to ${max}.`;
    return Number(t);
  };
  const c = number(cluster, "cluster", 65535);
  if (typeof c === "string") return c;
  const s = number(shard, "shard", 1023);
  if (typeof s === "string") return s;
  return {
    preset,
    bootstrap: bootstrap
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.length > 0),
    cluster: c,
    shard: s,
  };
}

function networkForm(settings: SettingsView, actions: SettingsActions): HTMLElement {
  const n = settings.network;
  const preset = h(
    "select",
    { id: "network-preset", "data-testid": "network-preset" },
    ...PRESETS.map(([id, label]) => h("option", { value: id, selected: id === n.preset }, label)),
  );
  const bootstrap = h("textarea", { id: "network-bootstrap", rows: "3", spellcheck: "false", "data-testid": "network-bootstrap", placeholder: "/dns4/relay.example.org/tcp/60000/p2p/16Uiu2HAm…" });
  bootstrap.value = n.bootstrap.join("\n");
  const cluster = h("input", { id: "network-cluster", inputmode: "numeric", "data-testid": "network-cluster", placeholder: "the preset's", value: n.cluster?.toString() ?? "" });
  const shard = h("input", { id: "network-shard", inputmode: "numeric", "data-testid": "network-shard", placeholder: "0", value: n.shard?.toString() ?? "" });
  const error = h("p", { class: "notice bad", role: "alert", "data-testid": "network-error", hidden: true });
  const save = h("button", { type: "submit", class: "primary", "data-testid": "network-save" }, "Save and reconnect");
  const form = h(
    "form",
    { id: "network-settings", class: "settings-form", "data-testid": "network-form" },
    h("label", { for: "network-preset" }, "Waku network"),
    preset,
    h("label", { for: "network-bootstrap" }, "Peers to dial, one per line (optional with The Waku Network)"),
    bootstrap,
    h("div", { class: "two-fields" }, h("div", {}, h("label", { for: "network-cluster" }, "Cluster"), cluster), h("div", {}, h("label", { for: "network-shard" }, "Shard"), shard)),
    h("p", { class: "muted" }, "Apps and managers must be on the same network, cluster and shard. Saving restarts only the Waku node: sessions come back on their own."),
    error,
    save,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const read = readForm(preset.value, bootstrap.value, cluster.value, shard.value);
    if (typeof read === "string") {
      error.textContent = read;
      error.hidden = false;
      return;
    }
    save.disabled = true;
    error.hidden = true;
    void actions.setNetwork(read).then((problem) => {
      save.disabled = false;
      error.textContent = problem ?? "";
      error.hidden = problem === null;
    });
  });
  return form;
}

function toggle(id: string, label: string, checked: boolean, enabled: boolean, note: string | null, onChange: (on: boolean) => Promise<string | null>): HTMLElement {
  const box = h("input", { type: "checkbox", id, "data-testid": id, checked, disabled: !enabled });
  const problem = h("p", { class: "notice bad", role: "alert", hidden: true });
  box.addEventListener("change", () => {
    box.disabled = true;
    void onChange(box.checked).then((error) => {
      box.disabled = false;
      if (error !== null) box.checked = !box.checked;
      problem.textContent = error ?? "";
      problem.hidden = error === null;
    });
  });
  return h("div", { class: "toggle" }, box, h("label", { for: id }, label), note ? h("p", { class: "muted" }, note) : null, problem);
}

function appToggles(settings: SettingsView, actions: SettingsActions): HTMLElement {
  return h(
    "div",
    { class: "settings-form" },
    toggle(
      "keep-in-tray",
      "Keep running in the tray when the window is closed",
      settings.tray && settings.keepRunningInTray,
      settings.tray,
      settings.tray
        ? "NodePair keeps its sessions and tells you when a manager goes offline; quit it from the tray's menu."
        : "This desktop shows no tray icons, so closing the window quits NodePair.",
      actions.setKeepInTray,
    ),
    toggle(
      "start-at-login",
      "Start NodePair when I log in",
      settings.startAtLogin,
      true,
      "It starts in the tray, without a window.",
      actions.setStartAtLogin,
    ),
  );
}
