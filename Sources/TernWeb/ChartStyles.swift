/// Stylesheet fragment for the SVG charts (include it once in the page stylesheet).
/// Colours live in CSS custom properties so light/dark themes only swap variables:
/// `--chart-1` … `--chart-8` (series), `--chart-grid`, `--chart-axis`, `--chart-text`, `--chart-bg`.
/// Dark values apply under `prefers-color-scheme: dark` (unless `data-theme="light"` is set on the
/// root) and anywhere inside an element with `data-theme="dark"`.
public enum ChartStyles {
    public static let css: String = """
        :root {
          --chart-1: #3b82f6; --chart-2: #f59e0b; --chart-3: #10b981; --chart-4: #ef4444;
          --chart-5: #8b5cf6; --chart-6: #06b6d4; --chart-7: #ec4899; --chart-8: #84cc16;
          --chart-grid: rgba(100, 116, 139, 0.16);
          --chart-axis: rgba(100, 116, 139, 0.45);
          --chart-text: #64748b;
          --chart-bg: #ffffff;
        }
        @media (prefers-color-scheme: dark) {
          :root:not([data-theme="light"]) {
            --chart-1: #60a5fa; --chart-2: #fbbf24; --chart-3: #34d399; --chart-4: #f87171;
            --chart-5: #a78bfa; --chart-6: #22d3ee; --chart-7: #f472b6; --chart-8: #a3e635;
            --chart-grid: rgba(148, 163, 184, 0.14);
            --chart-axis: rgba(148, 163, 184, 0.4);
            --chart-text: #94a3b8;
            --chart-bg: #0f172a;
          }
        }
        [data-theme="dark"] {
          --chart-1: #60a5fa; --chart-2: #fbbf24; --chart-3: #34d399; --chart-4: #f87171;
          --chart-5: #a78bfa; --chart-6: #22d3ee; --chart-7: #f472b6; --chart-8: #a3e635;
          --chart-grid: rgba(148, 163, 184, 0.14);
          --chart-axis: rgba(148, 163, 184, 0.4);
          --chart-text: #94a3b8;
          --chart-bg: #0f172a;
        }
        .tern-chart {
          display: block; max-width: 100%; height: auto; overflow: visible;
          color: var(--chart-text);
          font-family: ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
          font-variant-numeric: tabular-nums;
        }
        .tern-chart text { fill: var(--chart-text); font-size: 11px; }
        .tern-chart .grid { stroke: var(--chart-grid); stroke-opacity: 1; }
        .tern-chart .axis { stroke: var(--chart-axis); stroke-opacity: 1; }
        .tern-chart .series-0 { color: var(--chart-1); }
        .tern-chart .series-1 { color: var(--chart-2); }
        .tern-chart .series-2 { color: var(--chart-3); }
        .tern-chart .series-3 { color: var(--chart-4); }
        .tern-chart .series-4 { color: var(--chart-5); }
        .tern-chart .series-5 { color: var(--chart-6); }
        .tern-chart .series-6 { color: var(--chart-7); }
        .tern-chart .series-7 { color: var(--chart-8); }
        .tern-chart .line { fill: none; stroke: currentColor; stroke-width: 1.5px; }
        .tern-chart .area { fill: currentColor; fill-opacity: 0.08; }
        .tern-chart .pt { fill: currentColor; cursor: crosshair; }
        .tern-chart .pt:hover { fill-opacity: 1; stroke: var(--chart-bg); stroke-width: 1.5px; }
        .tern-chart .swatch { fill: currentColor; }
        .tern-chart .track { fill: var(--chart-text); fill-opacity: 0.08; }
        .tern-chart .bar { fill: currentColor; fill-opacity: 0.85; }
        .tern-chart .row:hover .bar, .tern-chart .bin:hover .bar { fill-opacity: 1; }
        .tern-chart .row:hover .track { fill-opacity: 0.14; }
        .tern-chart .row:hover text { fill: currentColor; }
        .tern-chart .row .value { font-weight: 500; }
        .tern-chart .bin:hover .bar { filter: brightness(1.15); }
        .tern-chart .frame { stroke: var(--chart-grid); stroke-opacity: 1; }
        .tern-chart-empty text { font-style: italic; }
        .tern-chart.tern-sparkline { display: inline-block; vertical-align: middle; }
        """
}
