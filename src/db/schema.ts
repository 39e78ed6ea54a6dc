import { sql } from 'drizzle-orm'
import { blob, index, integer, primaryKey, sqliteTable, text, uniqueIndex, type AnySQLiteColumn } from 'drizzle-orm/sqlite-core'

// Every *_at column holds milliseconds since the Unix epoch (UTC).

export const users = sqliteTable(
  'users',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** Stored lower-cased: email addresses are unique case-insensitively. */
    email: text('email').notNull().unique(),
    firstName: text('first_name').notNull().default(''),
    lastName: text('last_name').notNull().default(''),
    username: text('username'),
    organization: text('organization').notNull().default(''),
    /** The user's one site role, by name (system: admin, researcher, observer; or a custom site role). */
    role: text('role')
      .notNull()
      .references((): AnySQLiteColumn => roles.name, { onUpdate: 'cascade' }),
    passwordHash: text('password_hash').notNull(),
    passwordChangedAt: integer('password_changed_at').notNull(),
    mustChangePassword: integer('must_change_password', { mode: 'boolean' }).notNull().default(false),
    /** Set while the password is an emailed temporary one; sign-in is refused after it. */
    temporaryPasswordExpiresAt: integer('temporary_password_expires_at'),
    /** AES-256-GCM ciphertext (see auth/totp.ts); null until enrolment completes. */
    totpSecret: text('totp_secret'),
    /** Ciphertext of the secret shown on the enrolment page, until confirmed. */
    totpPendingSecret: text('totp_pending_secret'),
    /** Last accepted TOTP time step: a code for this step or an earlier one is refused. */
    totpLastStep: integer('totp_last_step'),
    mfaEnrolledAt: integer('mfa_enrolled_at'),
    /** When the current set of recovery codes was issued; null until the user has been shown a set. */
    recoveryCodesIssuedAt: integer('recovery_codes_issued_at'),
    disabledAt: integer('disabled_at'),
    lastSignInAt: integer('last_sign_in_at'),
    /** How the account was claimed: 'local' (password) or an identity provider's name. */
    claimedVia: text('claimed_via').notNull().default('local'),
    /** The account's second address (a consortium directory's `email` when it differs from `auth_email`); lower-cased. */
    contactEmail: text('contact_email'),
    /** Workflow notifications (SPEC §12): staged, decided, withdrawn, lapsed, reminders. Security emails are always sent. */
    workflowEmails: integer('workflow_emails', { mode: 'boolean' }).notNull().default(true),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('users_username_lower_unique').on(sql`lower(${t.username})`),
    index('users_role_idx').on(t.role),
    index('users_contact_email_idx').on(t.contactEmail),
    // The user list's status facets without a text filter (models/user-table.ts): each count reads
    // only its own rows, never all 100,000 accounts.
    index('users_disabled_idx').on(t.disabledAt).where(sql`${t.disabledAt} is not null`),
    index('users_must_change_password_idx').on(t.mustChangePassword).where(sql`${t.mustChangePassword} = 1`),
    index('users_mfa_not_enrolled_idx').on(t.id).where(sql`${t.totpSecret} is null`),
    index('users_last_activity_idx').on(sql`coalesce(${t.lastSignInAt}, ${t.createdAt})`),
  ],
)

/** Single-use recovery codes (SPEC §11): SHA-256 of the normalised code, never the code itself. */
export const recoveryCodes = sqliteTable(
  'recovery_codes',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    createdAt: integer('created_at').notNull(),
    usedAt: integer('used_at'),
  },
  (t) => [uniqueIndex('recovery_codes_user_hash_unique').on(t.userId, t.codeHash)],
)

