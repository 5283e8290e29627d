// The dashboard's kit of UI parts: every page builds from these (one of each).
export { Alert, ErrorBox, ErrorText, Notice } from "./alert";
export { Button } from "./button";
export { Card, EmptyState } from "./card";
export { ConfirmDialog, Dialog } from "./dialog";
export { FormCard } from "./form-card";
export { Loaded, QueryTable } from "./loaded";
export { Field, Input, type Option, Select } from "./field";
export { Loading, Spinner } from "./spinner";
export { RestoreDeleteActions } from "./row-actions";
export { Pill, STATUSES, type Status, StatusBadge } from "./status-badge";
export { btn, focusCls, inputCls, labelCls, linkCls, tableCls, tdCls, tdTopCls, thCls } from "./styles";
export { type Col, HeadRow, Pager, StaleNote, Table } from "./table";
export { When } from "./time";
