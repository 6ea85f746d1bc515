/**
 * QStash request signatures (`Upstash-Signature`): a JWT signed with the current or the next
 * signing key, whose subject is the called URL and whose `body` claim is the body's SHA-256.
 * Verified with @upstash/qstash's own Receiver. Embedded Plaza, which has no QStash keys, derives
 * its own pair from PLAZA_SECRET so that /workers/* is never open.
 */
import { Receiver } from "@upstash/qstash";
import { sha256Hex } from "../hash.ts";

/** The two signing keys QStash rotates between. */
export interface SigningKeys {
  currentSigningKey: string;
  nextSigningKey: string;
}

/** Keys from the config, or derived from PLAZA_SECRET. */
export async function signingKeys(qstash: SigningKeys | undefined, secret: string): Promise<SigningKeys> {
  if (qstash) return { currentSigningKey: qstash.currentSigningKey, nextSigningKey: qstash.nextSigningKey };
  const derive = async (label: string) => `sig_${await sha256Hex(`${secret}:qstash:${label}`)}`;
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