/** WebAuthn credentials (SPEC §11): a user may register several, each with a name. */
export const passkeys = sqliteTable(
  'passkeys',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The credential id, base64url as the browser sends it. */
    credentialId: text('credential_id').notNull().unique(),
    /** COSE public key. */
    publicKey: blob('public_key', { mode: 'buffer' }).notNull(),
    /** The last signature counter seen (0: the authenticator keeps none). */
    counter: integer('counter').notNull().default(0),
    /** Comma-separated transports hint ('internal,hybrid'). */
    transports: text('transports').notNull().default(''),
    deviceType: text('device_type').notNull().default('singleDevice'),
    backedUp: integer('backed_up', { mode: 'boolean' }).notNull().default(false),
    /** Registered as a discoverable credential with user verification: may sign in on its own. */
    userVerifiedAtRegistration: integer('user_verified_at_registration', { mode: 'boolean' }).notNull().default(false),
    name: text('name').notNull(),
    createdAt: integer('created_at').notNull(),
    lastUsedAt: integer('last_used_at'),
  },
  (t) => [index('passkeys_user_idx').on(t.userId)],
)

/**
 * Outstanding WebAuthn challenges: single use (deleted when used), 5 minutes. `binding` is
 * 'session:<session id>' or 'preauth:<SHA-256 of the pre-auth cookie>' (passwordless sign-in).
 */
export const webauthnChallenges = sqliteTable(
  'webauthn_challenges',
  {
    challenge: text('challenge').primaryKey(),
    purpose: text('purpose', { enum: ['register', 'second-factor', 'sign-in', 'reauth'] }).notNull(),
    binding: text('binding').notNull(),
    userId: integer('user_id').references(() => users.id, { onDelete: 'cascade' }),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('webauthn_challenges_expires_idx').on(t.expiresAt)],
)

export const sessions = sqliteTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    /** SHA-256 of the token's secret part; the secret itself is never stored. */
    secretHash: blob('secret_hash', { mode: 'buffer' }).notNull(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
    createdAt: integer('created_at').notNull(),
    lastActiveAt: integer('last_active_at').notNull(),
    /** A session is "full" only once the TOTP step has been passed. */
    mfaVerified: integer('mfa_verified', { mode: 'boolean' }).notNull().default(false),
    ip: text('ip').notNull().default(''),
    userAgent: text('user_agent').notNull().default(''),
    /** How the session was authenticated: 'password', 'passkey', or 'oidc:<provider name>' (SPEC §10). */
    authMethod: text('auth_method').notNull().default('password'),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
)

/** Failed sign-in counters, keyed by lower-cased email whether or not an account exists. */
export const signInThrottles = sqliteTable(
  'sign_in_throttles',
  {
    email: text('email').primaryKey(),
    failures: integer('failures').notNull().default(0),
    lastFailureAt: integer('last_failure_at').notNull(),
    lockedUntil: integer('locked_until'),
  },
  (t) => [index('sign_in_throttles_locked_idx').on(t.lockedUntil).where(sql`${t.lockedUntil} is not null`)],
)

export const passwordResetTokens = sqliteTable(
  'password_reset_tokens',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    tokenHash: text('token_hash').notNull().unique(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
  },
  (t) => [index('password_reset_tokens_user_idx').on(t.userId)],
)

export const outbox = sqliteTable(
  'outbox',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    recipient: text('recipient').notNull(),
    subject: text('subject').notNull(),
    textBody: text('text_body').notNull(),
    htmlBody: text('html_body').notNull(),
    /** queued → sent | failed (after 24 h of retries) | logged (no SMTP configured: printed). */
    status: text('status', { enum: ['queued', 'sent', 'failed', 'logged'] }).notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    lastError: text('last_error'),
    createdAt: integer('created_at').notNull(),
    sentAt: integer('sent_at'),
    /** The body carries a secret (password, link, code): replaced by a notice once sent, printed or failed. */
    carriesSecret: integer('carries_secret', { mode: 'boolean' }).notNull().default(false),
    /** When the body was replaced by that notice; null while it is kept. */
    bodyRemovedAt: integer('body_removed_at'),
  },
  (t) => [index('outbox_status_next_idx').on(t.status, t.nextAttemptAt)],
)

