/** Ticks for a y-axis from 0 to at least `max`: 3–6 evenly spaced round numbers (steps of 1, 2 or 5 × 10ⁿ). */
export function yAxisTicks(max: number): number[] {
  const top = Math.max(1, max)
  const rough = top / 4
  const magnitude = 10 ** Math.floor(Math.log10(rough))
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude)
  const ticks: number[] = []
  for (let v = 0; v < top + step; v += step) ticks.push(v) // ends on the first tick at or above the maximum
  return ticks
}

/** A server-rendered bar chart (SVG) with a y-axis, and the same numbers in a table for screen readers. */
export function BarChart(props: { title: string; points: { label: string; value: number }[] }) {
  const left = 44 // room for the y-axis labels
  const width = 640
  const height = 200
  const max = Math.max(0, ...props.points.map((p) => p.value))
  const ticks = yAxisTicks(max)
  const top = ticks.at(-1)!
  const plot = width - left
  const bar = plot / Math.max(1, props.points.length)
  const y = (v: number) => 8 + Math.round((1 - v / top) * (height - 8))
  const total = props.points.reduce((s, p) => s + p.value, 0)
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height + 24}`} role="img" aria-labelledby="chart-title chart-summary">
        <title id="chart-title">{props.title}</title>
        <desc id="chart-summary">{`${total} in total; highest ${max} on one day.`}</desc>
        {ticks.map((v) => (
          <>
            <line x1={String(left)} y1={String(y(v))} x2={String(width)} y2={String(y(v))} class="grid" />
            <text x={String(left - 6)} y={String(y(v) + 5)} text-anchor="end" class="tick y">
              {v}
            </text>
          </>
        ))}
        {props.points.map((p, i) => {
          const h = y(0) - y(p.value)
          return (
            <rect x={(left + i * bar + 2).toFixed(1)} y={String(y(p.value))} width={Math.max(1, bar - 4).toFixed(1)} height={String(h)} class="bar">
              <title>{`${p.label}: ${p.value}`}</title>
            </rect>
          )
        })}
        <line x1={String(left)} y1="8" x2={String(left)} y2={String(height)} class="axis" />
        <line x1={String(left)} y1={String(height)} x2={String(width)} y2={String(height)} class="axis" />
        <text x={String(left)} y={String(height + 20)} class="tick">
          {props.points[0]?.label ?? ''}
        </text>
        <text x={String(width)} y={String(height + 20)} text-anchor="end" class="tick">
          {props.points.at(-1)?.label ?? ''}
        </text>
      </svg>
      <figcaption>
        {props.title}: {total} in total.{' '}
        <details>
          <summary>Numbers by day</summary>
          <table>
            <thead>
              <tr>
                <th scope="col">Day</th>
                <th scope="col">Count</th>
              </tr>
            </thead>
            <tbody>
              {props.points.map((p) => (
                <tr>
                  <td class="nowrap">{p.label}</td>
                  <td>{p.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      </figcaption>
    </figure>
  )
}
