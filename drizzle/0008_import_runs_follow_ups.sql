CREATE TABLE `import_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`status` text NOT NULL,
	`notify` text NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` integer,
	`users_filename` text NOT NULL,
	`auth_filename` text NOT NULL,
	`domains_filename` text,
	`users_yaml` text NOT NULL,
	`auth_yaml` text NOT NULL,
	`domains_yaml` text,
	`entries` integer DEFAULT 0 NOT NULL,
	`report` text,
	`applied_at` integer,
	`applied_by` integer,
	`failure` text,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`applied_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
ALTER TABLE `invitations` ADD `contact_email` text;--> statement-breakpoint
ALTER TABLE `invitations` ADD `first_name` text;--> statement-breakpoint
ALTER TABLE `invitations` ADD `last_name` text;--> statement-breakpoint
ALTER TABLE `invitations` ADD `follow_up_mode` text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE `invitations` ADD `follow_ups_sent` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `invitations` ADD `last_follow_up_at` integer;--> statement-breakpoint
ALTER TABLE `users` ADD `contact_email` text;--> statement-breakpoint
CREATE INDEX `users_contact_email_idx` ON `users` (`contact_email`);