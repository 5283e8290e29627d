ALTER TABLE `containers` ADD `suspended` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `projects` ADD `ceilings` text;