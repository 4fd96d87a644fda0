// Services: the units the operator listed, asked every few seconds while the
// page is open, and start / stop / restart where allowed.

import { type ServiceAction, ask, messageOf } from "../api";
import type { Capability, Context } from "../capability";
import { type ServicesState, servicesSection } from "../services";

/** What stopping or restarting costs, said before it is done; starting needs no question. */
function question(manager: string, unit: string, action: ServiceAction, kind: string): [string, string, string] | null {
  const what = kind === "container" ? "container" : "service";
  if (action === "stop") {
    return [
      `Stop ${unit} on ${manager}?`,
      `The ${what} stays stopped until someone starts it again; whatever depends on it (a validator, a beacon node) stops working meanwhile.`,
      "Stop",
    ];
  }
  if (action === "restart") {
    return [
      `Restart ${unit} on ${manager}?`,
      `The ${what} is down while it restarts; an Ethereum client can take minutes to catch up afterwards.`,
      "Restart",
    ];
  }
  return null;
}

async function control(ctx: Context, key: string, unit: string, action: ServiceAction): Promise<void> {
  const known = ctx.store.get(key, services);
  const manager = ctx.store.manager(key)?.name ?? "this manager";
  const kind = known.services?.find((s) => s.unit === unit)?.kind ?? "unit";
  const askFirst = question(manager, unit, action, kind);
  if (askFirst && !(await ctx.confirm(...askFirst))) return;
  ctx.store.set(key, services, { ...known, busy: unit, error: null });
  ctx.store.changed();
  try {
    const now = await ask(key, "services.control", { unit, action });
    const list = (known.services ?? []).map((s) => (s.unit === unit ? now : s));
    ctx.store.set(key, services, { services: list, error: null, busy: null });
    ctx.say(`${unit}: ${action} asked; it is now ${now.active_state}.`);
  } catch (error) {
    ctx.store.set(key, services, { ...known, error: messageOf(error), busy: null });
  }
  ctx.store.changed();
}

export const services: Capability<ServicesState> = {
  name: "services",
  capability: "services",
  order: 20,
  empty: () => ({ services: null, error: null, busy: null }),

  async refresh(ctx, key) {
    const known = ctx.store.get(key, services);
    // Not while an action is under way: its answer is the fresher.
    if (known.busy) return;
    try {
      const list = (await ask(key, "services.list", {})).services;
      ctx.store.set(key, services, { services: list, error: null, busy: ctx.store.get(key, services).busy });
    } catch (error) {
      ctx.store.set(key, services, { ...ctx.store.get(key, services), error: messageOf(error) });
    }
    ctx.store.changed();
  },

  section(ctx, manager) {
    if (!manager.capabilities.includes("services")) return null;
    const state = ctx.store.get(manager.key, services);
    return servicesSection(state, ctx.now(), (unit, action) => void control(ctx, manager.key, unit, action));
  },
};
