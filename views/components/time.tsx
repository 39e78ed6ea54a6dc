/** A UTC timestamp (ms) as a <time> element; "—" for null. */
export function DateTime(props: { ms: number | null | undefined }) {
  if (props.ms === null || props.ms === undefined) return <span>—</span>
  const iso = new Date(props.ms).toISOString()
  return <time datetime={iso}>{iso.slice(0, 16).replace('T', ' ')} UTC</time>
}
