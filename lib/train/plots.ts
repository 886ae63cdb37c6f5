// Plots of a run's metrics as one self-contained HTML file with inline SVG line charts (no scripts, no
// external files): one chart per metric, one line per split (train, eval, ...).
import { writeFileSync } from 'node:fs';
import type { MetricsRecord } from './metrics.js';

export interface Series {
  name: string;
  points: [number, number][];
}

export interface Chart {
  title: string;
  series: Series[];
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const WIDTH = 640;
const HEIGHT = 300;
const MARGIN = { left: 60, right: 110, top: 30, bottom: 40 };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About `count` round tick values covering [low, high]. */
export function niceTicks(low: number, high: number, count = 5): number[] {
  if (!(high > low)) return [low];
  const raw = (high - low) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function tickLabel(value: number): string {
  return Math.abs(value) >= 1000 || Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(3)));
}

/** One chart as an SVG element. */
export function renderChartSvg(chart: Chart): string {
  const all = chart.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  let [xMin, xMax] = [Math.min(...xs, 0), Math.max(...xs, 1)];
  let [yMin, yMax] = [Math.min(...ys), Math.max(...ys)];
  if (!all.length) [yMin, yMax] = [0, 1];
  if (yMin === yMax) [yMin, yMax] = [yMin - 0.5, yMax + 0.5];
  if (xMin === xMax) xMax = xMin + 1;
  const pad = (yMax - yMin) * 0.05;
  [yMin, yMax] = [yMin - pad, yMax + pad];
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number): number => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const sy = (y: number): number => MARGIN.top + (1 - (y - yMin) / (yMax - yMin)) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeXml(chart.title)}">`,
    `<text x="${MARGIN.left}" y="18" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  ];
  for (const y of niceTicks(yMin, yMax)) {
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${sy(y).toFixed(1)}" y2="${sy(y).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${(sy(y) + 4).toFixed(1)}" font-size="11" text-anchor="end">${tickLabel(y)}</text>`);
  }
  for (const x of niceTicks(xMin, xMax)) {
    parts.push(`<text x="${sx(x).toFixed(1)}" y="${MARGIN.top + plotH + 16}" font-size="11" text-anchor="middle">${tickLabel(x)}</text>`);
  }
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 6}" font-size="12" text-anchor="middle">step</text>`);
  chart.series.forEach((series, k) => {
    const colour = COLOURS[k % COLOURS.length];
    const points = series.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const coords = points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    if (points.length > 1) parts.push(`<polyline points="${coords}" fill="none" stroke="${colour}" stroke-width="1.5"/>`);
    if (points.length <= 30) {
      for (const [x, y] of points) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${colour}"/>`);
    }
    const legendY = MARGIN.top + 14 + k * 18;
    parts.push(`<line x1="${WIDTH - MARGIN.right + 10}" x2="${WIDTH - MARGIN.right + 28}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${colour}" stroke-width="2"/>`);
    parts.push(`<text x="${WIDTH - MARGIN.right + 32}" y="${legendY}" font-size="12">${escapeXml(series.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** One chart per metric found in the records (every numeric field but step), one series per split. */
export function chartsFromMetrics(records: readonly MetricsRecord[], metrics?: readonly string[]): Chart[] {
  const names = metrics ?? [...new Set(records.flatMap((r) => Object.keys(r).filter((k) => k !== 'step' && k !== 'split' && typeof r[k] === 'number')))];
  return names
    .map((metric) => {
      const bySplit = new Map<string, [number, number][]>();
      for (const r of records) {
        const value = r[metric];
        if (typeof value !== 'number') continue;
        if (!bySplit.has(r.split)) bySplit.set(r.split, []);
        bySplit.get(r.split)?.push([r.step, value]);
      }
      return { title: metric, series: [...bySplit].map(([name, points]) => ({ name, points })) };
    })
    .filter((chart) => chart.series.length > 0);
}

/** A whole HTML page with the charts (and an optional list of notes above them). */
export function renderPlotsHtml(title: string, charts: readonly Chart[], notes: readonly string[] = []): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeXml(title)}</title>`,
    '<style>body{font-family:sans-serif;margin:24px;color:#222}svg{display:block;margin:12px 0 24px}</style>',
    '</head><body>',
    `<h1>${escapeXml(title)}</h1>`,
    ...notes.map((note) => `<p>${escapeXml(note)}</p>`),
    ...charts.map(renderChartSvg),
    '</body></html>',
    '',
  ].join('\n');
}

export function writePlots(path: string, title: string, charts: readonly Chart[], notes: readonly string[] = []): void {
  writeFileSync(path, renderPlotsHtml(title, charts, notes));
}
