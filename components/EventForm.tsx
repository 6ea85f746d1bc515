/**
 * The event form (new and edit): plain HTML that works without JavaScript. Values are the raw form
 * strings, so a form that failed validation re-renders exactly what the person typed, with each
 * message beside its field and a summary on top.
 */
import CoverPickerComponent, { type CoverPickerProps } from "@/islands/CoverPicker.tsx";
import { CATEGORIES, type EventCover } from "@/lib/events/views.ts";
import { island } from "./island.tsx";
import { TIME_ZONES } from "@/lib/events/zones.ts";

/** The form's raw values, by field name. */
export type EventFormValues = Record<string, string>;
/** One message per field name. */
export type FieldErrors = Record<string, string>;

/** Recurrence presets of the form. */
export const REPEAT_PRESETS = [
  ["none", "Does not repeat"],
  ["daily", "Every day"],
  ["weekly", "Every week"],
  ["biweekly", "Every 2 weeks"],
  ["monthly", "Every month"],
  ["custom", "Custom rule (RRULE)"],
] as const;

/** Field labels, also used by the error summary. */
export const FIELD_LABELS: Record<string, string> = {
  title: "Title",
  description: "Description",
  category: "Category",
  starts_at: "Starts",
  ends_at: "Ends",
  timezone: "Time zone",
  venue_name: "Venue",
  venue_address: "Address",
  venue_lat: "Latitude",
  venue_lng: "Longitude",
  online_url: "Online link",
  capacity: "Capacity",
  visibility: "Who can see it",
  requires_approval: "Approval",
  status: "Status",
  repeat: "Repeats",
  repeat_count: "Occurrences",
  rrule: "Custom rule",
  scope: "Apply to",
  cover_media_id: "Cover image",
};

const CATEGORY_LABELS: Record<string, string> = {
  social: "Social",
  music: "Music",
  sports: "Sports",
  outdoors: "Outdoors",
  food: "Food and drink",
  learning: "Learning",
  tech: "Tech",
  arts: "Arts",
  family: "Family",
  volunteering: "Volunteering",
  other: "Other",
};

/** Props for {@link EventForm}. */
export interface EventFormProps {
  action: string;
  mode: "new" | "edit";
  values: EventFormValues;
  errors?: FieldErrors;
  /** A message that belongs to no field (a conflict, for instance). */
  alert?: string;
  /** Edit of an occurrence of a series: offer the scope choice. */
  recurring?: boolean;
  /** Already published: no way back to draft. */
  published?: boolean;
  /** The event's current cover (edit), for the picker's preview. */
  cover?: EventCover | null;
}

const idOf = (name: string) => `f-${name}`;

/** The cover image field (islands/CoverPicker.tsx); without JavaScript it keeps the current value. */
const CoverPicker = island<CoverPickerProps>("CoverPicker", CoverPickerComponent);
const DESCRIPTION_HINT = "Markdown: **bold**, *italic*, [links](https://…), lists.";

function described(name: string, error?: string, hint?: string) {
  const ids = [error && `${idOf(name)}-error`, hint && `${idOf(name)}-hint`].filter(Boolean).join(" ");
  return { "aria-invalid": error ? "true" as const : undefined, "aria-describedby": ids || undefined };
}

function Message({ name, error, hint }: { name: string; error?: string; hint?: string }) {
  return (
    <>
      {hint && <span id={`${idOf(name)}-hint`} class="hint">{hint}</span>}
      {error && <span id={`${idOf(name)}-error`} class="field-error">{error}</span>}
    </>
  );
}

function Input(
  { name, label, values, errors, hint, type = "text", ...rest }: {
    name: string;
    label: string;
    values: EventFormValues;
    errors: FieldErrors;
    hint?: string;
    type?: "text" | "url" | "number" | "datetime-local";
    required?: boolean;
    maxLength?: number;
    min?: string;
    max?: string;
    step?: string;
    inputMode?: "decimal" | "numeric" | "url";
    placeholder?: string;
  },
) {
  const error = errors[name];
  return (
    <label class={error ? "field invalid" : "field"} for={idOf(name)}>
      {label}
      <input
        id={idOf(name)}
        name={name}
        value={values[name] ?? ""}
        {...described(name, error, hint)}
        {...({ type, ...rest } as Record<string, unknown>)}
      />
      <Message name={name} error={error} hint={hint} />
    </label>
  );
}

function Select(
  { name, label, values, errors, options, hint }: {
    name: string;
    label: string;
    values: EventFormValues;
    errors: FieldErrors;
    options: readonly (readonly [string, string])[];
    hint?: string;
  },
) {
  const error = errors[name];
  return (
    <label class={error ? "field invalid" : "field"} for={idOf(name)}>
      {label}
      <select id={idOf(name)} name={name} {...described(name, error, hint)}>
        {options.map(([value, text]) => (
          <option key={value} value={value} selected={values[name] === value}>{text}</option>
        ))}
      </select>
      <Message name={name} error={error} hint={hint} />
    </label>
  );
}

function Radios(
  { name, legend, values, errors, options }: {
    name: string;
    legend: string;
    values: EventFormValues;
    errors: FieldErrors;
    options: readonly (readonly [string, string, string?])[];
  },
) {
  const error = errors[name];
  return (
    <fieldset class={error ? "org-choice invalid" : "org-choice"} id={idOf(name)}>
      <legend>{legend}</legend>
      {options.map(([value, text, hint]) => (
        <label key={value} class="org-check">
          <input type="radio" name={name} value={value} checked={values[name] === value} />
          <span>
            {text}
            {hint && <span class="hint">{hint}</span>}
          </span>
        </label>
      ))}
      <Message name={name} error={error} />
    </fieldset>
  );
}