/** Append-only: triggers in the migrations refuse UPDATE and DELETE (except setting a NULL hash once). */
export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    event: text('event').notNull(),
    actorId: integer('actor_id'),
    actorEmail: text('actor_email'),
    targetType: text('target_type'),
    targetId: text('target_id'),
    ip: text('ip'),
    /** JSON object with event-specific details; never secrets. */
    details: text('details').notNull().default('{}'),
    /** Tamper-evident chain: SHA-256 (hex) of the previous event's hash and this event's canonical content (models/audit-chain.ts). */
    hash: text('hash'),
  },
  (t) => [
    index('audit_events_at_idx').on(t.at),
    index('audit_events_event_idx').on(t.event, t.at),
    index('audit_events_actor_idx').on(t.actorId, t.at),
    index('audit_events_target_idx').on(t.targetType, t.targetId),
    // Membership events target the project or group and name the member in details.user_id: the user page finds them by it.
    index('audit_events_user_id_idx').on(sql`json_extract(${t.details}, '$.user_id')`),
  ],
)

export const settings = sqliteTable('settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
})

/** Site and project roles. Permissions are names from src/authz/permissions.ts, as a JSON array. */
export const roles = sqliteTable('roles', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  description: text('description').notNull().default(''),
  scope: text('scope', { enum: ['site', 'project'] }).notNull(),
  /** System roles are built in: neither editable nor deletable. */
  isSystem: integer('is_system', { mode: 'boolean' }).notNull().default(false),
  permissions: text('permissions', { mode: 'json' }).$type<string[]>().notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
})

/** A project role listed here may only be granted in these groups; none listed: any project. */
export const roleGroups = sqliteTable(
  'role_groups',
  {
    roleId: integer('role_id')
      .notNull()
      .references(() => roles.id, { onDelete: 'cascade' }),
    groupId: integer('group_id')
      .notNull()
      .references(() => groups.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.roleId, t.groupId] })],
)

/** A centre, team or consortium that holds projects. */
export const groups = sqliteTable('groups', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  description: text('description').notNull().default(''),
  /** Consortium member centres (SPEC §6.1): the numeric centre id (adcid); null for other groups. */
  centreId: integer('centre_id').unique(),
  createdAt: integer('created_at').notNull(),
})

export const GROUP_ROLES = ['group_admin', 'member'] as const
export type GroupRole = (typeof GROUP_ROLES)[number]

export const groupMembers = sqliteTable(
  'group_members',
  {
    groupId: integer('group_id')
      .notNull()
      .references(() => groups.id),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
    role: text('role', { enum: GROUP_ROLES }).notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.userId] }), index('group_members_user_idx').on(t.userId)],
)

export const PROJECT_STATUSES = ['unstaged', 'staged', 'approved'] as const
export type ProjectStatus = (typeof PROJECT_STATUSES)[number]

export const projects = sqliteTable(
  'projects',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    ownerId: integer('owner_id')
      .notNull()
      .references(() => users.id),
    groupId: integer('group_id').references(() => groups.id),
    status: text('status', { enum: PROJECT_STATUSES }).notNull().default('unstaged'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    /** Soft delete: hidden everywhere, kept for the audit trail. */
    deletedAt: integer('deleted_at'),
    stagedAt: integer('staged_at'),
    approvedAt: integer('approved_at'),
    /** Consortium project label within its group (SPEC §6.1: `accepted-dvcid`, `metadata`, …); null otherwise. */
    label: text('label'),
  },
  (t) => [
    index('projects_owner_idx').on(t.ownerId),
    index('projects_group_idx').on(t.groupId),
    uniqueIndex('projects_group_label_unique').on(t.groupId, t.label).where(sql`${t.label} is not null and ${t.deletedAt} is null`),
  ],
)

export const STUDY_KINDS = ['primary', 'affiliated'] as const

/** Consortium studies (SPEC §6.1): a primary study's projects carry no suffix, an affiliated one's end in `-<id>`. */
export const consortiumStudies = sqliteTable('consortium_studies', {
  id: text('id').primaryKey(),
  kind: text('kind', { enum: STUDY_KINDS }).notNull(),
})

/** The configured consortium data types (a name may contain `-`). */
export const consortiumDataTypes = sqliteTable('consortium_data_types', {
  name: text('name').primaryKey(),
})

