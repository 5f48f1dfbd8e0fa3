// Bearer tokens with scopes, optionally limited to the queues and topics under a name prefix,
// matched by whole name segments (`reaches`). Tokens are compared as SHA-256 digests with
// timingSafeEqual against every configured token, so neither the length nor the first differing
// byte of a guess shows in the response time.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, UnauthorizedError, ValidationError } from '../../index.ts';
import type { QueueScope } from '../../index.ts';

export type Scope = 'publish' | 'consume' | 'admin';
/** What a route needs: a scope, or `read` (any scope will do, for looking without changing). */
export type Need = Scope | 'read';

export interface TokenGrant {
  readonly token: string;
  readonly scopes: readonly Scope[];
  /** The queues and topics it reaches (see `reaches`); '' for all. */
  readonly prefix: string;
  /** Who holds it, as the audit log names them; absent: the start of the token's digest. */
  readonly name?: string;
}

/** What ends a name segment: `<topic>.<subscriber>` queues, `tenant:queue` names. */
const separators = ['.', ':'];

/** A name as core allows it, optionally ending in `*`. */
const prefixRule = /^[A-Za-z0-9_.:-]{1,200}\*?$|^\*$/;

/**
 * Whether a grant's `prefix` reaches `name`, by whole segments (issue 20: `tenant-a` reached
 * `tenant-ab`): '' reaches every name; `tenant-a` reaches `tenant-a` itself and the names under
 * it, `tenant-a.…` and `tenant-a:…`; a prefix ending in `.` or `:` reaches the names that start
 * with it; and only a trailing `*` asks for a plain string prefix (`tenant-*` reaches `tenant-ab`).
 */
export function reaches(prefix: string, name: string): boolean {
  if (prefix.endsWith('*')) return name.startsWith(prefix.slice(0, -1));
  if (!name.startsWith(prefix)) return false;
  if (prefix === '' || name.length === prefix.length || separators.includes(prefix.at(-1) as string)) return true;
  return separators.includes(name[prefix.length] as string);
}

/**
 * The queues a grant's `prefix` reaches (`reaches`) as a store checks them (`QueueScope`), or
 * undefined for every queue: a store that acks by token holds the scope in the same atomic step.
 */
export function scopeOf(prefix: string): QueueScope | undefined {
  if (prefix === '') return undefined;
  if (prefix.endsWith('*')) return { queues: [], prefixes: [prefix.slice(0, -1)] };
  if (separators.includes(prefix.at(-1) as string)) return { queues: [], prefixes: [prefix] };
  return { queues: [prefix], prefixes: separators.map((separator) => prefix + separator) };
}

interface Grant {
  readonly digest: Buffer;
  readonly scopes: ReadonlySet<Scope>;
  readonly prefix: string;
  readonly name: string | null;
  /** Its place in the server's list of tokens: what tells apart the tokens without a name. */
  readonly index: number;
}

const scopes: readonly Scope[] = ['publish', 'consume', 'admin'];

const digest = (token: string): Buffer => createHash('sha256').update(token).digest();

/** Checks token grants as read from a flag or a tokens file; `field` names the source in errors. */
export function tokenGrants(value: unknown, field: string): TokenGrant[] {
  if (!Array.isArray(value)) throw new ValidationError(field, 'must be an array of { token, scopes, prefix? }');
  return value.map((entry: unknown, i) => {
    const at = `${field}[${i}]`;
    if (typeof entry !== 'object' || entry === null) throw new ValidationError(at, 'must be an object');
    const { token, scopes: given, prefix = '', name, ...rest } = entry as Record<string, unknown>;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined)
      throw new ValidationError(`${at}.${unknown}`, 'unknown field (known: token, scopes, prefix, name)');
    if (name !== undefined && (typeof name !== 'string' || name.length === 0 || name.length > 100))
      throw new ValidationError(`${at}.name`, 'must be a string of 1 to 100 characters');
    if (typeof token !== 'string' || token.length < 16)
      throw new ValidationError(`${at}.token`, 'must be a string of at least 16 characters');
    if (!Array.isArray(given) || given.length === 0 || !given.every((s) => scopes.includes(s as Scope)))
      throw new ValidationError(`${at}.scopes`, `must be a non-empty list of ${scopes.join(', ')}`);
    if (typeof prefix !== 'string' || (prefix !== '' && !prefixRule.test(prefix)))
      throw new ValidationError(
        `${at}.prefix`,
        "must be '' (every name), a queue or topic name (it and the names under it), or a name ending in '*'",
      );
    return { token, scopes: given as Scope[], prefix, ...(name === undefined ? {} : { name }) };
  });
}

/** Who a request is: null when the server has no tokens (everything is allowed). */
export type Principal = Grant | null;

export class Guard {
  readonly #grants: readonly Grant[];

  constructor(grants: readonly TokenGrant[]) {
    this.#grants = grants.map((g, index) => ({
      digest: digest(g.token),
      scopes: new Set(g.scopes),
      prefix: g.prefix,
      name: g.name ?? null,
      index,
    }));
  }

  get enabled(): boolean {
    return this.#grants.length > 0;
  }

  /** The grant an Authorization header carries; UnauthorizedError when there is none that matches. */
  authenticate(header: string | undefined): Principal {
    if (!this.enabled) return null;
    const match = /^Bearer (\S+)$/i.exec(header ?? '');
    if (match === null) throw new UnauthorizedError('an Authorization: Bearer <token> header is required');
    const given = digest(match[1] as string);
    let found: Grant | null = null;
    // Every grant is compared, so the time taken does not tell which one matched.
    for (const grant of this.#grants) if (timingSafeEqual(grant.digest, given) && found === null) found = grant;
    if (found === null) throw new UnauthorizedError('unknown bearer token');
    return found;
  }

  /** Whether the header carries a known token, or the server has none (everyone is trusted then). */
  trusts(header: string | undefined): boolean {
    try {
      this.authenticate(header);
      return true;
    } catch {
      return false;
    }
  }

  /** ForbiddenError unless `principal` may do `need` on every one of `names`. */
  static allow(principal: Principal, need: Need, names: readonly string[]): void {
    if (principal === null) return;
    const scoped = need === 'read' || principal.scopes.has('admin') || principal.scopes.has(need);
    for (const name of names) {
      if (!scoped || !reaches(principal.prefix, name)) throw new ForbiddenError(need, name);
    }
    if (!scoped) throw new ForbiddenError(need, '*');
  }

  /**
   * What the things a token owns are kept under: its name, else its place in the list (never
   * anything of the token itself); null when the server has no tokens.
   */
  static owner(principal: Principal): string | null {
    return principal === null ? null : (principal.name ?? `token${principal.index}`);
  }

  /** Whether `principal` may see `name` at all (for lists). */
  static sees(principal: Principal, name: string): boolean {
    return principal === null || reaches(principal.prefix, name);
  }
}
