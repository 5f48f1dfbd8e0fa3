// A lease token's seal (contract.ts, token): a keyed function of the job and attempt, so that only
// the store that holds the key makes tokens, and a consumer cannot make another's from a job id
// (issue 20, defect 8). Here it is Chaskey-12 (ISO/IEC 29192-6), a MAC built for 32-bit
// machines, of the one 16-byte block (sequence number, attempt) under the table's 128-bit key,
// cut to 64 bits: 16 hex digits. Its arithmetic is JavaScript's own 32-bit integers, so a seal
// costs about 0.1 µs, where a call into OpenSSL (AES, HMAC) cost 0.9 µs whatever it held and
// SipHash's 64-bit words, each made of two numbers, 0.3 µs; leases of one job are the common
// case.
// An ack seals again and compares: nothing is kept per lease (a memo of recent seals cost more
// to write than the 20 ns of sealing it saved). The key sits in the table's meta documents, so the file store logs and checkpoints it with
// everything else and a replayed ack is checked exactly as it was live.
import { createCipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Cipher } from 'node:crypto';

/** The meta document holding the key; core's documents are named `topic/…`. */
export const tokenKeyName = 'store/token-key';

export function newTokenKey(): string {
  return randomBytes(16).toString('base64url');
}

/** Hex digits of a seal made before Chaskey (AES, 96 bits): still honoured, never made. */
const legacySealDigits = 24;

export class TokenSealer {
  /** The key, and its subkey for a message of whole blocks (the key times two in GF(2^128)), as 32-bit words. */
  readonly #key: Int32Array;
  readonly #subkey: Int32Array;
  /** The last MAC made: the whole tag, and its first two words. */
  readonly #tag = new Uint32Array(4);
  #lo = 0;
  #hi = 0;

  readonly #keyBytes: Buffer;
  #legacy: Cipher | null = null;

  constructor(key: string) {
    const bytes = Buffer.from(key, 'base64url');
    this.#keyBytes = bytes;
    this.#key = Int32Array.from({ length: 4 }, (_, i) => bytes.readInt32LE(4 * i));
    this.#subkey = timesTwo(this.#key);
  }

  /** The seal of job `seq` at attempt `attempt`: 16 hex digits. */
  seal(seq: number, attempt: number): string {
    this.#mac(seq, attempt);
    const lo = this.#lo;
    const hi = this.#hi;
    // One string from its 16 character codes: through a Buffer's toString('hex') it cost twice that.
    return String.fromCharCode(
      digit(lo, 0),
      digit(lo, 1),
      digit(lo, 2),
      digit(lo, 3),
      digit(lo, 4),
      digit(lo, 5),
      digit(lo, 6),
      digit(lo, 7),
      digit(hi, 0),
      digit(hi, 1),
      digit(hi, 2),
      digit(hi, 3),
      digit(hi, 4),
      digit(hi, 5),
      digit(hi, 6),
      digit(hi, 7),
    );
  }

