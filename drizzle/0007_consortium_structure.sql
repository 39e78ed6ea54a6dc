CREATE TABLE `consortium_centre_studies` (
	`group_id` integer NOT NULL,
	`study_id` text NOT NULL,
	PRIMARY KEY(`group_id`, `study_id`),
	FOREIGN KEY (`group_id`) REFERENCES `groups`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`study_id`) REFERENCES `consortium_studies`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `consortium_data_types` (
	`name` text PRIMARY KEY NOT NULL
);
--> statement-breakpoint
CREATE TABLE `consortium_studies` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL
);
--> statement-breakpoint
ALTER TABLE `groups` ADD `centre_id` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `groups_centre_id_unique` ON `groups` (`centre_id`);--> statement-breakpoint
ALTER TABLE `projects` ADD `label` text;--> statement-breakpoint
CREATE UNIQUE INDEX `projects_group_label_unique` ON `projects` (`group_id`,`label`) WHERE "projects"."label" is not null and "projects"."deleted_at" is null;