/** Sign-up, sign-in and sign-out pages: plain HTML forms that work without JavaScript. */
import { Hono } from "hono";
import { z } from "zod";
import { Field, FormAlert } from "@/components/forms.tsx";
import { guardedLogin, guardedSignup } from "@/lib/auth/guard.ts";
import { loginSchema, signupSchema } from "@/lib/auth/schemas.ts";
import { AppError } from "@/lib/errors.ts";
import type { AppEnv, Ctx } from "../env.ts";
import { renderPage } from "../render.tsx";
import {
  clearSessionCookies,
  clientIp,
  isKnownDevice,
  rememberDevice,
  sessionTokens,
  setSessionCookies,
} from "../session.ts";
import { check, readForm, zodIssues } from "../validate.ts";

/** A same-site path to go to after signing in; anything else (other hosts, tricks) becomes "/". */
export function safeNext(next: string | undefined): string {
  // Whitespace, backslashes and control characters are refused outright: browsers strip or
  // reinterpret them ("/\t/evil" becomes "//evil").
  // deno-lint-ignore no-control-regex
  if (!next || !next.startsWith("/") || /[\s\\\x00-\x1f\x7f]/.test(next)) return "/";
  const base = "http://plaza.invalid";
  const url = new URL(next, base);
  return url.origin === base ? `${url.pathname}${url.search}${url.hash}` : "/";
}

type Errors = Record<string, string>;

function fieldErrors(err: unknown): { fields: Errors; alert?: string; status: number } {
  if (err instanceof z.ZodError) {
    return { fields: Object.fromEntries(zodIssues(err).map((i) => [i.path, i.message])), status: 422 };
  }
  if (err instanceof AppError) {
    if (err.code === "validation_failed" && Array.isArray(err.details)) {
      const fields = Object.fromEntries((err.details as { path: string; message: string }[]).map((
        i,
      ) => [i.path, i.message]));
      return { fields, status: 422 };
    }
    if (err.code === "email_taken") return { fields: { email: err.message }, status: 409 };
    if (err.status < 500) return { fields: {}, alert: err.message, status: err.status };
  }
  throw err;
}

function SignupForm(
  { values, errors, alert, next }: {
    values: Record<string, string>;
    errors: Errors;
    alert?: string;
    next: string;
  },
) {
  return (
    <section class="card narrow">
      <h1>Create your account</h1>
      <FormAlert message={alert} />
      <form method="post" action={`/signup?next=${encodeURIComponent(next)}`} class="stack" novalidate>
        <Field
          label="Name"
          name="name"
          value={values.name}
          error={errors.name}
          required
          autocomplete="name"
        />
        <Field
          label="Email"
          name="email"
          type="email"
          value={values.email}
          error={errors.email}
          required
          autocomplete="email"
        />
        <Field
          label="Password"
          name="password"
          type="password"
          error={errors.password}
          required
          minLength={8}
          maxLength={128}
          autocomplete="new-password"
          hint="8 to 128 characters."
        />
        <button type="submit">Sign up</button>
      </form>
      <p>
        Already have an account? <a href="/login">Sign in</a>
      </p>
    </section>
  );
}

function LoginForm(
  { values, errors, alert, next }: {
    values: Record<string, string>;
    errors: Errors;
    alert?: string;
    next: string;
  },
) {
  return (
    <section class="card narrow">
      <h1>Sign in</h1>
      <FormAlert message={alert} />
      <form method="post" action={`/login?next=${encodeURIComponent(next)}`} class="stack" novalidate>
        <Field
          label="Email"
          name="email"
          type="email"
          value={values.email}
          error={errors.email}
          required
          autocomplete="username"
        />
        <Field
          label="Password"
          name="password"
          type="password"
          error={errors.password}
          required
          autocomplete="current-password"
        />
        <button type="submit">Sign in</button>
      </form>
      <p>
        New to Plaza? <a href="/signup">Create an account</a>
      </p>
    </section>
  );
}

const formValues = z.record(z.string(), z.string());

async function readValues(c: Ctx): Promise<Record<string, string>> {
  return await readForm(c, formValues);
}

/** Page routes for auth. */
export const authPages = new Hono<AppEnv>()
  .get("/signup", (c) => {
    if (c.var.claims) return c.redirect("/", 303);
    return renderPage(c, <SignupForm values={{}} errors={{}} next={safeNext(c.req.query("next"))} />, {
      title: "Sign up",
    });
  })
  .post("/signup", async (c) => {
    const next = safeNext(c.req.query("next"));
    const values = await readValues(c);
    try {
      const input = check(signupSchema, values, "form");
      const { auth, limiter } = c.var.platform;
      const signedIn = await guardedSignup(auth, limiter, { ...input, ip: clientIp(c) });
      setSessionCookies(c, signedIn.session);
      await rememberDevice(c, signedIn.user.email);
      return c.redirect(next, 303);
    } catch (err) {
      const { fields, alert, status } = fieldErrors(err);
      return renderPage(c, <SignupForm values={values} errors={fields} alert={alert} next={next} />, {
        title: "Sign up",
        status,
      });
    }
  })
  .get("/login", (c) => {
    if (c.var.claims) return c.redirect(safeNext(c.req.query("next")), 303);
    return renderPage(c, <LoginForm values={{}} errors={{}} next={safeNext(c.req.query("next"))} />, {
      title: "Sign in",
    });
  })
  .post("/login", async (c) => {
    const next = safeNext(c.req.query("next"));
    const values = await readValues(c);
    try {
      const input = check(loginSchema, values, "form");
      const { auth, limiter } = c.var.platform;
      const signedIn = await guardedLogin(auth, limiter, {
        ...input,
        ip: clientIp(c),
        knownDevice: await isKnownDevice(c, input.email),
      });
      setSessionCookies(c, signedIn.session);
      await rememberDevice(c, signedIn.user.email);
      return c.redirect(next, 303);
    } catch (err) {
      const { fields, alert, status } = fieldErrors(err);
      if (err instanceof AppError && err.headers) {
        for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      }
      return renderPage(
        c,
        <LoginForm values={{ email: values.email ?? "" }} errors={fields} alert={alert} next={next} />,
        {
          title: "Sign in",
          status,
          user: null,
        },
      );
    }
  })
  .post("/logout", async (c) => {
    await c.var.platform.auth.logout(sessionTokens(c));
    clearSessionCookies(c);
    return c.redirect("/", 303);
  });
