// Small line charts of the last minutes, drawn as SVG from samples.

/** One point: a time (Unix ms) and a value. */
export interface Point {
  t: number;
  v: number;
}

/** How a chart maps time and value to its box. */
export interface ChartFrame {
  width: number;
  height: number;
  /** The newest time shown, at the right edge. */
  endMs: number;
  /** How much time the width spans. */
  spanMs: number;
  /** The value at the top edge (the bottom is 0). */
  max: number;
}

/**
 * The SVG path of `points` in `frame`: a line, broken where two samples are
 * more than `gapMs` apart (the manager was unreachable), so a gap is never
 * drawn as data. Empty when there are no points in the frame.
 */
export function linePath(points: Point[], frame: ChartFrame, gapMs: number): string {
  const startMs = frame.endMs - frame.spanMs;
  const x = (t: number) => ((t - startMs) / frame.spanMs) * frame.width;
  const y = (v: number) =>
    frame.height - (Math.min(Math.max(v, 0), frame.max) / frame.max) * frame.height;
  let path = "";
  let previous: number | null = null;
  for (const p of points) {
    if (p.t < startMs || p.t > frame.endMs) continue;
    const move = previous === null || p.t - previous > gapMs;
    path += `${move ? "M" : "L"}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)} `;
    previous = p.t;
  }
  return path.trim();
}

const SVG = "http://www.w3.org/2000/svg";

/** An SVG chart element: grid lines at a quarter, a half and three quarters, and the line. */
export function chartElement(points: Point[], frame: ChartFrame, gapMs: number, label: string): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${frame.width} ${frame.height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  for (const share of [0.25, 0.5, 0.75]) {
    const grid = document.createElementNS(SVG, "line");
    const y = String(frame.height * share);
    grid.setAttribute("x1", "0");
    grid.setAttribute("x2", String(frame.width));
    grid.setAttribute("y1", y);
    grid.setAttribute("y2", y);
    grid.setAttribute("class", "grid");
    svg.append(grid);
  }
  const line = document.createElementNS(SVG, "path");
  line.setAttribute("d", linePath(points, frame, gapMs));
  line.setAttribute("class", "line");
  line.setAttribute("vector-effect", "non-scaling-stroke");
  svg.append(line);
  return svg;
}

/**
 * A round top for a chart of byte counts whose highest value is `highest`:
 * the first 1, 2 or 5 × 10^k of the value's unit (KiB, MiB, GiB, …) with
 * room above the line, never above `ceiling` (all there is) and never 0.
 * Memory of a few GiB on a large machine then moves on the chart instead
 * of lying flat against the total.
 */
export function byteScale(highest: number, ceiling: number): number {
  const wanted = Math.max(highest * 1.15, 1);
  let unit = 1;
  while (wanted / unit >= 1024) unit *= 1024;
  const value = wanted / unit;
  let magnitude = 10 ** Math.floor(Math.log10(value));
  let top = magnitude;
  for (;;) {
    const step = [1, 2, 5].map((m) => m * magnitude).find((candidate) => candidate >= value);
    if (step !== undefined) {
      top = step;
      break;
    }
    magnitude *= 10;
  }
  const scaled = top * unit;
  return ceiling > 0 ? Math.min(scaled, ceiling) : scaled;
}
