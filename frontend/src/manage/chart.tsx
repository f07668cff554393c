/** A chart.js canvas that updates in place when its data changes (no flicker on refresh). */
import {
  ArcElement, BarController, BarElement, CategoryScale, Chart, type ChartConfiguration, DoughnutController, Legend,
  LinearScale, LineController, LineElement, PointElement, Tooltip,
} from "chart.js";
import { useEffect, useRef } from "preact/hooks";

Chart.register(ArcElement, BarController, BarElement, CategoryScale, DoughnutController, Legend, LinearScale,
  LineController, LineElement, PointElement, Tooltip);

// Colour-blind-safe palette (Okabe–Ito), cycled.
export const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"];

export function ChartBox({ config, label, height = 220 }: { config: ChartConfiguration; label: string; height?: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | null>(null);
  useEffect(() => {
    if (!canvas.current) return;
    if (chart.current && (chart.current.config as ChartConfiguration).type === config.type) {
      chart.current.data = config.data;
      chart.current.update("none");
      return;
    }
    chart.current?.destroy();
    chart.current = new Chart(canvas.current, {
      ...config, options: { responsive: true, maintainAspectRatio: false, animation: false, ...config.options },
    });
  }, [config]);
  useEffect(() => () => chart.current?.destroy(), []);
  return (
    <div class="m-chart" style={{ height: `${height}px` }}>
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}
