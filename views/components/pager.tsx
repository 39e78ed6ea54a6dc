/** The page numbers to show: the first, the last and two either side of the current one; null is a gap ("…"). */
export function pageNumbers(page: number, pages: number): (number | null)[] {
  const shown: (number | null)[] = []
  for (let n = 1; n <= pages; n++) {
    if (n === 1 || n === pages || Math.abs(n - page) <= 2) shown.push(n)
    else if (shown.at(-1) !== null) shown.push(null)
  }
  return shown
}

/** Previous / page numbers / next links (nothing when there is one page); `href(n)` is page n's URL. */
export function Pager(props: { page: number; pages: number; label: string; href: (n: number) => string }) {
  const { page, pages, href } = props
  if (pages <= 1) return <></>
  return (
    <nav class="pager" aria-label={props.label}>
      {page > 1 ? (
        <a href={href(page - 1)} rel="prev">
          ← Previous
        </a>
      ) : (
        <span />
      )}
      <ul class="page-numbers">
        {pageNumbers(page, pages).map((n) =>
          n === null ? (
            <li aria-hidden="true">…</li>
          ) : (
            <li>
              <a href={href(n)} aria-current={n === page ? 'page' : undefined} aria-label={`Page ${n}`}>
                {n}
              </a>
            </li>
          ),
        )}
      </ul>
      {page < pages ? (
        <a href={href(page + 1)} rel="next">
          Next →
        </a>
      ) : (
        <span />
      )}
    </nav>
  )
}

/** "Showing 51–100 of 1,000" for a page of a list. */
export function showingRange(page: number, pageSize: number, shown: number, total: number): string {
  const first = (page - 1) * pageSize + 1
  return `Showing ${first.toLocaleString('en-GB')}–${(first + shown - 1).toLocaleString('en-GB')} of ${total.toLocaleString('en-GB')}`
}
