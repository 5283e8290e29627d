-- Public ids become 24 lowercase hex (Hoody's SDK refuses anything else); the engine keeps its own
-- short tenant names in containers.engine_name, so running tenants are not touched. Every project
-- and container gets a new id (4 bytes of its created_at seconds + 8 random bytes, as
-- server/core/ids.ts makes them), every reference is rewritten, and id_aliases keeps old → new so
-- old ids still answer for a release.
-- drizzle's better-sqlite3 migrator runs all pending migrations inside one BEGIN … COMMIT with
-- foreign_keys ON: `PRAGMA foreign_keys = OFF` would be a no-op there, but defer_foreign_keys holds
-- the checks until COMMIT, so parents and children can be renamed one table at a time.
PRAGMA defer_foreign_keys = ON;
--> statement-breakpoint
CREATE TABLE `id_aliases` (
	`old_id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`new_id` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `id_aliases_new` ON `id_aliases` (`new_id`);
--> statement-breakpoint
-- SQLite adds a NOT NULL column to a filled table only with a default; every row gets its real
-- value right below and every insert sets it (the schema has no default), so '' never stays.
ALTER TABLE `containers` ADD `engine_name` text NOT NULL DEFAULT '';
--> statement-breakpoint
UPDATE `containers` SET `engine_name` = `id`;
--> statement-breakpoint
CREATE UNIQUE INDEX `containers_engine_name` ON `containers` (`engine_name`);
--> statement-breakpoint
INSERT INTO `id_aliases` (`old_id`, `kind`, `new_id`)
SELECT `id`, 'project',
       printf('%08x', CAST(coalesce(strftime('%s', `created_at`), strftime('%s', 'now')) AS INTEGER)) || lower(hex(randomblob(8)))
FROM `projects`;
--> statement-breakpoint
INSERT INTO `id_aliases` (`old_id`, `kind`, `new_id`)
SELECT `id`, 'container',
       printf('%08x', CAST(coalesce(strftime('%s', `created_at`), strftime('%s', 'now')) AS INTEGER)) || lower(hex(randomblob(8)))
FROM `containers`;
--> statement-breakpoint
UPDATE `projects` SET `id` = a.`new_id` FROM `id_aliases` a WHERE a.`kind` = 'project' AND a.`old_id` = `projects`.`id`;
--> statement-breakpoint
UPDATE `containers` SET `id` = a.`new_id` FROM `id_aliases` a WHERE a.`kind` = 'container' AND a.`old_id` = `containers`.`id`;
--> statement-breakpoint
UPDATE `containers` SET `project_id` = a.`new_id` FROM `id_aliases` a WHERE a.`kind` = 'project' AND a.`old_id` = `containers`.`project_id`;
--> statement-breakpoint
-- A copy names its source; a source erased since has no alias and keeps its old id.
UPDATE `containers` SET `source_container_id` = a.`new_id` FROM `id_aliases` a WHERE a.`kind` = 'container' AND a.`old_id` = `containers`.`source_container_id`;
--> statement-breakpoint
UPDATE `env_vars` SET `container_id` = a.`new_id` FROM `id_aliases` a WHERE a.`kind` = 'container' AND a.`old_id` = `env_vars`.`container_id`;
--> statement-breakpoint
UPDATE `snapshots` SET `container_id` = a.`new_id` FROM `id_aliases` a WHERE a.`kind` = 'container' AND a.`old_id` = `snapshots`.`container_id`;
--> statement-breakpoint
UPDATE `firewall_rules` SET `container_id` = a.`new_id` FROM `id_aliases` a WHERE a.`kind` = 'container' AND a.`old_id` = `firewall_rules`.`container_id`;
--> statement-breakpoint
UPDATE `status_logs` SET `container_id` = a.`new_id` FROM `id_aliases` a WHERE a.`kind` = 'container' AND a.`old_id` = `status_logs`.`container_id`;
--> statement-breakpoint
UPDATE `status_logs` SET `metadata` = json_set(`metadata`, '$.source_container_id', a.`new_id`) FROM `id_aliases` a
WHERE a.`kind` = 'container' AND json_valid(`status_logs`.`metadata`) AND json_extract(`status_logs`.`metadata`, '$.source_container_id') = a.`old_id`;
--> statement-breakpoint
UPDATE `api_tokens` SET `project_id` = a.`new_id` FROM `id_aliases` a WHERE a.`kind` = 'project' AND a.`old_id` = `api_tokens`.`project_id`;
--> statement-breakpoint
-- Receipts are listed by project (a project token sees its own); their container stays erased.
UPDATE `erasure_receipts` SET `project_id` = a.`new_id` FROM `id_aliases` a WHERE a.`kind` = 'project' AND a.`old_id` = `erasure_receipts`.`project_id`;
--> statement-breakpoint
-- An erasure removes the replays that hold a container's data by this column.
UPDATE `idempotency_keys` SET `resource_id` = a.`new_id` FROM `id_aliases` a WHERE a.`kind` = 'container' AND a.`old_id` = `idempotency_keys`.`resource_id`;
--> statement-breakpoint
-- Exec scripts run with a token for their `project_id` setting.
UPDATE `script_values` SET `value` = a.`new_id` FROM `id_aliases` a
WHERE a.`kind` = 'project' AND `script_values`.`kind` = 'setting' AND `script_values`.`key` = 'project_id' AND a.`old_id` = `script_values`.`value`;
--> statement-breakpoint
-- The audit log names containers and projects in `target` and in detail's container_id, project_id
-- and source (a copy's): an erasure finds a container's entries by the first two, the dashboard and
-- the target filter by the new ids.
UPDATE `audit_log` SET `target` = a.`kind` || ':' || a.`new_id` FROM `id_aliases` a WHERE `audit_log`.`target` = a.`kind` || ':' || a.`old_id`;
--> statement-breakpoint
UPDATE `audit_log` SET `detail` = json_set(`detail`, '$.container_id', a.`new_id`) FROM `id_aliases` a
WHERE a.`kind` = 'container' AND json_valid(`audit_log`.`detail`) AND json_extract(`audit_log`.`detail`, '$.container_id') = a.`old_id`;
--> statement-breakpoint
UPDATE `audit_log` SET `detail` = json_set(`detail`, '$.source', a.`new_id`) FROM `id_aliases` a
WHERE a.`kind` = 'container' AND json_valid(`audit_log`.`detail`) AND json_extract(`audit_log`.`detail`, '$.source') = a.`old_id`;
--> statement-breakpoint
UPDATE `audit_log` SET `detail` = json_set(`detail`, '$.project_id', a.`new_id`) FROM `id_aliases` a
WHERE a.`kind` = 'project' AND json_valid(`audit_log`.`detail`) AND json_extract(`audit_log`.`detail`, '$.project_id') = a.`old_id`;
