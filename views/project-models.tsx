export function ModelsSection(props: { status: string }) {
  return (
    <section class="card" id="models">
      <h2>Models</h2>
      {props.status !== 'approved' && <p class="muted">Models can be created once the project is approved at one or more sites.</p>}
    </section>
  )
}
