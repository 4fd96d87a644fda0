// Validators: asked every few seconds while the page is open.

import { ask, messageOf } from "../api";
import type { Capability } from "../capability";
import { type ValidatorsState, validatorsSection } from "../validators";

export const validators: Capability<ValidatorsState> = {
  name: "validators",
  capability: "validators",
  order: 12,
  empty: () => ({ status: null, error: null }),

  async refresh(ctx, key) {
    try {
      const status = await ask(key, "validators.status", { after_index: null });
      ctx.store.set(key, validators, { status, error: null });
    } catch (error) {
      ctx.store.set(key, validators, { ...ctx.store.get(key, validators), error: messageOf(error) });
    }
    ctx.store.changed();
  },

  section(ctx, manager) {
    if (!manager.capabilities.includes("validators")) return null;
    return validatorsSection(ctx.store.get(manager.key, validators), ctx.now());
  },
};
