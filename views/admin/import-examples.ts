// The import page's inline examples (SPEC §6.2, §6.3, §6.5), written for the structure in the
// consortium page's example: primary study adrc, affiliated dvcid, data types form and dicom,
// centres 1 (Alpha ADRC) and 2 (Beta ADRC). A test parses each one and expects no error.

export const DIRECTORY_EXAMPLE = `# users.yaml: a list, one entry per person
- active: true
  adcid: 1                       # the centre (its group)
  auth_email: ada@alpha.edu      # signs in with this; null = nothing provisioned
  email: ada.lovelace@alpha.edu  # second address when it differs
  name: { first_name: Ada, last_name: Lovelace }
  org_name: Alpha ADRC
  authorizations:
    study_id: adrc
    approve_data: true
    audit_data: false
    view_reports: true
    submit: [form, dicom]        # grants submit-form and submit-dicom
- active: false                  # disables the account with this address
  auth_email: gone@beta.edu
  email: gone@beta.edu
  name: { first_name: Gus, last_name: Gone }`

export const AUTHORIZATIONS_EXAMPLE = `# auth.yaml: project label → { authorization: project role }
metadata:
  view-reports: read-only
accepted:
  approve-data: contributor
  view-reports: read-only
ingest-form:
  submit-form: contributor
ingest-dicom:
  submit-dicom: contributor
accepted-dvcid:                  # an affiliated study's own entry wins over "accepted"
  view-reports: read-only`

export const DOMAINS_EXAMPLE = `# domains.yaml (optional): duplicate-person and identity-provider checks
domain_relationship:
  parent_child:
    - { child: med.alpha.edu, parent: alpha.edu }
  affiliated_groups:
    - { name: Alpha and Beta, domains: [alpha.edu, beta.edu] }
idp_domain:
  institutional_idp:
    - { domain: alpha.edu, idp_name: Alpha University }
  fallback_domains: [gmail.com]
  fallback_idp: ORCID`
