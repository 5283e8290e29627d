"use client";
// A form field: the label wraps the control (so getByLabel and clicks on the label work); the hint
// and the problem sit under it and describe the control (aria-describedby), outside its name.
import { cloneElement, forwardRef, type InputHTMLAttributes, isValidElement, type ReactElement, type ReactNode, type SelectHTMLAttributes, useId } from "react";
import { inputCls, labelCls } from "./styles";

export function Field({ label, hint, problem, className = "", children }: { label: ReactNode; hint?: ReactNode; problem?: ReactNode; className?: string; children: ReactNode }) {
  const id = useId();
  const described = [hint && `${id}-hint`, problem && `${id}-problem`].filter(Boolean).join(" ") || undefined;
  // The one control gets the label's id and the descriptions; props it sets itself win.
  const el = isValidElement(children) ? (children as ReactElement<{ id?: string; "aria-describedby"?: string; "aria-invalid"?: boolean }>) : null;
  const controlId = el?.props.id ?? `${id}-control`;
  const control = el ? cloneElement(el, { id: controlId, ...(described ? { "aria-describedby": described } : {}), ...(problem ? { "aria-invalid": true } : {}) }) : children;
  return (
    <div className={className}>
      <label htmlFor={el ? controlId : undefined} className="block">
        <span className={labelCls}>{label}</span>
        {control}
      </label>
      {hint && (
        <p id={`${id}-hint`} className="mt-1 text-xs text-neutral-500">
          {hint}
        </p>
      )}
      {problem && (
        <p id={`${id}-problem`} className="mt-1 text-xs text-red-700">
          {problem}
        </p>
      )}
    </div>
  );
}

export const Input = forwardRef<HTMLInputElement, InputHTMLAttributes<HTMLInputElement> & { mono?: boolean }>(function Input({ className = "", mono, ...rest }, ref) {
  return <input ref={ref} className={`${inputCls} ${mono ? "font-mono" : ""} ${className}`} {...rest} />;
});

export type Option = string | { value: string; label: ReactNode };

/** A select; `options` lists its choices (a string is its own label), `empty` names a first "" choice. */
export function Select({ className = "", options, empty, children, ...rest }: SelectHTMLAttributes<HTMLSelectElement> & { options?: readonly Option[]; empty?: string }) {
  return (
    <select className={`${inputCls} ${className}`} {...rest}>
      {empty !== undefined && <option value="">{empty}</option>}
      {options?.map((o) => {
        const { value, label } = typeof o === "string" ? { value: o, label: o } : o;
        return (
          <option key={value} value={value}>
            {label}
          </option>
        );
      })}
      {children}
    </select>
  );
}
