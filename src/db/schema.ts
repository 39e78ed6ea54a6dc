import { sql } from 'drizzle-orm'
import { blob, index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

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
    role: text('role').notNull(),
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
    disabledAt: integer('disabled_at'),
    lastSignInAt: integer('last_sign_in_at'),
    /** How the account was claimed: 'local' (password) or an identity provider's name. */
    claimedVia: text('claimed_via').notNull().default('local'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('users_username_lower_unique').on(sql`lower(${t.username})`),
    index('users_role_idx').on(t.role),
  ],
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
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
)

/** Failed sign-in counters, keyed by lower-cased email whether or not an account exists. */
export const signInThrottles = sqliteTable('sign_in_throttles', {
  email: text('email').primaryKey(),
  failures: integer('failures').notNull().default(0),
  lastFailureAt: integer('last_failure_at').notNull(),
  lockedUntil: integer('locked_until'),
})

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
  },
  (t) => [index('outbox_status_next_idx').on(t.status, t.nextAttemptAt)],
)

/** Append-only: triggers in the migrations refuse UPDATE and DELETE. */
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
  },
  (t) => [
    index('audit_events_at_idx').on(t.at),
    index('audit_events_event_idx').on(t.event, t.at),
    index('audit_events_actor_idx').on(t.actorId, t.at),
    index('audit_events_target_idx').on(t.targetType, t.targetId),
  ],
)

export const settings = sqliteTable('settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
})

export type User = typeof users.$inferSelect
export type Session = typeof sessions.$inferSelect
export type OutboxMessage = typeof outbox.$inferSelect
export type AuditEvent = typeof auditEvents.$inferSelect
