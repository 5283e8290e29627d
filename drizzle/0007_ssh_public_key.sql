ALTER TABLE `containers` ADD `ssh_public_key` text;--> statement-breakpoint
ALTER TABLE `containers` ADD `ssh_key_applied` text;