/** The studies each centre group takes part in. */
export const consortiumCentreStudies = sqliteTable(
  'consortium_centre_studies',
  {
    groupId: integer('group_id')
      .notNull()
      .references(() => groups.id),
    studyId: text('study_id')
      .notNull()
      .references(() => consortiumStudies.id),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.studyId] })],
)

/** Hospital sites (Trusts). Each has an API key; only its SHA-256 is stored. */
export const sites = sqliteTable('sites', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  code: text('code').notNull().unique(),
  contactEmail: text('contact_email').notNull().default(''),
  apiKeyHash: text('api_key_hash').notNull().unique(),
  /** The key's first characters, to recognise it in lists; never enough to use it. */
  apiKeyPrefix: text('api_key_prefix').notNull(),
  createdAt: integer('created_at').notNull(),
  keyRotatedAt: integer('key_rotated_at').notNull(),
  /** Set while the site is disabled: its key is refused and no tasks are handed to it; null when active. */
  disabledAt: integer('disabled_at'),
  /** The site's last authenticated API request, written at most once a minute; null: never seen. */
  lastSeenAt: integer('last_seen_at'),
})

/** The users who decide for a site (SPEC §4.1); any site role; a user may approve for several sites. */
export const siteApprovers = sqliteTable(
  'site_approvers',
  {
    siteId: integer('site_id')
      .notNull()
      .references(() => sites.id),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
    appointedBy: integer('appointed_by')
      .notNull()
      .references(() => users.id),
    appointedAt: integer('appointed_at').notNull(),
  },
  (t) => [uniqueIndex('site_approvers_site_user').on(t.siteId, t.userId), index('site_approvers_user_idx').on(t.userId)],
)

/** OpenID Connect providers (SPEC §10); the client secret is AES-256-GCM ciphertext (auth/encryption.ts). */
export const identityProviders = sqliteTable('identity_providers', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  /** Display name; the domain config's `idp_name` and `fallback_idp` refer to it. Unique case-insensitively (checked by the model). */
  name: text('name').notNull().unique(),
  issuer: text('issuer').notNull(),
  clientId: text('client_id').notNull(),
  clientSecret: text('client_secret').notNull(),
  scopes: text('scopes').notNull().default('openid email profile'),
  /** Lower-cased domains separated by single spaces; '' when the provider suggests itself for none. */
  domains: text('domains').notNull().default(''),
  trustMfa: integer('trust_mfa', { mode: 'boolean' }).notNull().default(false),
  autoLink: integer('auto_link', { mode: 'boolean' }).notNull().default(false),
  enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
})

/** An identity at a provider (its `sub`), linked to one account. */
export const userIdentities = sqliteTable(
  'user_identities',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
    providerId: integer('provider_id')
      .notNull()
      .references(() => identityProviders.id),
    sub: text('sub').notNull(),
    emailAtLink: text('email_at_link').notNull().default(''),
    linkedAt: integer('linked_at').notNull(),
    lastUsedAt: integer('last_used_at'),
  },
  (t) => [uniqueIndex('user_identities_provider_sub').on(t.providerId, t.sub), index('user_identities_user_idx').on(t.userId)],
)

/** Every save of a project's cohort query is a new version. */
export const cohortQueries = sqliteTable(
  'cohort_queries',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    projectId: integer('project_id')
      .notNull()
      .references(() => projects.id),
    version: integer('version').notNull(),
    sqlText: text('sql_text').notNull(),
    createdBy: integer('created_by')
      .notNull()
      .references(() => users.id),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('cohort_queries_project_version').on(t.projectId, t.version)],
)

/** project_sites.decision caches the site's latest decision (site_decisions holds the history). */
export const SITE_DECISIONS = ['approved', 'not approved', 'withdrawn'] as const

/** The sites a project was staged on, and each site's decision (who and when). */
export const projectSites = sqliteTable(
  'project_sites',
  {
    projectId: integer('project_id')
      .notNull()
      .references(() => projects.id),
    siteId: integer('site_id')
      .notNull()
      .references(() => sites.id),
    stagedAt: integer('staged_at').notNull(),
    decision: text('decision', { enum: SITE_DECISIONS }),
    decidedBy: integer('decided_by').references(() => users.id),
    decidedAt: integer('decided_at'),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.siteId] })],
)

