import { DateTime } from './time.tsx'

/** What the admin user page shows of an account's second factors; more kinds (passkeys) add fields here. */
export type FactorsSummary = { totpEnrolledAt: number | null; passkeys: number; recoveryCodesLeft: number; recoveryCodesIssued: boolean }

/** The factors as <dt>/<dd> pairs inside the caller's <dl class="facts">. */
export function FactorsSummaryFacts(props: { factors: FactorsSummary }) {
  const f = props.factors
  return (
    <>
      <dt>Authenticator app</dt>
      <dd>{f.totpEnrolledAt !== null ? <>Yes, since <DateTime ms={f.totpEnrolledAt} /></> : 'No'}</dd>
      <dt>Passkeys</dt>
      <dd id="factor-passkeys">{f.passkeys === 0 ? 'None' : f.passkeys}</dd>
      <dt>Recovery codes</dt>
      <dd id="factor-recovery-codes-left">{!f.recoveryCodesIssued ? 'None issued' : f.recoveryCodesLeft === 1 ? '1 left' : `${f.recoveryCodesLeft} left`}</dd>
    </>
  )
}
