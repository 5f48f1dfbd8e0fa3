// A lease token's seal (contract.ts, token): a keyed function of the job and attempt, so that only
// the store that holds the key makes tokens, and a consumer cannot make another's from a job id
// (issue 20, defect 8). Here it is SipHash-2-4, a MAC made for short inputs, of the 16 bytes
// (sequence number, attempt) under the table's 128-bit key: 64 bits, 16 hex digits. In plain
// JavaScript it costs about 0.15 µs a token, where a call into OpenSSL (AES, HMAC) cost 0.9 µs
// whatever it held, and leases of one job are the common case; sealing is cheap enough that an
// ack seals again to compare instead of keeping each lease's token. The key sits in the table's
// meta documents, so the file store logs and checkpoints it with everything else and a replayed
// ack is checked exactly as it was live.
import { randomBytes } from 'node:crypto';

/** The meta document holding the key; core's documents are named `topic/…`. */
export const tokenKeyName = 'store/token-key';

export function newTokenKey(): string {
  return randomBytes(16).toString('base64url');
}

/** The last of SipHash's message words: no bytes left over, and the message length (16) in the top byte. */
const lengthWordHigh = 16 << 24;

export class TokenSealer {
  /** The key as four little-endian 32-bit words: k0 low, k0 high, k1 low, k1 high. */
  readonly #key: Uint32Array;
  /** The message words of one call, low half first; the last one stays. */
  readonly #words = Uint32Array.of(0, 0, 0, 0, 0, lengthWordHigh);
  /** The MAC, little-endian. */
  readonly #out = Buffer.alloc(8);

  constructor(key: string) {
    const bytes = Buffer.from(key, 'base64url');
    this.#key = Uint32Array.from({ length: 4 }, (_, i) => bytes.readUInt32LE(4 * i));
  }

  /** The seal of job `seq` at attempt `attempt`: 16 hex digits. */
  seal(seq: number, attempt: number): string {
    const words = this.#words;
    words[0] = seq % 0x1_0000_0000;
    words[1] = seq / 0x1_0000_0000;
    words[2] = attempt % 0x1_0000_0000;
    words[3] = attempt / 0x1_0000_0000;
    this.#sipHash(words);
    return this.#out.toString('hex');
  }

  /**
   * SipHash-2-4 of the three 64-bit words in `m` (the last one the length word), each as two
   * 32-bit halves, since JavaScript has no 64-bit integers that are cheap. Every half is kept
   * unsigned (`>>> 0`) so that `l < a` finds the carry of an addition. The MAC goes to #out.
   */
  #sipHash(m: Uint32Array): void {
    const k = this.#key;
    const k0l = k[0] as number;
    const k0h = k[1] as number;
    const k1l = k[2] as number;
    const k1h = k[3] as number;
    // "somepseudorandomlygeneratedbytes", xored with the key.
    let v0l = (k0l ^ 0x70736575) >>> 0;
    let v0h = (k0h ^ 0x736f6d65) >>> 0;
    let v1l = (k1l ^ 0x6e646f6d) >>> 0;
    let v1h = (k1h ^ 0x646f7261) >>> 0;
    let v2l = (k0l ^ 0x6e657261) >>> 0;
    let v2h = (k0h ^ 0x6c796765) >>> 0;
    let v3l = (k1l ^ 0x79746573) >>> 0;
    let v3h = (k1h ^ 0x74656462) >>> 0;
    // Two rounds after each message word, then four to finish.
    for (let w = 0; w <= 3; w++) {
      const last = w === 3;
      const ml = last ? 0 : (m[2 * w] as number);
      const mh = last ? 0 : (m[2 * w + 1] as number);
      if (last) v2l = (v2l ^ 0xff) >>> 0;
      else {
        v3l = (v3l ^ ml) >>> 0;
        v3h = (v3h ^ mh) >>> 0;
      }
      for (let r = last ? 4 : 2; r > 0; r--) {
        let l: number;
        let t: number;
        // v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32
        l = (v0l + v1l) >>> 0;
        v0h = (v0h + v1h + (l < v0l ? 1 : 0)) >>> 0;
        v0l = l;
        t = v1l;
        v1l = ((v1l << 13) | (v1h >>> 19)) >>> 0;
        v1h = ((v1h << 13) | (t >>> 19)) >>> 0;
        v1l = (v1l ^ v0l) >>> 0;
        v1h = (v1h ^ v0h) >>> 0;
        t = v0l;
        v0l = v0h;
        v0h = t;
        // v2 += v3; v3 <<<= 16; v3 ^= v2
        l = (v2l + v3l) >>> 0;
        v2h = (v2h + v3h + (l < v2l ? 1 : 0)) >>> 0;
        v2l = l;
        t = v3l;
        v3l = ((v3l << 16) | (v3h >>> 16)) >>> 0;
        v3h = ((v3h << 16) | (t >>> 16)) >>> 0;
        v3l = (v3l ^ v2l) >>> 0;
        v3h = (v3h ^ v2h) >>> 0;
        // v0 += v3; v3 <<<= 21; v3 ^= v0
        l = (v0l + v3l) >>> 0;
        v0h = (v0h + v3h + (l < v0l ? 1 : 0)) >>> 0;
        v0l = l;
        t = v3l;
        v3l = ((v3l << 21) | (v3h >>> 11)) >>> 0;
        v3h = ((v3h << 21) | (t >>> 11)) >>> 0;
        v3l = (v3l ^ v0l) >>> 0;
        v3h = (v3h ^ v0h) >>> 0;
        // v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32
        l = (v2l + v1l) >>> 0;
        v2h = (v2h + v1h + (l < v2l ? 1 : 0)) >>> 0;
        v2l = l;
        t = v1l;
        v1l = ((v1l << 17) | (v1h >>> 15)) >>> 0;
        v1h = ((v1h << 17) | (t >>> 15)) >>> 0;
        v1l = (v1l ^ v2l) >>> 0;
        v1h = (v1h ^ v2h) >>> 0;
        t = v2l;
        v2l = v2h;
        v2h = t;
      }
      if (!last) {
        v0l = (v0l ^ ml) >>> 0;
        v0h = (v0h ^ mh) >>> 0;
      }
    }
    this.#out.writeUInt32LE((v0l ^ v1l ^ v2l ^ v3l) >>> 0, 0);
    this.#out.writeUInt32LE((v0h ^ v1h ^ v2h ^ v3h) >>> 0, 4);
  }
}
