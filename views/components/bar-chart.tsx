/** A server-rendered bar chart (SVG) with the same numbers in a table for screen readers. */
export function BarChart(props: { title: string; points: { label: string; value: number }[] }) {
  const width = 600
  const height = 160
  const max = Math.max(1, ...props.points.map((p) => p.value))
  const bar = width / props.points.length
  const total = props.points.reduce((s, p) => s + p.value, 0)
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-labelledby="chart-title chart-summary" preserveAspectRatio="none">
        <title id="chart-title">{props.title}</title>
        <desc id="chart-summary">{`${total} in total; highest ${max} on one day.`}</desc>
        {props.points.map((p, i) => {
          const h = Math.round((p.value / max) * height)
          return (
            <rect x={(i * bar + 2).toFixed(1)} y={String(height - h)} width={(bar - 4).toFixed(1)} height={String(h)} class="bar">
              <title>{`${p.label}: ${p.value}`}</title>
            </rect>
          )
        })}
        <line x1="0" y1={String(height)} x2={String(width)} y2={String(height)} class="axis" />
        <text x="0" y={String(height + 16)} class="tick">
          {props.points[0]?.label ?? ''}
        </text>
        <text x={String(width)} y={String(height + 16)} text-anchor="end" class="tick">
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
                  <td>{p.label}</td>
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