/** The list of problems on top of the form, each linking to its field. */
export function ErrorSummary({ errors }: { errors: FieldErrors }) {
  const entries = Object.entries(errors);
  if (!entries.length) return null;
  return (
    <div class="alert error-summary" role="alert" tabIndex={-1}>
      <p>
        <strong>
          {entries.length === 1 ? "Please fix 1 problem:" : `Please fix ${entries.length} problems:`}
        </strong>
      </p>
      <ul>
        {entries.map(([name, message]) => (
          <li key={name}>
            <a href={`#${idOf(name)}`}>{FIELD_LABELS[name] ?? name}: {message}</a>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** The event form. */
export function EventForm(
  { action, mode, values, errors = {}, alert, recurring = false, published = false, cover = null }:
    EventFormProps,
) {
  const statusOptions = published ? [["published", "Published"]] as const : [["published", "Published"], [
    "draft",
    "Draft (only organizers see it)",
  ]] as const;
  return (
    <form method="post" action={action} class="stack event-form" data-testid="event-form" novalidate>
      {alert && <p class="alert" role="alert">{alert}</p>}
      <ErrorSummary errors={errors} />
      {mode === "edit" && recurring && (
        <Radios
          name="scope"
          legend="This is a repeating event. Apply the changes to"
          values={values}
          errors={errors}
          options={[
            ["this", "Only this occurrence"],
            ["following", "This and following occurrences"],
          ]}
        />
      )}
      <Input name="title" label="Title" values={values} errors={errors} required maxLength={120} />
      <label class={errors.description ? "field invalid" : "field"} for={idOf("description")}>
        Description
        <textarea
          id={idOf("description")}
          name="description"
          rows={6}
          maxLength={10000}
          {...described("description", errors.description, DESCRIPTION_HINT)}
        >
          {values.description ?? ""}
        </textarea>
        <Message
          name="description"
          error={errors.description}
          hint={DESCRIPTION_HINT}
        />
      </label>
      <CoverPicker
        value={values.cover_media_id ?? ""}
        current={cover &&
          { id: cover.id, url: cover.url, width: cover.width, height: cover.height, color: cover.color }}
        error={errors.cover_media_id}
      />
      <Select
        name="category"
        label="Category"
        values={values}
        errors={errors}
        options={CATEGORIES.map((c) => [c, CATEGORY_LABELS[c] ?? c] as const)}
      />

      <fieldset class="group">
        <legend>When</legend>
        <div class="grid-2">
          <Input
            name="starts_at"
            label="Starts"
            type="datetime-local"
            values={values}
            errors={errors}
            required
          />
          <Input name="ends_at" label="Ends" type="datetime-local" values={values} errors={errors} required />
        </div>
        <Select
          name="timezone"
          label="Time zone"
          values={values}
          errors={errors}
          options={TIME_ZONES.map((z) => [z, z] as const)}
          hint="Start and end are read as wall-clock times in this zone."
        />
        <div class="grid-2">
          <Select
            name="repeat"
            label="Repeats"
            values={values}
            errors={errors}
            options={REPEAT_PRESETS}
            hint={mode === "edit" && recurring
              ? "A new rule applies from this occurrence on (with “this and following”)."
              : undefined}
          />
          <Input
            name="repeat_count"
            label="Occurrences"
            type="number"
            min="2"
            max="500"
            inputMode="numeric"
            values={values}
            errors={errors}
            hint="2 to 500, for the presets."
          />
        </div>
        <Input
          name="rrule"
          label="Custom rule"
          values={values}
          errors={errors}
          maxLength={500}
          placeholder="FREQ=WEEKLY;BYDAY=TU,TH;COUNT=10"
          hint="Only with “Custom rule”: an RRULE that ends (COUNT or UNTIL)."
        />
      </fieldset>

      <fieldset class="group">
        <legend>Where</legend>
        <Input name="venue_name" label="Venue" values={values} errors={errors} maxLength={120} />
        <Input name="venue_address" label="Address" values={values} errors={errors} maxLength={300} />
        <div class="grid-2">
          <Input
            name="venue_lat"
            label="Latitude"
            inputMode="decimal"
            values={values}
            errors={errors}
            placeholder="52.52"
          />
          <Input
            name="venue_lng"
            label="Longitude"
            inputMode="decimal"
            values={values}
            errors={errors}
            placeholder="13.405"
          />
        </div>
        <Input
          name="online_url"
          label="Online link"
          type="url"
          inputMode="url"
          values={values}
          errors={errors}
          placeholder="https://…"
          hint="A venue, an online link, or both."
        />
      </fieldset>

      <fieldset class="group">
        <legend>People</legend>
        <Input
          name="capacity"
          label="Capacity"
          type="number"
          min="1"
          max="100000"
          inputMode="numeric"
          values={values}
          errors={errors}
          hint="Seats, guests included. Leave empty for no limit."
        />
        <Radios
          name="visibility"
          legend="Who can see it"
          values={values}
          errors={errors}
          options={[
            ["public", "Public", "Everyone, also people who are not signed in."],
            ["members", "Members", "Everyone signed in to Plaza."],
            ["invite", "Invite only", "People with the invitation link."],
          ]}
        />
        <label class="org-check">
          <input
            type="checkbox"
            name="requires_approval"
            value="on"
            checked={values.requires_approval === "on"}
          />
          <span>
            Requires approval
            <span class="hint">Organizers approve or decline each request.</span>
          </span>
        </label>
      </fieldset>

      <Select name="status" label="Status" values={values} errors={errors} options={statusOptions} />
      <p class="row">
        <button type="submit">{mode === "new" ? "Create event" : "Save changes"}</button>
      </p>
    </form>
  );
}