export const SITE_DECISION_KINDS = ['approve', 'decline', 'withdraw'] as const

/**
 * Every decision a site makes on a project (SPEC §4.1), append-only: approve, decline, or
 * withdraw (of the approval before it). The latest row is the site's current decision.
 */
export const siteDecisions = sqliteTable(
  'site_decisions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    projectId: integer('project_id')
      .notNull()
      .references(() => projects.id),
    siteId: integer('site_id')
      .notNull()
      .references(() => sites.id),
    decision: text('decision', { enum: SITE_DECISION_KINDS }).notNull(),
    /** null only for decisions carried over from before decisions were history. */
    decidedBy: integer('decided_by').references(() => users.id),
    decidedAt: integer('decided_at').notNull(),
    reason: text('reason').notNull().default(''),
    conditions: text('conditions').notNull().default(''),
    agreement: text('agreement').notNull().default(''),
    /** YYYY-MM-DD; the approval lapses at the end of that day (UTC). */
    expiresOn: text('expires_on'),
    cohortQueryId: integer('cohort_query_id').references(() => cohortQueries.id),
    cohortQuerySha256: text('cohort_query_sha256'),
  },
  (t) => [index('site_decisions_project_site_idx').on(t.projectId, t.siteId, t.id)],
)

export const MODEL_STATUSES = ['pending', 'initiated', 'running', 'results uploaded', 'stopped', 'error'] as const

export const models = sqliteTable(
  'models',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    projectId: integer('project_id')
      .notNull()
      .references(() => projects.id),
    ownerId: integer('owner_id')
      .notNull()
      .references(() => users.id),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    status: text('status', { enum: MODEL_STATUSES }).notNull().default('pending'),
    /** The project's approved sites when the model was created. */
    allowedSiteIds: text('allowed_site_ids', { mode: 'json' }).$type<number[]>().notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('models_project_idx').on(t.projectId)],
)

/** Files stored under DATA_DIR/files; uploaded to a model, or produced by a site for a training run. */
export const files = sqliteTable(
  'files',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    modelId: integer('model_id').references(() => models.id),
    trainingRunId: integer('training_run_id').references(() => trainingRuns.id),
    filename: text('filename').notNull(),
    size: integer('size').notNull(),
    sha256: text('sha256').notNull(),
    storagePath: text('storage_path').notNull(),
    uploadedBy: integer('uploaded_by').references(() => users.id),
    siteId: integer('site_id').references(() => sites.id),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('files_model_idx').on(t.modelId), index('files_run_idx').on(t.trainingRunId)],
)

export const TRAINING_STATUSES = ['initiated', 'running', 'results uploaded', 'stopped', 'error'] as const

export const trainingRuns = sqliteTable(
  'training_runs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    modelId: integer('model_id')
      .notNull()
      .references(() => models.id),
    siteId: integer('site_id')
      .notNull()
      .references(() => sites.id),
    status: text('status', { enum: TRAINING_STATUSES }).notNull().default('initiated'),
    metrics: text('metrics', { mode: 'json' }).$type<Record<string, number | string>>().notNull().default({}),
    startedBy: integer('started_by')
      .notNull()
      .references(() => users.id),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('training_runs_model_idx').on(t.modelId)],
)

export const TASK_KINDS = ['cohort_query', 'image_retrieval', 'training'] as const
export const TASK_STATUSES = ['pending', 'claimed', 'done', 'error', 'cancelled'] as const

