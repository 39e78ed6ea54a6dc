CREATE TABLE `site_approvers` (
	`site_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`appointed_by` integer NOT NULL,
	`appointed_at` integer NOT NULL,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`appointed_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `site_approvers_site_user` ON `site_approvers` (`site_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `site_approvers_user_idx` ON `site_approvers` (`user_id`);