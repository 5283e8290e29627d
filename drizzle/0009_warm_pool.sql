CREATE TABLE `template_pools` (
	`template` text PRIMARY KEY NOT NULL,
	`size` integer NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
DROP INDEX `containers_project`;--> statement-breakpoint
CREATE INDEX `containers_created` ON `containers` (`created_at`);--> statement-breakpoint
CREATE INDEX `containers_name` ON `containers` (`name`);--> statement-breakpoint
CREATE INDEX `containers_updated` ON `containers` (`updated_at`);--> statement-breakpoint
CREATE INDEX `containers_project` ON `containers` (`project_id`,`created_at`);