CREATE TABLE `template_pools` (
	`template` text PRIMARY KEY NOT NULL,
	`size` integer NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
