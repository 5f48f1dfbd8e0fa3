// A live time series chart: uPlot (made for streaming series, a few kB), redrawn in place with
// setData as samples arrive rather than rebuilt.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** Series colours that read on light and dark backgrounds. */
const palette = ['#3b82f6', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#06b6d4', '#ec4899', '#84cc16'];

export interface ChartProps {
  readonly title: string;
  /** Seconds since the epoch, shared by every series. */
  readonly times: readonly number[];
  readonly series: readonly { readonly label: string; readonly values: readonly (number | null)[] }[];
  /** How a value reads on the axis and in the legend. */
  readonly format: (value: number) => string;
}

export function Chart({ title, times, series, format }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = series.map((s) => s.label).join('\n');
  const data = [times, ...series.map((s) => s.values)] as uPlot.AlignedData;

  // Rebuilt only when the set of series changes; new samples go through setData.
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const color = getComputedStyle(el).color;
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: 160,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
      axes: [
        { stroke: color, grid: { stroke: 'rgba(128,128,128,0.15)' } },
        {
          stroke: color,
          grid: { stroke: 'rgba(128,128,128,0.15)' },
          values: (_u, ticks) => ticks.map(format),
          size: 60,
        },
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: palette[i % palette.length],
          width: 1.5,
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : format(v)),
        })),
      ],
    };
    plot.current = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(280, el.clientWidth), height: 160 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [labels]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}, over the last minutes`} />
    </figure>
  );
}
