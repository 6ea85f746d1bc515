/** Headless Chromium (Debian's) driven by playwright-core, for end-to-end tests. */
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/** Where Debian installs Chromium. */
export const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/** True when Chromium is installed (e2e tests are skipped, not passed, without it). */
export function hasChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

/** Launches headless Chromium with flags that keep it off the network. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
    ],
  });
}

/** Directory for screenshots taken by e2e tests. */
export const SCREENSHOTS = new URL("../../.test-data/screenshots/", import.meta.url).pathname;

/**
 * Signs a new person up in a fresh browser context and returns the page (on `/`). Console errors and
 * page errors are collected into `problems`, prefixed with the name.
 */
export async function signUpInBrowser(
  browser: Browser,
  base: string,
  name: string,
  problems: string[],
  options: { email?: string; viewport?: { width: number; height: number } } = {},
): Promise<Page> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 390, height: 844 } });
  const page = await context.newPage();
  page.on("console", (m) => m.type() === "error" && problems.push(`${name}: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`${name}: ${e.message}`));
  await page.goto(`${base}/signup`);
  await page.fill("input[name=name]", name);
  await page.fill(
    "input[name=email]",
    options.email ?? `${name.toLowerCase()}-${crypto.randomUUID().slice(0, 6)}@example.test`,
  );
  await page.fill("input[name=password]", "e2e-password-1");
  await page.click("button[type=submit]");
  await page.waitForURL(`${base}/`);
  return page;
}

/**
 * Signs an existing account in on a new page of `context` through the login form, lands on `next`,
 * and collects console and page errors into `problems` (prefixed with `name`).
 */
export async function signInInBrowser(
  context: BrowserContext,
  base: string,
  next: string,
  who: { email: string; password: string },
  problems: string[],
  name: string,
): Promise<Page> {
  const page = await context.newPage();
  page.on("console", (m) => m.type() === "error" && problems.push(`${name}: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`${name}: ${e.message}`));
  await page.goto(`${base}/login?next=${encodeURIComponent(next)}`);
  await page.fill("input[name=email]", who.email);
  await page.fill("input[name=password]", who.password);
  await page.click("button[type=submit]");
  await page.waitForURL(`${base}${next}`);
  return page;
}
