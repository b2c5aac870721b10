// reports/charts.js — owns the Reports view's charts: bars (and a line over them) drawn with
// uPlot, bundled by esbuild from npm (no CDN). A chart is a picture only: it is hidden from
// assistive technology, and the view puts the same numbers in a table beside it. Each chart
// follows its box's width (a ResizeObserver), so it fits a phone and a desktop alike.

import uPlot from 'uplot';
import uPlotCss from 'uplot/dist/uPlot.min.css';
import { h } from '../../../shared/ui/dom.js';

/** uPlot's own stylesheet, once per page (our constant text, never data). */
function ensureChartStyles() {
  if (document.getElementById('pd-uplot-style')) return;
  const style = document.createElement('style');
  style.id = 'pd-uplot-style';
  style.textContent = uPlotCss;
  document.head.append(style);
}

const whole = (u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : ''));

/**
 * A bar chart over `labels` (one bar per label), with an optional line.
 * @param {object} o
 * @param {string[]} o.labels the x axis, one per bar
 * @param {{label: string, values: number[]}} o.bars
 * @param {{label: string, values: number[]}} [o.line]
 * @param {number} [o.height]
 * @returns {{el: HTMLElement, destroy: () => void}}
 */
export function barChart({ labels, bars, line, height = 220 }) {
  ensureChartStyles();
  const el = h('div', { class: 'rep-chart', 'aria-hidden': 'true' });
  const xs = labels.map((_, i) => i);
  const data = [xs, bars.values];
  const series = [
    { label: 'x', value: (u, i) => (i == null ? '' : labels[i] ?? '') },
    {
      label: bars.label,
      fill: 'rgba(37, 99, 235, 0.75)',
      stroke: '#1d4ed8',
      width: 1,
      paths: uPlot.paths.bars({ size: [0.7, 48], align: 0 }),
      points: { show: false },
    },
  ];
  if (line) {
    data.push(line.values);
    series.push({ label: line.label, stroke: '#d97706', width: 2, points: { show: true, size: 5, fill: '#d97706' } });
  }
  const top = Math.max(1, ...bars.values, ...(line ? line.values : []));
  let plot = null;
  const options = (width) => ({
    width,
    height,
    scales: {
      x: { time: false, range: () => [-0.5, labels.length - 0.5] },
      y: { range: () => [0, Math.ceil(top * 1.15)] },
    },
    axes: [
      {
        stroke: '#4b5563',
        grid: { show: false },
        ticks: { show: false },
        incrs: [1, 2, 3, 4, 6, 7, 14, 30, 61, 91],
        space: 34,
        values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? labels[v] ?? '' : '')),
      },
      { stroke: '#4b5563', grid: { stroke: '#e5e7eb', width: 1 }, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000], values: whole, size: 44 },
    ],
    series,
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
  });
  const draw = () => {
    const width = Math.floor(el.clientWidth);
    if (width < 50) return;
    if (!plot) plot = new uPlot(options(width), data, el);
    else if (Math.abs(plot.width - width) > 1) plot.setSize({ width, height });
  };
  const observer = new ResizeObserver(() => draw());
  observer.observe(el);
  return {
    el,
    draw,
    destroy() {
      observer.disconnect();
      plot?.destroy();
      plot = null;
    },
  };
}
