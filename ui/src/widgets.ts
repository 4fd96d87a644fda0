// Small pieces several views share: a labelled fact, a usage meter.

import { h } from "./dom";
import { usageTone } from "./format";

/** A `<dt>`/`<dd>` pair. */
export function fact(label: string, value: string, testid?: string): HTMLElement {
  return h("div", { class: "fact" }, h("dt", {}, label), h("dd", testid ? { "data-testid": testid } : {}, value));
}

/** A bar filled to `part` of `whole`, coloured by how full it is. */
export function meter(part: number, whole: number, label: string): HTMLElement {
  const share = whole > 0 ? Math.min(100, (100 * part) / whole) : 0;
  return h(
    "div",
    { class: `meter ${usageTone(part, whole)}`, role: "meter", "aria-label": label, "aria-valuenow": String(Math.round(share)), "aria-valuemin": "0", "aria-valuemax": "100" },
    h("div", { class: "fill", style: `width: ${share.toFixed(1)}%` }),
  );
}
