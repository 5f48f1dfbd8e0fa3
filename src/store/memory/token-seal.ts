// A lease token's seal (contract.ts, token): a keyed function of the job and attempt, so that only
// the store that holds the key makes tokens, and a consumer cannot make another's from a job id
// (issue 20, defect 8). Here it is SipHash-2-4, a MAC made for short inputs, of the 16 bytes
// (sequence number, attempt) under the table's 128-bit key: 64 bits, 16 hex digits. In plain
// JavaScript it costs about 0.15 µs a token, where a call into OpenSSL (AES, HMAC) cost 0.9 µs
// whatever it held, and leases of one job are the common case. The seals of the latest leases
// are remembered in a few typed arrays, so the ack of a lease compares with its seal instead of
// sealing again, and nothing is kept per lease that the garbage collector must see; a seal not
// remembered (after a reopen, or crowded out) is made again. The key sits in the table's meta
// documents, so the file store logs and checkpoints it with everything else and a replayed ack
// is checked exactly as it was live.
import { randomBytes } from 'node:crypto';

/** The meta document holding the key; core's documents are named `topic/…`. */
export const tokenKeyName = 'store/token-key';

export function newTokenKey(): string {
  return randomBytes(16).toString('base64url');
}

/** The last of SipHash's message words: no bytes left over, and the message length (16) in the top byte. */
const lengthWordHigh = 16 << 24;
/** Seals remembered, in the slot of their sequence number modulo this: more than the leases a store has out at once. */
const memoSlots = 4096;

export class TokenSealer {
  /** The key as four little-endian 32-bit words: k0 low, k0 high, k1 low, k1 high. */
  readonly #key: Uint32Array;
  /** The message words of one call, low half first; the last one stays. */
  readonly #words = Uint32Array.of(0, 0, 0, 0, 0, lengthWordHigh);
  /** The last MAC made, as two 32-bit halves, and little-endian bytes. */
  #lo = 0;
  #hi = 0;
  readonly #out = Buffer.alloc(8);
  /** The seals last made, by slot: job (0 for none), attempt, and the MAC's halves at 2 × slot. */
  readonly #memoSeq = new Float64Array(memoSlots);
  readonly #memoAttempt = new Float64Array(memoSlots);
  readonly #memoMac = new Uint32Array(2 * memoSlots);

  constructor(key: string) {
    const bytes = Buffer.from(key, 'base64url');
    this.#key = Uint32Array.from({ length: 4 }, (_, i) => bytes.readUInt32LE(4 * i));
  }

  /** The seal of job `seq` at attempt `attempt`: 16 hex digits. */
  seal(seq: number, attempt: number): string {
    this.#sipHash(seq, attempt);
    const slot = seq % memoSlots;
    this.#memoSeq[slot] = seq;
    this.#memoAttempt[slot] = attempt;
    this.#memoMac[2 * slot] = this.#lo;
    this.#memoMac[2 * slot + 1] = this.#hi;
    this.#out.writeUInt32LE(this.#lo, 0);
    this.#out.writeUInt32LE(this.#hi, 4);
    return this.#out.toString('hex');
  }

  /**
   * Whether `seal` is the seal of job `seq` at attempt `attempt`, digit by digit against the
   * MAC: no string is made on an ack's way, and the time does not tell how much matched.
   */
  matches(seq: number, attempt: number, seal: string): boolean {
    if (seal.length !== 16) return false;
    const slot = seq % memoSlots;
    let lo: number;
    let hi: number;
    if (this.#memoSeq[slot] === seq && this.#memoAttempt[slot] === attempt) {
      lo = this.#memoMac[2 * slot] as number;
      hi = this.#memoMac[2 * slot + 1] as number;
    } else {
      this.#sipHash(seq, attempt);
      lo = this.#lo;
      hi = this.#hi;
    }
    let diff = 0;
    for (let i = 0; i < 8; i++) {
      const byte = ((i < 4 ? lo : hi) >>> (8 * (i & 3))) & 0xff;
      diff |= seal.charCodeAt(2 * i) ^ hexDigit(byte >>> 4);
      diff |= seal.charCodeAt(2 * i + 1) ^ hexDigit(byte & 15);
    }
    return diff === 0;
  }

  /**
   * SipHash-2-4 of the words (seq, attempt, length word), each as two 32-bit halves, since
   * JavaScript has no 64-bit integers that are cheap. Every half is kept unsigned (`>>> 0`) so
   * that `l < a` finds the carry of an addition. The MAC goes to #lo and #hi.
   */
  #sipHash(seq: number, attempt: number): void {
    const m = this.#words;
    m[0] = seq % 0x1_0000_0000;
    m[1] = seq / 0x1_0000_0000;
    m[2] = attempt % 0x1_0000_0000;
    m[3] = attempt / 0x1_0000_0000;
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
    this.#lo = (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
    this.#hi = (v0h ^ v1h ^ v2h ^ v3h) >>> 0;
  }
}

/** The character code of hex digit `n` (0–15), lower case as `toString('hex')` writes it. */
function hexDigit(n: number): number {
  return n < 10 ? 48 + n : 87 + n;
}
