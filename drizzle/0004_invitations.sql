CREATE TABLE `invitations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`email` text NOT NULL,
	`role` text NOT NULL,
	`organization` text DEFAULT '' NOT NULL,
	`group_id` integer,
	`group_role` text,
	`project_grants` text DEFAULT '[]' NOT NULL,
	`token_salt` text NOT NULL,
	`token_hash` text NOT NULL,
	`status` text DEFAULT 'sent' NOT NULL,
	`invited_by` integer,
	`created_at` integer NOT NULL,
	`sent_at` integer NOT NULL,
	`send_count` integer DEFAULT 1 NOT NULL,
	`expires_at` integer NOT NULL,
	`visited_at` integer,
	`accepted_at` integer,
	`revoked_at` integer,
	`accepted_user_id` integer,
	`pending_first_name` text,
	`pending_last_name` text,
	`pending_username` text,
	`pending_password_hash` text,
	`security_token_hash` text,
	`security_token_expires_at` integer,
	`security_token_failures` integer DEFAULT 0 NOT NULL,
	`tab_binding_hash` text,
	FOREIGN KEY (`role`) REFERENCES `roles`(`name`) ON UPDATE cascade ON DELETE no action,
	FOREIGN KEY (`group_id`) REFERENCES `groups`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`invited_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`accepted_user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `invitations_token_hash_unique` ON `invitations` (`token_hash`);--> statement-breakpoint
CREATE INDEX `invitations_email_idx` ON `invitations` (`email`);--> statement-breakpoint
CREATE INDEX `invitations_status_idx` ON `invitations` (`status`);