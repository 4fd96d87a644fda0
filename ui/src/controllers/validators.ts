// Validators: a page of them asked every few seconds while the page is
// open, and the page turned on request.

import { ask, messageOf } from "../api";
import type { Capability, Context } from "../capability";
import { type ValidatorsState, validatorsSection } from "../validators";

async function read(ctx: Context, key: string): Promise<void> {
  const s = ctx.store.get(key, validators);
  const after = s.pages.at(-1) ?? null;
  try {
    s.status = await ask(key, "validators.status", { after_index: after, limit: null });
    s.error = null;
  } catch (error) {
    s.error = messageOf(error);
  }
  ctx.store.changed();
}

async function turn(ctx: Context, key: string, forward: boolean): Promise<void> {
  const s = ctx.store.get(key, validators);
  if (forward) {
    const shown = s.status && "value" in s.status.validators ? s.status.validators.value : [];
    const last = shown.at(-1);
    if (!last || !s.status?.more) return;
    s.pages.push(last.index);
  } else {
    if (s.pages.length === 0) return;
    s.pages.pop();
  }
  await read(ctx, key);
}

export const validators: Capability<ValidatorsState> = {
  name: "validators",
  capability: "validators",
  order: 12,
  empty: () => ({ status: null, error: null, pages: [] }),

  refresh: read,

  section(ctx, manager) {
    if (!manager.capabilities.includes("validators")) return null;
    const key = manager.key;
    return validatorsSection(ctx.store.get(key, validators), ctx.now(), {
      turn: (forward) => void turn(ctx, key, forward),
    });
  },
};
