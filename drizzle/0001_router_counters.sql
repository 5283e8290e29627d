ALTER TABLE `containers` ADD `idle_timeout_s` integer;--> statement-breakpoint
ALTER TABLE `containers` ADD `requests_total` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `containers` ADD `last_request_at` text;