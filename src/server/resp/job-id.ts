// Disque's job ids over spool's. Disque's id is `D-<node 8>-<24 base64 chars>-<ttl 4 hex>`:
// clients route an ACK to the node the id names, so the node part is this server's node id.
// The middle carries spool's own id, reversibly, so a job added over HTTP or the library can
// be acked here and the other way round: the id's UTF-8 bytes, left-padded with NUL bytes (no
// id holds one) to a multiple of 3 and at least 18, in base64 — exactly Disque's 40 characters
// for the short ids of the file and memory stores, longer for Redis's `<queue>:<seq>` ids.

export interface IdFacts {
  readonly createdAt: number;
  readonly expiresAt: number | null;
  /** Disque's RETRY 0 (at most once) is spool's single attempt. */
  readonly maxAttempts: number;
}

const minBytes = 18;
// Disque checks only the length, the `D-` and the dashes; any such id is well formed, and one whose
// middle holds no spool id names a job that is not here.
const shape = /^D-[^-]{8}-([^-]{24,})-[^-]{4}$/;

export function toDisqueId(nodeId: string, spoolId: string, facts: IdFacts): string {
  if (nodeId !== made.nodeId) {
    made.nodeId = nodeId;
    made.prefix = `D-${nodeId.slice(0, 8)}-`;
  }
  return `${made.prefix}${middle(spoolId)}-${ttlPart(facts)}`;
}

/**
 * The node part and the TTL part made last: a server makes every id with one node id, and
 * mostly one TTL, twice a job (issue 17).
 */
const made = { nodeId: '', prefix: '', ttl: -1, ttlHex: '' };

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** The base64 of 0, 3, 6, … NUL bytes. */
const nulGroups = Array.from({ length: minBytes / 3 + 1 }, (_, i) => 'A'.repeat(4 * i));

/**
 * The id's UTF-8 bytes, left-padded with NUL bytes, in base64. An ASCII id that fits Disque's
 * 40 characters (every id of the file and memory stores) is encoded here, without a Buffer:
 * every job id is made twice, by ADDJOB and GETJOB (issue 17).
 */
function middle(spoolId: string): string {
  const length = spoolId.length;
  if (length <= minBytes && isAscii(spoolId)) {
    const pad = minBytes - length;
    const byteAt = (i: number): number => (i < pad ? 0 : spoolId.charCodeAt(i - pad));
    let at = pad - (pad % 3);
    let out = nulGroups[at / 3] as string;
    for (; at < minBytes; at += 3) {
      const a = byteAt(at);
      const b = byteAt(at + 1);
      const c = byteAt(at + 2);
      out += `${alphabet[a >> 2]}${alphabet[((a & 3) << 4) | (b >> 4)]}${alphabet[((b & 15) << 2) | (c >> 6)]}${alphabet[c & 63]}`;
    }
    return out;
  }
  const bytes = Buffer.byteLength(spoolId);
  const padded = Buffer.alloc(Math.ceil(Math.max(bytes, minBytes) / 3) * 3);
  padded.write(spoolId, padded.length - bytes, 'utf8');
  return padded.toString('base64');
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Whether a client's id is in Disque's shape (else -BADID). */
export const isDisqueId = (disqueId: string): boolean => shape.test(disqueId);

/** Spool's id inside a well-formed Disque id, or null when it holds none (a job not here). */
export function fromDisqueId(disqueId: string): string | null {
  const middle = shape.exec(disqueId)?.[1];
  if (middle === undefined || middle.length % 4 !== 0 || !/^[A-Za-z0-9+/]+$/.test(middle)) return null;
  const bytes = Buffer.from(middle, 'base64');
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  const id = bytes.subarray(start).toString('utf8');
  return id === '' || id.includes('\uFFFD') ? null : id;
}

/**
 * Disque's last four hex digits: the TTL in whole minutes (cut, not rounded), its lowest bit set
 * when the job is retried and cleared when not, as Disque's generateJobID makes them. A TTL is
 * whole seconds; a store may stamp a job's creation and its expiry a millisecond apart, so the
 * TTL read back is taken to the nearest second first: the id must not change with the read.
 */
function ttlPart({ createdAt, expiresAt, maxAttempts }: IdFacts): string {
  const seconds = expiresAt === null ? Infinity : Math.round((expiresAt - createdAt) / 1000);
  const minutes = Math.min(0xffff, Math.floor(seconds / 60));
  const ttl = maxAttempts !== 1 ? minutes | 1 : minutes & ~1;
  if (ttl !== made.ttl) {
    made.ttl = ttl;
    made.ttlHex = ttl.toString(16).padStart(4, '0');
  }
  return made.ttlHex;
}