/** Work handed to sites through the site API: they poll, claim, and post a result. */
export const tasks = sqliteTable(
  'tasks',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    siteId: integer('site_id')
      .notNull()
      .references(() => sites.id),
    kind: text('kind', { enum: TASK_KINDS }).notNull(),
    projectId: integer('project_id')
      .notNull()
      .references(() => projects.id),
    cohortQueryId: integer('cohort_query_id').references(() => cohortQueries.id),
    trainingRunId: integer('training_run_id').references(() => trainingRuns.id),
    status: text('status', { enum: TASK_STATUSES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    claimedAt: integer('claimed_at'),
    /** A claim not finished by then returns the task to pending. */
    claimExpiresAt: integer('claim_expires_at'),
    /** Cohort count reported by the site (null until then, or on error). */
    resultCount: integer('result_count'),
    result: text('result', { mode: 'json' }).$type<Record<string, unknown>>(),
    error: text('error'),
    createdAt: integer('created_at').notNull(),
    completedAt: integer('completed_at'),
  },
  (t) => [index('tasks_site_status_idx').on(t.siteId, t.status), index('tasks_project_idx').on(t.projectId)],
)

/** Project user access: a membership (project, user) holds one or more project roles, one row each; it grants their union. */
export const projectMembers = sqliteTable(
  'project_members',
  {
    projectId: integer('project_id')
      .notNull()
      .references(() => projects.id),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
    roleId: integer('role_id')
      .notNull()
      .references(() => roles.id),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.userId, t.roleId] }), index('project_members_user_idx').on(t.userId), index('project_members_role_idx').on(t.roleId)],
)

export const INVITATION_STATUSES = ['sent', 'link visited', 'accepted', 'revoked'] as const
export const FOLLOW_UP_MODES = ['none', 'date'] as const

/**
 * An invitation to create an account. The link's token is never stored: it is derived from the
 * server key and `tokenSalt` (so a resend can send the same link) and found by its SHA-256.
 * "expired" is not stored: it is sent/link visited with expires_at in the past.
 */
export const invitations = sqliteTable(
  'invitations',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    email: text('email').notNull(),
    role: text('role')
      .notNull()
      .references(() => roles.name, { onUpdate: 'cascade' }),
    organization: text('organization').notNull().default(''),
    groupId: integer('group_id').references(() => groups.id),
    groupRole: text('group_role', { enum: GROUP_ROLES }),
    /** Project memberships granted on acceptance. */
    projectGrants: text('project_grants', { mode: 'json' }).$type<{ projectId: number; roleId: number }[]>().notNull().default([]),
    tokenSalt: text('token_salt').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    status: text('status', { enum: INVITATION_STATUSES }).notNull().default('sent'),
    invitedBy: integer('invited_by').references(() => users.id),
    createdAt: integer('created_at').notNull(),
    sentAt: integer('sent_at').notNull(),
    sendCount: integer('send_count').notNull().default(1),
    expiresAt: integer('expires_at').notNull(),
    visitedAt: integer('visited_at'),
    acceptedAt: integer('accepted_at'),
    revokedAt: integer('revoked_at'),
    acceptedUserId: integer('accepted_user_id').references(() => users.id),
    // The form's answers, kept until the emailed security token confirms them.
    pendingFirstName: text('pending_first_name'),
    pendingLastName: text('pending_last_name'),
    pendingUsername: text('pending_username'),
    pendingPasswordHash: text('pending_password_hash'),
    /** SHA-256 of the 6-character security token; null when none is outstanding. */
    securityTokenHash: text('security_token_hash'),
    securityTokenExpiresAt: integer('security_token_expires_at'),
    securityTokenFailures: integer('security_token_failures').notNull().default(0),
    /** SHA-256 of the value rendered into the tab that filled the form; the token only works with it. */
    tabBindingHash: text('tab_binding_hash'),
    // Set by a consortium import (SPEC §6.4): the directory's second address and name, and the
    // follow-up schedule for an unclaimed invitation.
    contactEmail: text('contact_email'),
    firstName: text('first_name'),
    lastName: text('last_name'),
    /** 'date': follow-ups on days 7, 14 and 21 after the first claim email; 'none': never. */
    followUpMode: text('follow_up_mode', { enum: FOLLOW_UP_MODES }).notNull().default('none'),
    followUpsSent: integer('follow_ups_sent').notNull().default(0),
    lastFollowUpAt: integer('last_follow_up_at'),
  },
  (t) => [index('invitations_email_idx').on(t.email), index('invitations_status_idx').on(t.status)],
)