  /**
   * Whether `seal` is the seal of job `seq` at attempt `attempt`, digit by digit against the
   * MAC: no string is made on an ack's way, and the time does not tell how much matched.
   */
  matches(seq: number, attempt: number, seal: string): boolean {
    if (seal.length === legacySealDigits) return this.#legacyMatches(seq, attempt, seal);
    if (seal.length !== 16) return false;
    this.#mac(seq, attempt);
    const lo = wordOf(seal, 0);
    const hi = wordOf(seal, 8);
    return ((lo ^ this.#lo) | (hi ^ this.#hi)) === 0 && lo >= 0 && hi >= 0;
  }

  /**
   * The seal of the first sealed tokens (a day of issue 20's code): AES-128 of the block
   * (seq, attempt), its first 12 bytes. Only the leases of such a data directory, or their acks
   * in its log, still carry one; made lazily, so no other store pays for it.
   */
  #legacyMatches(seq: number, attempt: number, seal: string): boolean {
    this.#legacy ??= createCipheriv('aes-128-ecb', this.#keyBytes, null).setAutoPadding(false);
    const block = Buffer.alloc(16);
    block.writeDoubleLE(seq, 0);
    block.writeDoubleLE(attempt, 8);
    const expected = this.#legacy.update(block).toString('hex').slice(0, legacySealDigits);
    return timingSafeEqual(Buffer.from(expected), Buffer.from(seal));
  }

  /** The MAC of (seq, attempt), to #lo and #hi: each a little-endian 64-bit word of the block. */
  #mac(seq: number, attempt: number): void {
    const tag = this.#tag;
    const high = 0x1_0000_0000;
    chaskey(this.#key, this.#subkey, seq % high, seq / high, attempt % high, attempt / high, 12, tag);
    this.#lo = tag[0] as number;
    this.#hi = tag[1] as number;
  }
}

/** `k` times two in GF(2^128) modulo x^128 + x^7 + x^2 + x + 1, as Chaskey's key schedule has it. */
export function timesTwo(k: Int32Array): Int32Array {
  const [k0, k1, k2, k3] = k as unknown as [number, number, number, number];
  return Int32Array.of(
    (k0 << 1) ^ (k3 < 0 ? 0x87 : 0),
    (k1 << 1) | (k0 >>> 31),
    (k2 << 1) | (k1 >>> 31),
    (k3 << 1) | (k2 >>> 31),
  );
}

/**
 * Chaskey's tag of one whole 16-byte block (the little-endian 32-bit words m0 to m3; a fraction
 * is cut off) under `key` and its `subkey`, with `rounds` rounds of the permutation (8 in the
 * first Chaskey, whose published test vectors check this code; 12 in Chaskey-12). To `tag` as
 * unsigned words.
 */
export function chaskey(
  key: Int32Array,
  subkey: Int32Array,
  m0: number,
  m1: number,
  m2: number,
  m3: number,
  rounds: number,
  tag: Uint32Array,
): void {
  const s0 = subkey[0] as number;
  const s1 = subkey[1] as number;
  const s2 = subkey[2] as number;
  const s3 = subkey[3] as number;
  let v0 = (key[0] as number) ^ m0 ^ s0;
  let v1 = (key[1] as number) ^ m1 ^ s1;
  let v2 = (key[2] as number) ^ m2 ^ s2;
  let v3 = (key[3] as number) ^ m3 ^ s3;
  for (let r = 0; r < rounds; r++) {
    v0 = (v0 + v1) | 0;
    v1 = ((v1 << 5) | (v1 >>> 27)) ^ v0;
    v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0;
    v3 = ((v3 << 8) | (v3 >>> 24)) ^ v2;
    v0 = (v0 + v3) | 0;
    v3 = ((v3 << 13) | (v3 >>> 19)) ^ v0;
    v2 = (v2 + v1) | 0;
    v1 = ((v1 << 7) | (v1 >>> 25)) ^ v2;
    v2 = (v2 << 16) | (v2 >>> 16);
  }
  tag[0] = v0 ^ s0;
  tag[1] = v1 ^ s1;
  tag[2] = v2 ^ s2;
  tag[3] = v3 ^ s3;
}

/** The value of each lower-case hex digit by its character code; 16 for any other character. */
const nibbles = Uint8Array.from({ length: 128 }, (_, c) =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : 16,
);

/**
 * The 32-bit word written as the 8 hex digits of `seal` from `from` (as `digit` writes them), or
 * -1 when one is no lower-case hex digit. Every digit is read whatever the others are: the time
 * does not tell how much of a seal was right. Three times as fast as comparing digit by digit.
 */
function wordOf(seal: string, from: number): number {
  let word = 0;
  let bad = 0;
  for (let k = 0; k < 4; k++) {
    const c1 = seal.charCodeAt(from + 2 * k);
    const c2 = seal.charCodeAt(from + 2 * k + 1);
    const high = c1 < 128 ? (nibbles[c1] as number) : 16;
    const low = c2 < 128 ? (nibbles[c2] as number) : 16;
    bad |= high | low;
    word |= ((high << 4) | low) << (8 * k);
  }
  return bad & 16 ? -1 : word >>> 0;
}

/**
 * The character code of hex digit `i` (0–7) of `word` written little-endian, as a Buffer's
 * toString('hex') writes it: byte by byte from the lowest, the high half of each byte first.
 */
function digit(word: number, i: number): number {
  const n = (word >>> (8 * (i >> 1) + (i & 1 ? 0 : 4))) & 15;
  return n < 10 ? 48 + n : 87 + n;
}
