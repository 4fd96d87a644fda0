// Services: the units the operator listed, asked every few seconds while the
// page is open, and start / stop / restart where allowed.

import { type ServiceAction, ask, messageOf } from "../api";
import type { Capability, Context } from "../capability";
import { type ServicesState, servicesSection } from "../services";

async function control(ctx: Context, key: string, unit: string, action: ServiceAction): Promise<void> {
  const known = ctx.store.get(key, services);
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
