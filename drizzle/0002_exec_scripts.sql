CREATE TABLE `script_once` (
	`script` text NOT NULL,
	`key` text NOT NULL,
	`result` text NOT NULL,
	`at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	PRIMARY KEY(`script`, `key`)
);
--> statement-breakpoint
CREATE TABLE `script_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`script` text NOT NULL,
	`at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`status` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`run_key` text,
	`output` text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `script_runs_script` ON `script_runs` (`script`,`id`);--> statement-breakpoint
CREATE TABLE `script_values` (
	`script` text NOT NULL,
	`kind` text NOT NULL,
	`key` text NOT NULL,
	`value` text NOT NULL,
	PRIMARY KEY(`script`, `kind`, `key`)
);
