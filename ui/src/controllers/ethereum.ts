// The Ethereum node: its clients' sync, peers and health, asked every few
// seconds while the page is open.

import { ask, messageOf } from "../api";
import type { Capability } from "../capability";
import { type EthState, ethSection } from "../eth";

export const ethereum: Capability<EthState> = {
  name: "ethereum",
  capability: "ethereum",
  order: 10,
  empty: () => ({ status: null, error: null }),

  async refresh(ctx, key) {
    const known = ctx.store.get(key, ethereum);
    try {
      ctx.store.set(key, ethereum, { status: await ask(key, "eth.status", {}), error: null });
    } catch (error) {
      ctx.store.set(key, ethereum, { ...known, error: messageOf(error) });
    }
    ctx.store.changed();
  },

  section(ctx, manager) {
    if (!manager.capabilities.includes("ethereum")) return null;
    return ethSection(manager, ctx.store.get(manager.key, ethereum));
  },
};
