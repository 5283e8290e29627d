CREATE TABLE `custom_domains` (
	`hostname` text PRIMARY KEY NOT NULL,
	`container_id` text NOT NULL,
	`addresses` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`container_id`) REFERENCES `containers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `custom_domains_container` ON `custom_domains` (`container_id`);