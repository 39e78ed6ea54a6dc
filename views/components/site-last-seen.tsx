import { DateTime } from './time.tsx'

/** A site's last authenticated API request, and "online" while it is under 5 minutes old (SPEC §4.1). */
export function SiteLastSeen(props: { lastSeenAt: number | null; online: boolean }) {
  if (props.lastSeenAt === null) return <span class="badge">never seen</span>
  return (
    <>
      {props.online ? <span class="badge online">online</span> : <span class="badge">offline</span>} · last seen <DateTime ms={props.lastSeenAt} />
    </>
  )
}
