CREATE TABLE `import_run_files` (
	`run_id` integer PRIMARY KEY NOT NULL,
	`users_yaml` text NOT NULL,
	`auth_yaml` text NOT NULL,
	`domains_yaml` text,
	`report` text,
	FOREIGN KEY (`run_id`) REFERENCES `import_runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `import_runs` ADD `report_ok` integer;--> statement-breakpoint
-- Hand-added: the existing runs keep their files and reports, and report_ok is read once from each report.
INSERT INTO `import_run_files` (`run_id`, `users_yaml`, `auth_yaml`, `domains_yaml`, `report`) SELECT `id`, `users_yaml`, `auth_yaml`, `domains_yaml`, `report` FROM `import_runs`;--> statement-breakpoint
UPDATE `import_runs` SET `report_ok` = json_extract(`report`, '$.ok') WHERE `report` IS NOT NULL;--> statement-breakpoint
ALTER TABLE `import_runs` DROP COLUMN `users_yaml`;--> statement-breakpoint
ALTER TABLE `import_runs` DROP COLUMN `auth_yaml`;--> statement-breakpoint
ALTER TABLE `import_runs` DROP COLUMN `domains_yaml`;--> statement-breakpoint
ALTER TABLE `import_runs` DROP COLUMN `report`;