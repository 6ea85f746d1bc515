/**
 * Profile editor island: live preview of name, bio and avatar, a bio character counter, client-side
 * checks, and saving through `PATCH /api/v1/me` without leaving the page. Without JavaScript the
 * same form posts to `/profile`.
 */
import { useSignal } from "@preact/signals";

/** Props: the profile as the server rendered it. */
export interface ProfileEditorProps {
  [key: string]: unknown;
  name: string;
  bio: string;
  avatar_url: string;
  email: string;
}

const BIO_MAX = 500;

function initials(name: string): string {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0]!.toUpperCase()).join("") || "?";
}

/** The editor. */
export default function ProfileEditor(props: ProfileEditorProps) {
  const name = useSignal(props.name);
  const bio = useSignal(props.bio);
  const avatar = useSignal(props.avatar_url);
  const status = useSignal<{ kind: "idle" | "saving" | "saved" | "error"; text: string }>({
    kind: "idle",
    text: "",
  });

  async function save(e: Event) {
    e.preventDefault();
    status.value = { kind: "saving", text: "Saving…" };
    try {
      const res = await fetch("/api/v1/me", {
        method: "PATCH",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ name: name.value, bio: bio.value, avatar_url: avatar.value || null }),
      });
      const body = await res.json();
      if (!res.ok) {
        status.value = { kind: "error", text: body?.error?.message ?? `Could not save (${res.status}).` };
        return;
      }
      status.value = { kind: "saved", text: "Saved." };
    } catch {
      status.value = { kind: "error", text: "Could not reach Plaza. Check your connection and try again." };
    }
  }

  const left = BIO_MAX - bio.value.length;
  const validAvatar = /^https?:\/\/\S+$/.test(avatar.value);

  return (
    <form method="post" action="/profile" class="stack" onSubmit={save} data-testid="profile-form">
      <div class="profile-preview" aria-live="polite">
        {validAvatar
          ? <img class="avatar avatar-lg" src={avatar.value} alt="" width={64} height={64} />
          : <span class="avatar avatar-lg" aria-hidden="true">{initials(name.value)}</span>}
        <div>
          <strong data-testid="preview-name">{name.value || "Your name"}</strong>
          <p class="muted">{props.email}</p>
        </div>
      </div>
      <label>
        Name
        <input
          name="name"
          required
          maxLength={80}
          value={name.value}
          onInput={(e) => (name.value = e.currentTarget.value)}
          autocomplete="name"
        />
      </label>
      <label>
        Bio
        <textarea
          name="bio"
          rows={4}
          maxLength={BIO_MAX}
          value={bio.value}
          onInput={(e) => (bio.value = e.currentTarget.value)}
          aria-describedby="bio-count"
        />
        <span id="bio-count" class={left < 20 ? "hint warn" : "hint"} data-testid="bio-count">
          {left} characters left
        </span>
      </label>
      <label>
        Avatar URL
        <input
          name="avatar_url"
          type="url"
          inputMode="url"
          placeholder="https://…"
          value={avatar.value}
          onInput={(e) => (avatar.value = e.currentTarget.value)}
        />
      </label>
      <div class="row">
        <button type="submit" disabled={status.value.kind === "saving"}>Save profile</button>
        <span
          role="status"
          class={status.value.kind === "error" ? "status error" : "status"}
          data-testid="profile-status"
        >
          {status.value.text}
        </span>
      </div>
    </form>
  );
}
