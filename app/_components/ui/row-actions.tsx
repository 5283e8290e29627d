// A list row's Restore and Delete buttons (snapshots, backups); the caller confirms the restore in a ConfirmDialog.
import { btn } from "./styles";

export function RestoreDeleteActions({ label, onRestore, onDelete, deleting }: { label: string; onRestore: () => void; onDelete: () => void; deleting: boolean }) {
  return (
    <div className="flex justify-end gap-1">
      <button type="button" className={btn.small} aria-label={`Restore ${label}`} onClick={onRestore}>
        Restore
      </button>
      <button type="button" className={btn.smallDanger} aria-label={`Delete ${label}`} disabled={deleting} onClick={onDelete}>
        {deleting ? "Deleting…" : "Delete"}
      </button>
    </div>
  );
}
