import { ValidationError } from '../errors.ts';

/** Turns a queue's values into the bytes a store keeps, and back. */
export interface Codec<T> {
  encode(value: T): Uint8Array;
  /**
   * The bytes `encode` gives each of `values`, made in one go: a bulk add uses it when present.
   * The default JSON codec writes the texts of many jobs into one buffer.
   */
  encodeAll?(values: readonly T[]): Uint8Array[];
  decode(bytes: Uint8Array): T;
}

// Buffer's UTF-8 paths are about twice as fast as TextEncoder / TextDecoder for payload-sized text.
// Stores hand back Buffers: those decode without a view of their own.
const utf8 = (bytes: Uint8Array): string =>
  (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString();

/** What JSON.stringify escapes in a string (and the surrogates it might): text without any is its own JSON, quoted. */
// eslint-disable-next-line no-control-regex -- the control characters are what JSON escapes
const needsEscape = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `value` as JSON text; a value JSON cannot hold (a BigInt, a cycle, a function, a symbol) is a ValidationError. */
export function jsonText(value: unknown): string {
  // A plain string, the Disque protocol's every body: quoting it is a third of JSON.stringify's time.
  if (typeof value === 'string' && !needsEscape.test(value)) return `"${value}"`;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new ValidationError('data', `can't be encoded as JSON: ${(error as Error).message}`);
  }
  if (text === undefined) throw new ValidationError('data', `can't be encoded as JSON (${typeof value})`);
  return text;
}

/**
 * How much text of consecutive jobs one buffer takes: a job kept in memory keeps its whole buffer,
 * so no more than twice what Buffer's own pool shares (8 KiB).
 */
const sharedChars = 16 << 10;

/**
 * `texts` in UTF-8, one buffer for all: their views, into `out` from `at`. One Buffer.from for a
 * thousand 100-byte jobs instead of one each took a bulk add's encoding from 0.70 to 0.46 µs a
 * job (issue 16). Views are cut at character offsets, so only text that is all ASCII (as many
 * bytes as characters) is cut; other text is encoded job by job.
 */
function encodeTexts(texts: readonly string[], chars: number, out: Uint8Array[], at: number): void {
  const bytes = Buffer.from(texts.join(''), 'utf8');
  if (bytes.length !== chars) {
    for (let i = 0; i < texts.length; i++) out[at + i] = Buffer.from(texts[i] as string, 'utf8');
    return;
  }
  let from = 0;
  for (let i = 0; i < texts.length; i++) {
    const to = from + (texts[i] as string).length;
    out[at + i] = bytes.subarray(from, to);
    from = to;
  }
}

/** The default: JSON text in UTF-8. `undefined` and functions can't be encoded and are refused. */
export const jsonCodec: Codec<unknown> = {
  encode: (value) => Buffer.from(jsonText(value), 'utf8'),
  encodeAll(values) {
    const out = new Array<Uint8Array>(values.length);
    let texts: string[] = [];
    let chars = 0;
    for (let i = 0; i < values.length; i++) {
      const text = jsonText(values[i]);
      texts.push(text);
      chars += text.length;
      if (chars >= sharedChars || i === values.length - 1) {
        encodeTexts(texts, chars, out, i + 1 - texts.length);
        texts = [];
        chars = 0;
      }
    }
    return out;
  },
  decode: (bytes) => JSON.parse(utf8(bytes)) as unknown,
};

/** Bytes as they are, for users who bring their own encoding. */
export const bytesCodec: Codec<Uint8Array> = {
  encode(value) {
    if (!(value instanceof Uint8Array)) throw new ValidationError('data', 'must be a Uint8Array with the bytes codec');
    return value;
  },
  decode: (bytes) => bytes,
};
