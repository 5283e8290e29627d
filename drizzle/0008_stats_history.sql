CREATE TABLE `stats_samples` (
	`container_id` text NOT NULL,
	`res` integer NOT NULL,
	`at` integer NOT NULL,
	`n` integer DEFAULT 1 NOT NULL,
	`delta_bytes` integer NOT NULL,
	`memory_bytes` integer NOT NULL,
	`ksm_bytes` integer NOT NULL,
	`cpu_ns` integer NOT NULL,
	PRIMARY KEY(`container_id`, `res`, `at`),
	FOREIGN KEY (`container_id`) REFERENCES `containers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `stats_samples_age` ON `stats_samples` (`res`,`at`);