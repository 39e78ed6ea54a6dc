ALTER TABLE `outbox` ADD `carries_secret` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `outbox` ADD `body_removed_at` integer;--> statement-breakpoint
-- custom
-- Messages queued before this migration that carry a secret (temporary password, reset link,
-- invitation link or reminder, security code), known by their subjects, are marked; those already
-- sent, printed or failed lose their body now (the same notice as BODY_REMOVED_TEXT in src/mail/outbox.ts).
UPDATE `outbox` SET `carries_secret` = 1 WHERE `subject` IN ('Your Gatehouse account', 'Your Gatehouse password was reset', 'Reset your Gatehouse password', 'You are invited to Gatehouse', 'Your Gatehouse security code') OR `subject` LIKE 'Reminder%: your Gatehouse invitation';--> statement-breakpoint
UPDATE `outbox` SET `text_body` = '(Body removed after delivery: it carried a password, a link or a code.)', `html_body` = '<p>(Body removed after delivery: it carried a password, a link or a code.)</p>', `body_removed_at` = coalesce(`sent_at`, `created_at`) WHERE `carries_secret` = 1 AND `status` IN ('sent', 'logged', 'failed');--> statement-breakpoint
-- Reset links are now stored under a keyed hash (HMAC, src/auth/tokens.ts): a link issued before
-- this migration (stored as a bare SHA-256) can never match again, so it is expired here; the
-- person asks for a new one.
UPDATE `password_reset_tokens` SET `expires_at` = `created_at` WHERE `used_at` IS NULL AND `expires_at` > `created_at`;--> statement-breakpoint
-- Invitation security codes likewise: an outstanding code (valid for an hour at most) is dropped
-- with the form answers it guards; the invitee fills in the form again and gets a new code.
UPDATE `invitations` SET `security_token_hash` = NULL, `security_token_expires_at` = NULL, `security_token_failures` = 0, `tab_binding_hash` = NULL, `pending_password_hash` = NULL WHERE `security_token_hash` IS NOT NULL;
