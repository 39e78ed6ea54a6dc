CREATE TABLE `approval_notices` (
	`decision_id` integer NOT NULL,
	`kind` text NOT NULL,
	`at` integer NOT NULL,
	PRIMARY KEY(`decision_id`, `kind`),
	FOREIGN KEY (`decision_id`) REFERENCES `site_decisions`(`id`) ON UPDATE no action ON DELETE no action
);
