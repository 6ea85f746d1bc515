/** Form building blocks: labelled fields with inline errors, and a form-level alert. */
/** Props for {@link Field}. */
export interface FieldProps {
  label: string;
  name: string;
  type?: "text" | "email" | "password" | "url";
  value?: string;
  error?: string;
  hint?: string;
  required?: boolean;
  autocomplete?: string;
  minLength?: number;
  maxLength?: number;
}

/** A labelled input; the error is announced and linked with aria-describedby. */
export function Field({ label, name, error, hint, ...input }: FieldProps) {
  const describedBy = [error && `${name}-error`, hint && `${name}-hint`].filter(Boolean).join(" ") ||
    undefined;
  return (
    <label class={error ? "field invalid" : "field"}>
      {label}
      <input
        name={name}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={describedBy}
        {...(input as Record<string, unknown>)}
      />
      {hint && <span id={`${name}-hint`} class="hint">{hint}</span>}
      {error && <span id={`${name}-error`} class="field-error">{error}</span>}
    </label>
  );
}

/** A form-level error message. */
export function FormAlert({ message }: { message?: string }) {
  if (!message) return null;
  return <p class="alert" role="alert">{message}</p>;
}
