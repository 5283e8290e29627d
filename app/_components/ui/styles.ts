// The dashboard's one set of Tailwind class strings. Components below use them; a page reaches for
// them directly only to style something that is not a kit component (a Link shaped as a button).
const focus = "focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600";
const base = `inline-flex items-center justify-center gap-1.5 rounded-md px-3 py-1.5 text-sm font-medium whitespace-nowrap transition-colors disabled:cursor-not-allowed disabled:opacity-50 ${focus}`;

export const btn = {
  primary: `${base} bg-neutral-900 text-white hover:bg-neutral-700`,
  secondary: `${base} border border-neutral-300 bg-white text-neutral-800 hover:bg-neutral-50`,
  danger: `${base} bg-red-600 text-white hover:bg-red-700`,
  dangerOutline: `${base} border border-red-300 bg-white text-red-700 hover:bg-red-50`,
  /** Row actions inside tables: small, borderless. */
  small: `inline-flex items-center rounded px-2 py-1 text-xs font-medium whitespace-nowrap text-neutral-700 hover:bg-neutral-100 disabled:cursor-not-allowed disabled:opacity-50 ${focus}`,
  smallDanger: `inline-flex items-center rounded px-2 py-1 text-xs font-medium whitespace-nowrap text-red-700 hover:bg-red-50 disabled:cursor-not-allowed disabled:opacity-50 ${focus}`,
};
export type ButtonVariant = keyof typeof btn;

export const focusCls = focus;
export const linkCls = `text-blue-700 underline hover:text-blue-900 ${focus}`;
export const inputCls =
  "w-full rounded-md border border-neutral-300 bg-white px-2.5 py-1.5 text-sm text-neutral-900 placeholder:text-neutral-400 focus:border-blue-600 focus:outline-none focus:ring-1 focus:ring-blue-600 disabled:bg-neutral-100";
export const labelCls = "mb-1 block text-xs font-medium text-neutral-600";
export const tableCls = "min-w-full divide-y divide-neutral-200 text-left text-sm";
export const thCls = "px-3 py-2 text-xs font-medium uppercase tracking-wide text-neutral-500 whitespace-nowrap";
export const tdCls = "px-3 py-2 align-middle whitespace-nowrap";
/** Cells of text-heavy tables (audit, tokens, scripts): top-aligned, free to wrap. */
export const tdTopCls = "px-3 py-2 align-top";
