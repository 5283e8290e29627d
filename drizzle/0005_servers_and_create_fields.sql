CREATE TABLE `servers` (
	`id` text PRIMARY KEY NOT NULL,
	`key` text NOT NULL,
	`name` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `servers_key_unique` ON `servers` (`key`);--> statement-breakpoint
ALTER TABLE `containers` ADD `color` text;--> statement-breakpoint
ALTER TABLE `containers` ADD `autostart` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `containers` ADD `server_id` text;--> statement-breakpoint
ALTER TABLE `projects` ADD `color` text;--> statement-breakpoint
UPDATE `projects` SET `color` = '#' || upper(hex(randomblob(3))) WHERE `color` IS NULL;--> statement-breakpoint
UPDATE `containers` SET `color` = '#' || upper(hex(randomblob(3))) WHERE `color` IS NULL;
