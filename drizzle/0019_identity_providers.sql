CREATE TABLE `identity_providers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`issuer` text NOT NULL,
	`client_id` text NOT NULL,
	`client_secret` text NOT NULL,
	`scopes` text DEFAULT 'openid email profile' NOT NULL,
	`domains` text DEFAULT '' NOT NULL,
	`trust_mfa` integer DEFAULT false NOT NULL,
	`auto_link` integer DEFAULT false NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `identity_providers_name_unique` ON `identity_providers` (`name`);--> statement-breakpoint
CREATE TABLE `user_identities` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`provider_id` integer NOT NULL,
	`sub` text NOT NULL,
	`email_at_link` text DEFAULT '' NOT NULL,
	`linked_at` integer NOT NULL,
	`last_used_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`provider_id`) REFERENCES `identity_providers`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `user_identities_provider_sub` ON `user_identities` (`provider_id`,`sub`);--> statement-breakpoint
CREATE INDEX `user_identities_user_idx` ON `user_identities` (`user_id`);--> statement-breakpoint
-- Admins hold the new site permission identity_providers.manage (the admin role is every site permission).
UPDATE roles SET permissions = json_insert(permissions, '$[#]', 'identity_providers.manage') WHERE name = 'admin' AND is_system = 1 AND NOT EXISTS (SELECT 1 FROM json_each(roles.permissions) WHERE value = 'identity_providers.manage');
