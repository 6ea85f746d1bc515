/** The HTML error page used by the error handler for browser navigations. */
import type { AppError } from "@/lib/errors.ts";
import type { Ctx } from "../env.ts";
import { renderPage } from "../render.tsx";

const titles: Record<number, string> = {
  401: "Please sign in",
  403: "Not allowed",
  404: "Page not found",
  429: "Slow down",
};

/** Renders `error` as a page with the error's status. */
export function renderErrorPage(c: Ctx, error: AppError): Response {
  const title = titles[error.status] ?? (error.status >= 500 ? "Something went wrong" : "Request refused");
  return renderPage(
    c,
    <section class="card narrow">
      <h1>{title}</h1>
      <p>{error.message}</p>
      {error.status === 401
        ? <a class="button" href={`/login?next=${encodeURIComponent(c.req.path)}`}>Sign in</a>
        : <a href="/">Back to the home page</a>}
    </section>,
    { title, status: error.status },
  );
}
