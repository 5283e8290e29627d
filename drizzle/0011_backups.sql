CREATE TABLE `backup_schedules` (
	`target` text PRIMARY KEY NOT NULL,
	`container_id` text,
	`project_id` text,
	`every_hours` integer NOT NULL,
	`keep` integer NOT NULL,
	`last_runs` text DEFAULT '{}' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`container_id`) REFERENCES `containers`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
