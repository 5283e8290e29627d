export function Spinner({ className = "h-4 w-4" }: { className?: string }) {
  return (
    <svg aria-hidden="true" className={`animate-spin ${className}`} viewBox="0 0 24 24" fill="none">
      <circle className="opacity-25" cx="12" cy="12" r="10" stroke="currentColor" strokeWidth="4" />
      <path className="opacity-75" fill="currentColor" d="M4 12a8 8 0 018-8v4a4 4 0 00-4 4H4z" />
    </svg>
  );
}

/** A loading line: spinner and text, announced politely. */
export function Loading({ children, className = "" }: { children: React.ReactNode; className?: string }) {
  return (
    <p role="status" className={`flex items-center gap-2 text-sm text-neutral-500 ${className}`}>
      <Spinner /> {children}
    </p>
  );
}
