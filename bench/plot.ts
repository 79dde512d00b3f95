/** A small dependency-free SVG: throughput (MB/s) and peak RSS / session size against session size. */
interface Row {
  sizeGb: number;
  node: { saveMBps: number; loadMBps: number };
  h5py?: { saveMBps?: number; loadMBps?: number };
  browser?: { saveMBps: number; loadMBps: number };
  memory: { peakOverSession: number };
}

export function throughputSvg(rows: Row[]): string {
  const W = 720;
  const H = 300;
  const pad = { l: 60, r: 160, t: 20, b: 40 };
  const xs = rows.map((r) => Math.log10(r.sizeGb));
  const series: { name: string; color: string; values: (number | undefined)[]; dash?: string }[] = [
    { name: "Node save", color: "#1f77b4", values: rows.map((r) => r.node.saveMBps) },
    { name: "Node load", color: "#1f77b4", values: rows.map((r) => r.node.loadMBps), dash: "4 3" },
    { name: "h5py save", color: "#2ca02c", values: rows.map((r) => r.h5py?.saveMBps) },
    { name: "h5py load", color: "#2ca02c", values: rows.map((r) => r.h5py?.loadMBps), dash: "4 3" },
    { name: "Chromium save", color: "#d62728", values: rows.map((r) => r.browser?.saveMBps) },
    { name: "Chromium load", color: "#d62728", values: rows.map((r) => r.browser?.loadMBps), dash: "4 3" },
  ];
  const yMax = Math.max(1, ...series.flatMap((s) => s.values.filter((v): v is number => v !== undefined)));
  const xMin = Math.min(...xs) - 0.1;
  const xMax = Math.max(...xs) + 0.1;
  const px = (x: number) => pad.l + ((x - xMin) / (xMax - xMin)) * (W - pad.l - pad.r);
  const py = (y: number) => H - pad.b - (y / yMax) * (H - pad.t - pad.b);
  const lines = series
    .map((s, i) => {
      const pts = s.values.map((v, j) => (v === undefined ? undefined : `${px(xs[j]).toFixed(1)},${py(v).toFixed(1)}`)).filter(Boolean);
      if (!pts.length) return "";
      return `<polyline fill="none" stroke="${s.color}" stroke-width="2" ${s.dash ? `stroke-dasharray="${s.dash}"` : ""} points="${pts.join(" ")}"/>
<text x="${W - pad.r + 10}" y="${pad.t + 16 * i + 10}" fill="${s.color}" font-size="12">${s.name}</text>`;
    })
    .join("\n");
  const mem = rows.map((r, j) => `<text x="${px(xs[j]).toFixed(1)}" y="${H - pad.b + 30}" font-size="11" text-anchor="middle">${r.sizeGb} GB · peak ${r.memory.peakOverSession.toFixed(2)}×</text>`).join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#888"/>
<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="#888"/>
<text x="10" y="${pad.t + 10}" font-size="11">${yMax.toFixed(0)} MB/s</text>
<text x="10" y="${H - pad.b}" font-size="11">0</text>
${lines}
${mem}
</svg>
`;
}
