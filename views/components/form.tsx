import type { Child } from 'hono/jsx'

type FieldProps = {
  name: string
  label: string
  type?: string
  value?: string
  error?: string | undefined
  autocomplete?: string
  required?: boolean
  hint?: string
  autofocus?: boolean
  inputmode?: 'numeric' | 'email' | 'text'
  maxlength?: number
  minlength?: number
  pattern?: string
  /** For type="file": the file types offered. */
  accept?: string
  /** Extra attributes of the input (htmx `hx-*`). */
  attributes?: Record<string, string> | undefined
}

/** A labelled input with its hint and per-field error, linked for screen readers. */
export function Field(props: FieldProps) {
  const id = `f-${props.name}`
  const described = [props.hint ? `${id}-hint` : null, props.error ? `${id}-error` : null].filter(Boolean).join(' ')
  return (
    <div class={props.error ? 'field invalid' : 'field'}>
      <label for={id}>{props.label}</label>
      {props.hint && (
        <small id={`${id}-hint`} class="hint">
          {props.hint}
        </small>
      )}
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value}
        autocomplete={props.autocomplete}
        required={props.required}
        autofocus={props.autofocus}
        inputmode={props.inputmode}
        maxlength={props.maxlength}
        minlength={props.minlength}
        pattern={props.pattern}
        accept={props.accept}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={described || undefined}
        {...props.attributes}
      />
      {props.error && (
        <p id={`${id}-error`} class="error">
          {props.error}
        </p>
      )}
    </div>
  )
}

export function FormError(props: { message?: string | undefined }) {
  if (!props.message) return null
  return (
    <p class="form-error" role="alert">
      {props.message}
    </p>
  )
}

export function Card(props: { title?: string; children: Child }) {
  return (
    <section class="card">
      {props.title && <h2>{props.title}</h2>}
      {props.children}
    </section>
  )
}
