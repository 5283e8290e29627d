// Hand-rolled SVG charts (no dependencies): grouped horizontal bars and a line chart. Plain
// shapes and text, readable in GitHub's Markdown renderer.
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const COLORS = ["#2563eb", "#9ca3af", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6"];
const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** One group per label, one bar per series; log scale when values span > 50×. */
export function barChart(opts: { title: string; unit: string; groups: { label: string; values: { series: string; value: number | null }[] }[] }): string {
  const series = [...new Set(opts.groups.flatMap((g) => g.values.map((v) => v.series)))];
  const all = opts.groups.flatMap((g) => g.values.map((v) => v.value ?? 0)).filter((v) => v > 0);
  const max = Math.max(1e-9, ...all);
  const min = Math.min(max, ...all);
  const log = max / Math.max(min, 1e-9) > 50;
  const barH = 16;
  const gap = 10;
  const left = 170;
  const width = 760;
  const plotW = width - left - 90;
  const top = 44;
  const groupH = series.length * barH + gap;
  const height = top + opts.groups.length * groupH + 30;
  const scale = (v: number) => (log ? (Math.log10(Math.max(v, min / 2)) - Math.log10(min / 2)) / (Math.log10(max) - Math.log10(min / 2)) : v / max) * plotW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${esc(opts.title)}</text>`,
    `<text x="10" y="36" fill="#555">${esc(opts.unit)}${log ? " (log scale)" : ""}</text>`,
  ];
  series.forEach((s, i) => {
    out.push(`<rect x="${width - 150}" y="${8 + i * 14}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${width - 136}" y="${17 + i * 14}">${esc(s)}</text>`);
  });
  opts.groups.forEach((g, gi) => {
    const y0 = top + gi * groupH;
    out.push(`<text x="${left - 8}" y="${y0 + (series.length * barH) / 2 + 4}" text-anchor="end">${esc(g.label)}</text>`);
    series.forEach((s, si) => {
      const v = g.values.find((x) => x.series === s)?.value;
      const y = y0 + si * barH;
      if (v === null || v === undefined) {
        out.push(`<text x="${left + 4}" y="${y + 12}" fill="#999">${esc(s)}: n/a</text>`);
        return;
      }
      const w = Math.max(1, scale(v));
      out.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH - 2}" fill="${COLORS[si % COLORS.length]}"/>`);
      out.push(`<text x="${left + w + 4}" y="${y + 12}">${fmt(v)}</text>`);
    });
  });
  out.push(`<line x1="${left}" y1="${top - 4}" x2="${left}" y2="${height - 26}" stroke="#333"/>`, "</svg>");
  return out.join("\n") + "\n";
}

/** Lines over a shared numeric x axis; each series may use the left or the right y axis. */
export function lineChart(opts: { title: string; xLabel: string; yLabel: string; y2Label?: string; series: { name: string; points: { x: number; y: number }[]; axis?: "left" | "right" }[] }): string {
  const width = 760;
  const height = 340;
  const m = { l: 64, r: opts.y2Label ? 70 : 20, t: 44, b: 48 };
  const pw = width - m.l - m.r;
  const ph = height - m.t - m.b;
  const pts = opts.series.flatMap((s) => s.points);
  const xMax = Math.max(1, ...pts.map((p) => p.x));
  const yMax = (axis: "left" | "right") => Math.max(1e-9, ...opts.series.filter((s) => (s.axis ?? "left") === axis).flatMap((s) => s.points.map((p) => p.y))) * 1.1;
  const yl = yMax("left");
  const yr = opts.y2Label ? yMax("right") : 1;
  const xAt = (x: number) => m.l + (x / xMax) * pw;
  const yAt = (y: number, axis: "left" | "right") => m.t + ph - (y / (axis === "left" ? yl : yr)) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${esc(opts.title)}</text>`,
    `<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}" stroke="#333"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + ph}" stroke="#333"/>`,
    `<text x="${m.l + pw / 2}" y="${height - 10}" text-anchor="middle">${esc(opts.xLabel)}</text>`,
    `<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`,
  ];
  if (opts.y2Label)
    out.push(
      `<line x1="${m.l + pw}" y1="${m.t}" x2="${m.l + pw}" y2="${m.t + ph}" stroke="#333"/>`,
      `<text transform="translate(${width - 12} ${m.t + ph / 2}) rotate(90)" text-anchor="middle">${esc(opts.y2Label)}</text>`,
    );
  for (let i = 0; i <= 4; i++) {
    const xv = (xMax * i) / 4;
    out.push(`<text x="${xAt(xv)}" y="${m.t + ph + 16}" text-anchor="middle">${fmt(xv)}</text>`);
    const yv = (yl * i) / 4;
    out.push(`<text x="${m.l - 6}" y="${yAt(yv, "left") + 4}" text-anchor="end">${fmt(yv)}</text>`);
    out.push(`<line x1="${m.l}" y1="${yAt(yv, "left")}" x2="${m.l + pw}" y2="${yAt(yv, "left")}" stroke="#eee"/>`);
    if (opts.y2Label) out.push(`<text x="${m.l + pw + 6}" y="${yAt((yr * i) / 4, "right") + 4}">${fmt((yr * i) / 4)}</text>`);
  }
  opts.series.forEach((s, i) => {
    const axis = s.axis ?? "left";
    const c = COLORS[i % COLORS.length];
    const d = s.points.map((p, j) => `${j ? "L" : "M"}${xAt(p.x).toFixed(1)},${yAt(p.y, axis).toFixed(1)}`).join(" ");
    if (d) out.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="2"/>`);
    for (const p of s.points) out.push(`<circle cx="${xAt(p.x).toFixed(1)}" cy="${yAt(p.y, axis).toFixed(1)}" r="3" fill="${c}"/>`);
    out.push(`<rect x="${m.l + 10}" y="${m.t + 4 + i * 15}" width="10" height="10" fill="${c}"/><text x="${m.l + 24}" y="${m.t + 13 + i * 15}">${esc(s.name)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
