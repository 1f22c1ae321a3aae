/**
 * Plain SVG charts (no chart library: the console needs bars and columns, and the figures are
 * also given as text for screen readers and for copying).
 */

export interface Bar {
  label: string;
  value: number;
  /** a note after the value, e.g. "75 % of ABM" */
  note?: string;
}

/** Chart text is 11px (styles.css): an average character's width in viewBox units, with room to spare. */
const CHAR_WIDTH = 6.6;
/** the longest label shown whole */
const LABEL_CHARS = 36;

/** Horizontal bars, each with its label and value. */
export function BarChart({ bars, title, tone = 'accent' }: { bars: Bar[]; title: string; tone?: 'accent' | 'good' }) {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const row = 28;
  const width = 520;
  // The label column fits the longest label (up to a limit; longer ones are cut, whole on hover),
  // so "macOS (version unknown)" no longer runs into its bar.
  const longest = Math.min(LABEL_CHARS, Math.max(0, ...bars.map((b) => b.label.length)));
  const labelWidth = Math.max(60, Math.ceil(longest * CHAR_WIDTH) + 10);
  const barSpace = width - labelWidth - 110;
  return (
    <figure className="chart-figure">
      <svg className="chart" viewBox={`0 0 ${width} ${bars.length * row + 4}`} role="img" aria-label={`${title}: ${bars.map((b) => `${b.label} ${b.value}`).join(', ')}`}>
        {bars.map((b, i) => (
          <g key={b.label} transform={`translate(0 ${i * row + 2})`}>
            <text x={0} y={17}>
              {b.label.length > LABEL_CHARS ? `${b.label.slice(0, LABEL_CHARS - 1)}…` : b.label}
              <title>{b.label}</title>
            </text>
            <rect x={labelWidth} y={4} height={18} rx={3} width={Math.max(b.value > 0 ? 2 : 0, (b.value / max) * barSpace)} className={`bar-${tone}`} />
            <text x={labelWidth + (b.value / max) * barSpace + 6} y={17} className="value">
              {b.value.toLocaleString()}
              {b.note ? ` · ${b.note}` : ''}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  );
}

/** One column per day; the first and last day are labelled. */
export function ColumnChart({ points, title }: { points: { label: string; value: number }[]; title: string }) {
  const max = Math.max(1, ...points.map((p) => p.value));
  const width = 520;
  const height = 140;
  const col = width / Math.max(1, points.length);
  return (
    <figure className="chart-figure">
      <svg className="chart" viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-label={`${title}: ${points.filter((p) => p.value > 0).map((p) => `${p.label} ${p.value}`).join(', ') || 'none'}`}>
        <line x1={0} x2={width} y1={height} y2={height} className="axis" />
        {points.map((p, i) => {
          const h = (p.value / max) * (height - 16);
          return (
            <rect key={p.label} x={i * col + 1} y={height - h} width={Math.max(1, col - 2)} height={h} className="bar-accent">
              <title>
                {p.label}: {p.value}
              </title>
            </rect>
          );
        })}
        <text x={0} y={height + 15}>
          {points[0]?.label}
        </text>
        <text x={width} y={height + 15} textAnchor="end">
          {points[points.length - 1]?.label}
        </text>
        <text x={width} y={10} textAnchor="end">
          {points.some((p) => p.value > 0) ? `max ${max.toLocaleString()} a day` : 'none in this period'}
        </text>
      </svg>
    </figure>
  );
}
