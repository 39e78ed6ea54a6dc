CREATE TABLE `site_decisions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`project_id` integer NOT NULL,
	`site_id` integer NOT NULL,
	`decision` text NOT NULL,
	`decided_by` integer,
	`decided_at` integer NOT NULL,
	`reason` text DEFAULT '' NOT NULL,
	`conditions` text DEFAULT '' NOT NULL,
	`agreement` text DEFAULT '' NOT NULL,
	`expires_on` text,
	`cohort_query_id` integer,
	`cohort_query_sha256` text,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`decided_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`cohort_query_id`) REFERENCES `cohort_queries`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `site_decisions_project_site_idx` ON `site_decisions` (`project_id`,`site_id`,`id`);--> statement-breakpoint
-- Data: the decisions recorded before decisions were history become their first rows (the query
-- version is the project's latest, which staging had locked; its SHA-256 was not recorded then).
INSERT INTO `site_decisions` (`project_id`, `site_id`, `decision`, `decided_by`, `decided_at`, `reason`, `cohort_query_id`)
SELECT ps.`project_id`, ps.`site_id`, CASE ps.`decision` WHEN 'approved' THEN 'approve' ELSE 'decline' END, ps.`decided_by`, ps.`decided_at`,
  CASE ps.`decision` WHEN 'approved' THEN '' ELSE 'Not approved (recorded by an admin before decisions carried reasons).' END,
  (SELECT max(cq.`id`) FROM `cohort_queries` cq WHERE cq.`project_id` = ps.`project_id`)
FROM `project_sites` ps WHERE ps.`decision` IS NOT NULL AND ps.`decided_at` IS NOT NULL ORDER BY ps.`decided_at`, ps.`project_id`, ps.`site_id`;
