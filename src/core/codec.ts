import { ValidationError } from '../errors.ts';

/** Turns a queue's values into the bytes a store keeps, and back. */
export interface Codec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

// Buffer's UTF-8 paths are about twice as fast as TextEncoder / TextDecoder for payload-sized text.
// Stores hand back Buffers: those decode without a view of their own.
const utf8 = (bytes: Uint8Array): string =>
  (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString();

/** The default: JSON text in UTF-8. `undefined` and functions can't be encoded and are refused. */
export const jsonCodec: Codec<unknown> = {
  encode(value) {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      throw new ValidationError('data', `can't be encoded as JSON: ${(error as Error).message}`);
    }
    if (text === undefined) throw new ValidationError('data', `can't be encoded as JSON (${typeof value})`);
    return Buffer.from(text, 'utf8');
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
