// A job's trace context (issue 18): the W3C `traceparent` of the code that added it, carried in a
// header in front of the payload's bytes, so that no store, record encoding or wire format has to
// learn a field for it. Only a Spool with an observer that gives trace context (traceWorkers)
// writes the header; reading it costs one byte's comparison per job. The header starts with a
// NUL byte, which no JSON text starts with; a bytes payload that starts with this exact header is
// read as carrying one.
import { ValidationError } from '../errors.ts';

const magic = new TextEncoder().encode('\0spool-traceparent:');
/** `version-traceid-parentid-flags`, lower-case hex, as W3C Trace Context writes it. */
const traceparentRule = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const traceparentLength = 55;
const headerLength = magic.length + traceparentLength;

/** The payload behind a header carrying `traceparent`. */
export function withTrace(payload: Uint8Array, traceparent: string): Uint8Array {
  if (!traceparentRule.test(traceparent))
    throw new ValidationError('traceparent', `is not a W3C traceparent: ${traceparent}`);
  const out = new Uint8Array(headerLength + payload.byteLength);
  out.set(magic, 0);
  out.set(new TextEncoder().encode(traceparent), magic.length);
  out.set(payload, headerLength);
  return out;
}

/** The payload's own bytes and the traceparent its header carries, or null without one. */
export function splitTrace(payload: Uint8Array): { readonly body: Uint8Array; readonly traceparent: string | null } {
  if (payload[0] !== 0 || payload.byteLength < headerLength) return { body: payload, traceparent: null };
  for (let i = 1; i < magic.length; i++) if (payload[i] !== magic[i]) return { body: payload, traceparent: null };
  const traceparent = new TextDecoder().decode(payload.subarray(magic.length, headerLength));
  if (!traceparentRule.test(traceparent)) return { body: payload, traceparent: null };
  return { body: payload.subarray(headerLength), traceparent };
}
