/**
 * QStash request signatures (`Upstash-Signature`): a JWT signed with the current or the next
 * signing key, whose subject is the called URL and whose `body` claim is the body's SHA-256.
 * Verified with @upstash/qstash's own Receiver. Embedded Plaza, which has no QStash keys, derives
 * its own pair from PLAZA_SECRET so that /workers/* is never open.
 */
import { Receiver } from "@upstash/qstash";

/** The two signing keys QStash rotates between. */
export interface SigningKeys {
  currentSigningKey: string;
  nextSigningKey: string;
}

/** Keys from the config, or derived from PLAZA_SECRET. */
export async function signingKeys(qstash: SigningKeys | undefined, secret: string): Promise<SigningKeys> {
  if (qstash) return qstash;
  const derive = async (label: string) => {
    const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${secret}:qstash:${label}`));
    return "sig_" + Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
  };
  return { currentSigningKey: await derive("current"), nextSigningKey: await derive("next") };
}

/** True when `signature` is valid for `body` sent to `url` (current key, then next key). */
export async function verifySignature(
  keys: SigningKeys,
  signature: string,
  body: string,
  url: string,
): Promise<boolean> {
  try {
    return await new Receiver(keys).verify({ signature, body, url, clockTolerance: 5 });
  } catch {
    return false;
  }
}