export const IMPORT_RUN_STATUSES = ['planning', 'planned', 'applying', 'applied', 'failed'] as const
export const NOTIFY_MODES = ['none', 'date', 'force'] as const

/**
 * A consortium import started from the admin area (or applied by the CLI): its status and summary.
 * The uploaded files and the report, megabytes for a large directory, are in import_run_files, so
 * that the status changes (planned → applying → applied) rewrite a row of a few bytes: SQLite
 * rewrites a whole record on UPDATE, and rewriting the files to claim a run stopped every page.
 */
export const importRuns = sqliteTable('import_runs', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  status: text('status', { enum: IMPORT_RUN_STATUSES }).notNull(),
  notify: text('notify', { enum: NOTIFY_MODES }).notNull(),
  createdAt: integer('created_at').notNull(),
  createdBy: integer('created_by').references(() => users.id),
  usersFilename: text('users_filename').notNull(),
  authFilename: text('auth_filename').notNull(),
  domainsFilename: text('domains_filename'),
  entries: integer('entries').notNull().default(0),
  /** The stored report's `ok` (null: no report yet), kept with the report. */
  reportOk: integer('report_ok', { mode: 'boolean' }),
  appliedAt: integer('applied_at'),
  appliedBy: integer('applied_by').references(() => users.id),
  /** Why planning or applying failed (an unexpected error; file errors are in the report). */
  failure: text('failure'),
})

/** An import run's files and its report of SPEC §6.6 (the plan; once applied, the applied result). */
export const importRunFiles = sqliteTable('import_run_files', {
  runId: integer('run_id')
    .primaryKey()
    .references(() => importRuns.id, { onDelete: 'cascade' }),
  usersYaml: text('users_yaml').notNull(),
  authYaml: text('auth_yaml').notNull(),
  domainsYaml: text('domains_yaml'),
  report: text('report', { mode: 'json' }).$type<Record<string, unknown>>(),
})

/** A task's history: created, claimed, claim expired, result, error. */
export const taskEvents = sqliteTable(
  'task_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    taskId: integer('task_id')
      .notNull()
      .references(() => tasks.id),
    at: integer('at').notNull(),
    event: text('event').notNull(),
    details: text('details', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index('task_events_task_idx').on(t.taskId)],
)

export type User = typeof users.$inferSelect
export type Session = typeof sessions.$inferSelect
export type OutboxMessage = typeof outbox.$inferSelect
export type AuditEvent = typeof auditEvents.$inferSelect
export type Role = typeof roles.$inferSelect
export type Group = typeof groups.$inferSelect
export type Project = typeof projects.$inferSelect
export type Invitation = typeof invitations.$inferSelect
export type ImportRun = typeof importRuns.$inferSelect & Omit<typeof importRunFiles.$inferSelect, 'runId'>
export type Site = typeof sites.$inferSelect
export type SiteApprover = typeof siteApprovers.$inferSelect
export type SiteDecision = typeof siteDecisions.$inferSelect
/**
 * What the expiry scheduler has done for an approval (a site_decisions 'approve' row with an
 * expiry): 'reminder_30' and 'reminder_7' sent, 'lapsed' processed. The primary key makes each
 * one happen once: a run claims it with INSERT … ON CONFLICT DO NOTHING and acts only if it won.
 */
export const approvalNotices = sqliteTable(
  'approval_notices',
  {
    decisionId: integer('decision_id')
      .notNull()
      .references(() => siteDecisions.id),
    kind: text('kind', { enum: ['reminder_30', 'reminder_7', 'lapsed'] }).notNull(),
    at: integer('at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.decisionId, t.kind] })],
)

export type CohortQuery = typeof cohortQueries.$inferSelect
export type Model = typeof models.$inferSelect
export type TrainingRun = typeof trainingRuns.$inferSelect
export type Task = typeof tasks.$inferSelect
export type StoredFile = typeof files.$inferSelect
export type RecoveryCode = typeof recoveryCodes.$inferSelect
export type Passkey = typeof passkeys.$inferSelect
export type IdentityProvider = typeof identityProviders.$inferSelect
export type UserIdentity = typeof userIdentities.$inferSelect
