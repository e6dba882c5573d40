/** A tiny render helper: escaped HTML templates, SVG charts, CSV download. */
export type Html = { __html: string };

const esc = (v: unknown) =>
  String(v).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** html`<p>${value}</p>`: values are escaped unless they are Html themselves (or arrays of them). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1];
  });
  return { __html: out };
}
function render(v: unknown): string {
  if (v === undefined || v === null || v === false) return "";
  if (Array.isArray(v)) return v.map(render).join("");
  if (typeof v === "object" && "__html" in (v as object)) return (v as Html).__html;
  return esc(v);
}
export const raw = (s: string): Html => ({ __html: s });

export function mount(el: Element | null, h: Html): void {
  if (el) el.innerHTML = h.__html;
}

export const short = (a: string) => `${a.slice(0, 6)}…${a.slice(-4)}`;

export interface Series {
  label: string;
  color: string;
  values: number[];
  kind: "bar" | "line";
  /** Right axis (for a second unit). */
  right?: boolean;
}

/**
 * A round axis: the smallest step of 1, 2 or 5 x 10^k that covers `max` in at most `ticks` steps,
 * and the axis top (a whole number of steps). 0.95 -> step 0.5 (top 1.0); 1.42 -> 0.5 (top 1.5); 3.7 -> 1 (top 4).
 */
export function niceScale(max: number, ticks = 4): { step: number; top: number } {
  if (!(max > 0) || !Number.isFinite(max)) return { step: 1, top: ticks };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw * (1 - 1e-9))!;
  return { step, top: step * Math.ceil(max / step - 1e-9) };
}

/** A bar/line chart over categories (intervals) as inline SVG. A line's NaN value is a gap (nothing to draw). */
export function chart(id: string, categories: string[], series: Series[], units: { left: string; right?: string }): Html {
  const W = 720, H = 240, L = 56, R = units.right ? 56 : 16, T = 16, B = 36;
  const n = Math.max(categories.length, 1);
  const max = (right: boolean) => Math.max(0, ...series.filter((s) => !!s.right === right).flatMap((s) => s.values.filter((v) => Number.isFinite(v))));
  const scaleL = niceScale(max(false)), scaleR = niceScale(units.right ? max(true) : 1);
  const maxL = scaleL.top, maxR = scaleR.top;
  const x0 = (i: number) => L + ((W - L - R) * i) / n;
  const bw = (W - L - R) / n;
  const y = (v: number, right?: boolean) => T + (H - T - B) * (1 - v / (right ? maxR : maxL));
  const bars = series.filter((s) => s.kind === "bar");
  let body = "";
  // Round ticks (1/2/5 x 10^k): the left axis's grid lines, the right axis labelled at its own steps.
  const stepsL = Math.round(maxL / scaleL.step);
  for (let k = 0; k <= stepsL; k++) {
    const v = k * scaleL.step;
    const yy = y(v);
    body += `<line x1="${L}" x2="${W - R}" y1="${yy.toFixed(1)}" y2="${yy.toFixed(1)}" stroke="#e5e7eb"/>`;
    body += `<text class="tick-left" x="${L - 6}" y="${(yy + 4).toFixed(1)}" text-anchor="end" font-size="10" fill="#6b7280">${fmtTick(v, scaleL.step)}</text>`;
  }
  if (units.right) {
    for (let k = 0; k <= Math.round(maxR / scaleR.step); k++) {
      const v = k * scaleR.step;
      body += `<text class="tick-right" x="${W - R + 6}" y="${(y(v, true) + 4).toFixed(1)}" font-size="10" fill="#6b7280">${fmtTick(v, scaleR.step)}</text>`;
    }
  }
  bars.forEach((s, j) => {
    const w = (bw * 0.8) / bars.length;
    s.values.forEach((v, i) => {
      const xx = x0(i) + bw * 0.1 + j * w;
      body += `<rect x="${xx.toFixed(1)}" y="${y(v, s.right).toFixed(1)}" width="${w.toFixed(1)}" height="${(H - B - y(v, s.right)).toFixed(1)}" fill="${s.color}"><title>${esc(s.label)} ${esc(categories[i])}: ${fmtNum(v)}</title></rect>`;
    });
  });
  for (const s of series.filter((s) => s.kind === "line")) {
    // One polyline per run of values; a NaN (no trade, no price) breaks the line.
    let run: string[] = [];
    const flush = () => {
      if (run.length) body += `<polyline points="${run.join(" ")}" fill="none" stroke="${s.color}" stroke-width="2"/>`;
      run = [];
    };
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) return flush();
      run.push(`${(x0(i) + bw / 2).toFixed(1)},${y(v, s.right).toFixed(1)}`);
      body += `<circle cx="${(x0(i) + bw / 2).toFixed(1)}" cy="${y(v, s.right).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(s.label)} ${esc(categories[i])}: ${fmtNum(v)}</title></circle>`;
    });
    flush();
  }
  const step = Math.ceil(n / 16);
  categories.forEach((c, i) => {
    if (i % step === 0) body += `<text x="${(x0(i) + bw / 2).toFixed(1)}" y="${H - B + 14}" text-anchor="middle" font-size="10" fill="#6b7280">${esc(c)}</text>`;
  });
  body += `<text x="${L}" y="${H - 4}" font-size="10" fill="#374151">${esc(units.left)}${units.right ? " · right axis: " + esc(units.right) : ""}</text>`;
  const legend = series.map((s) => `<span class="legend"><i style="background:${s.color}"></i>${esc(s.label)}</span>`).join("");
  if (!categories.length) body += `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#9ca3af">no data yet</text>`;
  return raw(`<figure class="chart" id="${id}"><svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(series.map((s) => s.label).join(", "))}">${body}</svg><figcaption>${legend}</figcaption></figure>`);
}

/** A tick label with as many decimals as the step needs (0.2, 0.25 -> 0.25, 1000 -> 1k). */
function fmtTick(v: number, step: number): string {
  if (v >= 1000 && step >= 100) return `${+(v / 1000).toFixed(1)}k`;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(decimals);
}

function fmtNum(v: number): string {
  if (v >= 1000) return (v / 1000).toFixed(1) + "k";
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/** Triggers a browser download of `rows` as CSV. */
export function downloadCsv(filename: string, rows: (string | number | bigint)[][]): void {
  const text = rows.map((r) => r.map((c) => (/[",\n]/.test(String(c)) ? `"${String(c).replace(/"/g, '""')}"` : String(c))).join(",")).join("\n") + "\n";
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
