ALTER TABLE `sessions` ADD `auth_method` text DEFAULT 'password' NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `workflow_emails` integer DEFAULT true NOT NULL;