// The dashboard at /ui (issue 18): the files `npm run build:ui` wrote to ui/build, shipped in
// the package and read once at start-up, so nothing is built or read from disk per request. The
// page itself needs no token; everything it shows comes from the /v1 routes, which do.
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Guard } from './auth.ts';
import { who } from './audit.ts';

/** Both src/server/http and dist/server/http sit three folders below the package's root. */
export const uiBuild = fileURLToPath(new URL('../../../ui/build/', import.meta.url));

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

function readAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  let files: string[];
  try {
    files = readdirSync(uiBuild);
  } catch {
    return assets;
  }
  for (const file of files) {
    const type = types[extname(file)];
    if (type !== undefined) assets.set(file, { body: readFileSync(join(uiBuild, file)), type });
  }
  return assets;
}

export function uiRoutes(app: FastifyInstance, guard: Guard): void {
  const assets = readAssets();
  const page = (file: string) =>
    app.get(`/ui/${file === 'index.html' ? '' : file}`, { schema: { hide: true } }, (_request, reply) => {
      const asset = assets.get(file);
      if (asset === undefined)
        return reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send('The dashboard was not built: run `npm run build:ui` (the published package ships it built).');
      // index.html names the other files with a content hash: they may be cached for good, it may not.
      const cache = file === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable';
      return reply
        .type(asset.type)
        .header('cache-control', cache)
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
        .send(asset.body);
    });
  page('index.html');
  for (const file of assets.keys()) if (file !== 'index.html') page(file);
  app.get('/ui', { schema: { hide: true } }, (_request, reply) => reply.redirect('/ui/'));

  app.get(
    '/v1/whoami',
    {
      schema: { summary: 'Who the token is and what it may do: what the dashboard shows and hides' },
      config: { need: 'read' },
    },
    (request) => {
      const p = request.principal;
      return {
        who: who(p),
        auth: guard.enabled,
        scopes: p === null ? ['publish', 'consume', 'admin'] : [...p.scopes],
        prefix: p === null ? '' : p.prefix,
      };
    },
  );
}
