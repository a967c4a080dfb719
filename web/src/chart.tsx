/**
 * A time-series line chart on uPlot (canvas; small and fast). The numbers are
 * also in a table beside it, for screen readers and for copying.
 */
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const COLORS = ["#2457c5", "#c5512f", "#2e8b57", "#8a4fbf", "#b8860b", "#137d8a"];

export interface Series {
  label: string;
  /** [ms since the epoch, value] */
  points: [number, number][];
}

/** `span`: the [from, to] the numbers cover (ms); the x axis shows all of it, however few points. */
export function TimeChart(props: { title: string; series: Series[]; span: [number, number]; unit?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const { series, title, unit } = props;
  const [from, to] = props.span;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    // uPlot wants one x array and every series aligned to it (null where a series has no point).
    const xs = [...new Set(series.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
    const ys = series.map((s) => {
      const at = new Map(s.points);
      return xs.map((t) => at.get(t) ?? null);
    });
    const width = Math.max(280, el.clientWidth);
    const plot = new uPlot(
      {
        width,
        height: 220,
        title,
        scales: {
          x: { time: true, range: [from / 1000, to / 1000] },
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
        },
        axes: [{}, { label: unit, size: 60 }],
        series: [
          {},
          ...series.map((s, i) => ({
            label: s.label,
            stroke: COLORS[i % COLORS.length],
            width: 2,
            points: { show: true, size: 6 },
          })),
        ],
      },
      [xs.map((t) => t / 1000), ...ys] as uPlot.AlignedData,
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: 220 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series, title, unit, from, to]);

  return (
    <div className="chart" ref={box} role="img" aria-label={`${title} (chart; the table below has the numbers)`} />
  );
}

/**
 * Histograms of several series on one chart (one per variant): each drawn as
 * a stepped outline over the bins, so variants overlay without hiding each
 * other; the bins' labels are on the x axis instead of times.
 */
export function BarsChart(props: {
  title: string;
  bins: string[];
  series: { label: string; values: number[] }[];
  unit?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const { bins, series, title, unit } = props;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    // Bin i spans [i − 0.5, i + 0.5], centred on its labelled tick: one more x closes the last step.
    const xs = [...bins.map((_, i) => i - 0.5), bins.length - 0.5];
    const stepped = uPlot.paths.stepped;
    const width = Math.max(280, el.clientWidth);
    const plot = new uPlot(
      {
        width,
        height: 220,
        title,
        scales: {
          x: { time: false, range: [-0.5, bins.length - 0.5] },
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
        },
        axes: [
          { values: (_u, ticks) => ticks.map((t) => bins[t] ?? ""), incrs: [1] },
          { label: unit, size: 60 },
        ],
        series: [
          {},
          ...series.map((s, i) => ({
            label: s.label,
            stroke: COLORS[i % COLORS.length],
            fill: `${COLORS[i % COLORS.length]}33`,
            width: 2,
            paths: stepped?.({ align: 1 }),
            points: { show: false },
          })),
        ],
      },
      [xs, ...series.map((s) => [...s.values, s.values.at(-1) ?? 0])] as uPlot.AlignedData,
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: 220 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [bins, series, title, unit]);

  return (
    <div className="chart" ref={box} role="img" aria-label={`${title} (chart; the table below has the numbers)`} />
  );
}
