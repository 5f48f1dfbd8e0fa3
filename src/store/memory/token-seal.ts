// A lease token's seal (contract.ts, token): a keyed function of the job and attempt, so that only
// the store that holds the key makes tokens, and a consumer cannot make another's from a job id
// (issue 20, defect 8). Here it is AES-128 of the block (sequence number, attempt), 96 bits of it:
// the blocks of a whole lease go through OpenSSL in one call, where a hash a job cost a lease
// about 0.5 µs a job. The key sits in the table's meta documents, so the file store logs and
// checkpoints it with everything else and a replayed ack is checked exactly as it was live.
import { createCipheriv, randomBytes } from 'node:crypto';
import type { Cipher } from 'node:crypto';

/** The meta document holding the key; core's documents are named `topic/…`. */
export const tokenKeyName = 'store/token-key';

export function newTokenKey(): string {
  return randomBytes(16).toString('base64url');
}

const block = 16;
const sealBytes = 12;

export class TokenSealer {
  readonly #cipher: Cipher;

  constructor(key: string) {
    // ECB: each block on its own, so a lease's blocks are one call and each seal stands alone.
    this.#cipher = createCipheriv('aes-128-ecb', Buffer.from(key, 'base64url'), null).setAutoPadding(false);
  }

  /** The seals of jobs `seqs[i]` at attempts `attempts[i]`: 24 hex digits each. */
  seals(seqs: readonly number[], attempts: readonly number[]): string[] {
    const blocks = Buffer.allocUnsafe(block * seqs.length);
    for (let i = 0; i < seqs.length; i++) {
      blocks.writeDoubleLE(seqs[i] as number, block * i);
      blocks.writeDoubleLE(attempts[i] as number, block * i + 8);
    }
    // One string for all, cut in pieces: a `toString` a seal cost more than the cipher.
    const hex = this.#cipher.update(blocks).toString('hex');
    const seals: string[] = [];
    for (let i = 0; i < seqs.length; i++) seals.push(hex.slice(2 * block * i, 2 * (block * i + sealBytes)));
    return seals;
  }
}
