// A manager's services: the systemd units and containers its operator
// listed, their state, and start / stop / restart where the operator allows it.

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

/** The tone of a unit's or container's state badge. */
export function serviceTone(s: Service): "good" | "busy" | "idle" | "bad" {
  const health = s.container?.health;
  if (s.error || s.active_state === "failed" || s.load_state === "not-found" || health === "unhealthy") return "bad";
  if (s.active_state === "active" && health === "starting") return "busy";
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

/** What the row says under the name: for a container its image, health,
 * restarts and last exit code; for a unit its description. */
export function serviceDetail(s: Service): string {
  if (s.error) return s.error;
  const c = s.container;
  if (!c) return s.load_state === "not-found" && s.kind === "container" ? "No container of this name" : s.description;
  return [
    c.image,
    c.health,
    c.restart_count > 0 ? `restarted ${c.restart_count}×` : null,
    c.exit_code !== null ? `exit code ${c.exit_code}` : null,
  ]
    .filter((part) => part)
    .join(" · ");
}

/** The state badge's words: systemd's, and a container's health. */
function stateLabel(s: Service): string {
  if (s.error) return "Unknown";
  const health = s.container?.health;
  return `${s.active_state} (${s.sub_state})${health && s.active_state === "active" ? `, ${health}` : ""}`;
}

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
    section.append(title, h("p", { class: "muted" }, "The operator listed no services ([services] units and containers in the manager's configuration)."));
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
      { class: "service", "data-testid": "service", "data-unit": s.unit, "data-key": s.unit, "data-kind": s.kind },
      h(
        "div",
        { class: "who" },
        h(
          "span",
          { class: "title" },
          h("span", { class: "name" }, s.unit),
          h("span", { class: "kind", "data-testid": "service-kind" }, s.kind === "container" ? "container" : "unit"),
        ),
        h("span", { class: "muted small", "data-testid": "service-detail" }, serviceDetail(s)),
      ),
      h("span", { class: `badge ${serviceTone(s)}`, "data-testid": "service-state" }, stateLabel(s)),
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
