// Every change made through an admin-scoped route goes into the Spool's audit log (issue 18):
// who (the token's name), what (method, route, parameters, body), when, and how it ended. The
// dashboard's actions go through these routes and mark themselves (`x-spool-ui`).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditEntry, Spool } from '../../index.ts';
import type { Principal } from './auth.ts';
import * as s from './schemas.ts';

/** Longest request body the log keeps of an action. */
const maxDetails = 500;

/** Who a principal is in the log: its token's name, else the start of its SHA-256 digest (never the token). */
export function who(principal: Principal): string {
  if (principal === null) return 'anyone (no tokens)';
  return principal.name ?? `token ${principal.digest.toString('hex').slice(0, 8)}`;
}

/**
 * `guarded`: the server has tokens. A request whose token it does not know is not logged: it
 * changed nothing and is no one, and anyone reaching the port could otherwise fill the log with
 * 401s until the newest 1,000 entries held none of what admins did.
 */
export function auditRoutes(app: FastifyInstance, spool: Spool, guarded: boolean): void {
  app.addHook('onResponse', (request, reply, done) => {
    const unknown = guarded && request.principal === null;
    if (request.routeOptions.config.need === 'admin' && request.method !== 'GET' && !unknown)
      spool.audit
        .record(entryOf(request, reply.statusCode))
        .catch((error: unknown) => request.log.error({ err: error }, 'audit: writing the entry failed'));
    done();
  });

  app.get(
    '/v1/audit',
    {
      schema: {
        summary: `The newest \`limit\` entries of the audit log (default 100, at most ${s.maxPage}), newest first`,
        querystring: s.body({ limit: s.page }, []),
      },
      // The log names every queue: a token limited to a prefix may not read it.
      config: { need: 'read', names: () => ['*'] },
    },
    async (request) => {
      const { limit = '100' } = request.query as { limit?: string };
      return {
        entries: await spool.audit.read(s.pageSize(limit, 'querystring.limit', 'the log keeps no more than that')),
      };
    },
  );
}

function entryOf(request: FastifyRequest, status: number): Omit<AuditEntry, 'at'> {
  const body = request.body === undefined ? null : JSON.stringify(request.body);
  return {
    who: who(request.principal),
    action: `${request.method} ${request.routeOptions.url ?? request.url}`,
    target: (request.params ?? {}) as Record<string, string>,
    details: body === null ? null : body.length > maxDetails ? `${body.slice(0, maxDetails)}…` : body,
    status,
    ui: request.headers['x-spool-ui'] !== undefined,
  };
}
