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

/** A bar/line chart over categories (intervals) as inline SVG. */
export function chart(id: string, categories: string[], series: Series[], units: { left: string; right?: string }): Html {
  const W = 720, H = 240, L = 56, R = units.right ? 56 : 16, T = 16, B = 36;
  const n = Math.max(categories.length, 1);
  const max = (right: boolean) => Math.max(1e-9, ...series.filter((s) => !!s.right === right).flatMap((s) => s.values));
  const maxL = max(false), maxR = units.right ? max(true) : 1;
  const x0 = (i: number) => L + ((W - L - R) * i) / n;
  const bw = (W - L - R) / n;
  const y = (v: number, right?: boolean) => T + (H - T - B) * (1 - v / (right ? maxR : maxL));
  const bars = series.filter((s) => s.kind === "bar");
  let body = "";
  for (let k = 0; k <= 4; k++) {
    const yy = T + ((H - T - B) * k) / 4;
    body += `<line x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}" stroke="#e5e7eb"/>`;
    body += `<text x="${L - 6}" y="${yy + 4}" text-anchor="end" font-size="10" fill="#6b7280">${fmtNum((maxL * (4 - k)) / 4)}</text>`;
    if (units.right) body += `<text x="${W - R + 6}" y="${yy + 4}" font-size="10" fill="#6b7280">${fmtNum((maxR * (4 - k)) / 4)}</text>`;
  }
  bars.forEach((s, j) => {
    const w = (bw * 0.8) / bars.length;
    s.values.forEach((v, i) => {
      const xx = x0(i) + bw * 0.1 + j * w;
      body += `<rect x="${xx.toFixed(1)}" y="${y(v, s.right).toFixed(1)}" width="${w.toFixed(1)}" height="${(H - B - y(v, s.right)).toFixed(1)}" fill="${s.color}"><title>${esc(s.label)} ${esc(categories[i])}: ${fmtNum(v)}</title></rect>`;
    });
  });
  for (const s of series.filter((s) => s.kind === "line")) {
    const pts = s.values.map((v, i) => `${(x0(i) + bw / 2).toFixed(1)},${y(v, s.right).toFixed(1)}`).join(" ");
    body += `<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"/>`;
    s.values.forEach((v, i) => (body += `<circle cx="${(x0(i) + bw / 2).toFixed(1)}" cy="${y(v, s.right).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(s.label)} ${esc(categories[i])}: ${fmtNum(v)}</title></circle>`));
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
