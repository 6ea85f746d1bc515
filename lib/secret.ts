/** PLAZA_SECRET: taken from the config, or generated once and kept in the data dir. */
import { b64url } from "./auth/jwt.ts";

/** Returns the configured secret, or reads (creating on first start) `<dataDir>/secret`. */
export async function resolveSecret(configured: string | undefined, dataDir: string): Promise<string> {
  if (configured) return configured;
  const path = `${dataDir}/secret`;
  try {
    const stored = (await Deno.readTextFile(path)).trim();
    if (stored.length >= 32) return stored;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  await Deno.mkdir(dataDir, { recursive: true });
  const secret = b64url(crypto.getRandomValues(new Uint8Array(48)));
  try {
    // createNew: when two processes start at once, the first file wins and both read it.
    await Deno.writeTextFile(path, secret + "\n", { createNew: true, mode: 0o600 });
    return secret;
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return (await Deno.readTextFile(path)).trim();
    throw err;
  }
}
