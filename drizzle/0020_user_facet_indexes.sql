CREATE INDEX `users_disabled_idx` ON `users` (`disabled_at`) WHERE "users"."disabled_at" is not null;--> statement-breakpoint
CREATE INDEX `users_must_change_password_idx` ON `users` (`must_change_password`) WHERE "users"."must_change_password" = 1;--> statement-breakpoint
CREATE INDEX `users_mfa_not_enrolled_idx` ON `users` (`id`) WHERE "users"."totp_secret" is null;--> statement-breakpoint
CREATE INDEX `users_last_activity_idx` ON `users` (coalesce("last_sign_in_at", "created_at"));--> statement-breakpoint
CREATE INDEX `sign_in_throttles_locked_idx` ON `sign_in_throttles` (`locked_until`) WHERE "sign_in_throttles"."locked_until" is not null;