// The small consortium several import tests share: one primary study, one data type, centre 1
// ("alpha") and the admin group "nacc", with an authorization map reaching read-only and contributor.

export const STRUCTURE = { studies: { adrc: 'primary' as const }, dataTypes: ['form'], centres: { 1: { group: 'alpha', studies: ['adrc'] } }, adminGroup: 'nacc' }

export const AUTH = `metadata:
  view-reports: read-only
accepted:
  view-reports: read-only
  approve-data: contributor
ingest-form:
  submit-form: contributor
`
