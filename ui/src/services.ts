// A manager's services: the systemd units its operator listed, their state,
// and start / stop / restart where the operator allows it.

import type { Service, ServiceAction } from "./api";
import { h } from "./dom";
import { durationLabel } from "./format";

/** What the window knows of one manager's services. */
export interface ServicesState {
  services: Service[] | null;
  error: string | null;
  /** The unit an action is under way for, if any. */
  busy: string | null;
}

/** The tone of a unit's state badge. */
export function serviceTone(s: Service): "good" | "busy" | "idle" | "bad" {
  if (s.error || s.active_state === "failed" || s.load_state === "not-found") return "bad";
  if (s.active_state === "active") return "good";
  if (s.active_state === "activating" || s.active_state === "deactivating" || s.active_state === "reloading") return "busy";
  return "idle";
}

/** Which actions make sense now: starting a running unit does nothing. */
export function sensibleActions(s: Service): ServiceAction[] {
  if (s.active_state === "active") return ["restart", "stop"];
  if (s.active_state === "inactive" || s.active_state === "failed") return ["start"];
  return [];
}

const VERB: Record<ServiceAction, string> = { start: "Start", stop: "Stop", restart: "Restart" };

/** The services section of a manager's view. */
export function servicesSection(
  state: ServicesState,
  nowMs: number,
  onAction: (unit: string, action: ServiceAction) => void,
): HTMLElement {
  const section = h("section", { class: "host services", "aria-labelledby": "services-title", "data-testid": "services" });
  const title = h("h3", { id: "services-title" }, "Services");
  if (!state.services) {
    section.append(title, h("p", { class: state.error ? "notice bad" : "muted", role: "status" }, state.error ?? "Asking…"));
    return section;
  }
  if (state.services.length === 0) {
    section.append(title, h("p", { class: "muted" }, "The operator listed no services ([services] units in the manager's configuration)."));
    return section;
  }
  const rows = state.services.map((s) => {
    const possible = sensibleActions(s);
    const buttons = (["start", "stop", "restart"] as ServiceAction[]).map((a) => {
      const allowed = s.controllable && possible.includes(a) && state.busy === null;
      const b = h(
        "button",
        {
          type: "button",
          class: "quiet",
          disabled: !allowed,
          title: s.controllable ? undefined : "The operator does not let apps control this service",
          "data-testid": `service-${a}`,
        },
        VERB[a],
      );
      b.addEventListener("click", () => onAction(s.unit, a));
      return b;
    });
    const since = s.since_ms ? `since ${durationLabel((nowMs - s.since_ms) / 1000)} ago` : "";
    return h(
      "li",
      { class: "service", "data-testid": "service", "data-unit": s.unit, "data-key": s.unit },
      h("div", { class: "who" }, h("span", { class: "name" }, s.unit), h("span", { class: "muted small" }, s.error ?? s.description)),
      h("span", { class: `badge ${serviceTone(s)}`, "data-testid": "service-state" }, s.error ? "Unknown" : `${s.active_state} (${s.sub_state})`),
      h("span", { class: "muted small" }, state.busy === s.unit ? "working…" : since),
      h("span", { class: "row-actions" }, ...buttons),
    );
  });
  section.append(
    h("div", { class: "section-header" }, title),
    ...(state.error ? [h("p", { class: "notice bad", role: "alert", "data-testid": "services-error" }, state.error)] : []),
    h("ul", { class: "service-list" }, ...rows),
  );
  return section;
}
