// A button in one of the kit's variants; `busy` shows a spinner before the label (and disables it).
import type { ButtonHTMLAttributes } from "react";
import { Spinner } from "./spinner";
import { btn, type ButtonVariant } from "./styles";

export function Button({
  variant = "secondary",
  busy = false,
  className = "",
  type = "button",
  disabled,
  children,
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: ButtonVariant; busy?: boolean }) {
  return (
    <button type={type} className={`${btn[variant]} ${className}`} disabled={disabled || busy} {...rest}>
      {busy && <Spinner className="h-3.5 w-3.5" />}
      {children}
    </button>
  );
}
