// A lease token's seal (contract.ts, token): a keyed hash of the job id and attempt, so that only
// the store that holds the key makes tokens, and a consumer cannot make another's from a job id
// (issue 20, defect 8). 96 bits of SHA-256: a one-shot hash costs about 0.4 µs, a lease and its
// ack pay it once each. The key sits in the table's meta documents, so the file store logs and
// checkpoints it with everything else and a replayed ack is checked exactly as it was live.
import { hash, randomBytes } from 'node:crypto';

/** The meta document holding the key; core's documents are named `topic/…`. */
export const tokenKeyName = 'store/token-key';

export function newTokenKey(): string {
  return randomBytes(16).toString('base64url');
}

export function sealOf(key: string, id: string, attempt: number): string {
  return hash('sha256', `${key}:${id}:${attempt}`, 'base64url').slice(0, 16);
}
