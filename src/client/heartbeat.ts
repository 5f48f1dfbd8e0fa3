// The heartbeat of a client's workers: while one runs, the process beats to the server every 5 s
// (PUT /v1/workers/<id>), which posts each beat to the store, so the dashboard's Workers page and
// `spool.workers()` show these workers as they show those on the store itself; the last worker's
// close withdraws it. One heartbeat per connection, whatever its number of queues and workers.
import { randomUUID } from 'node:crypto';
import { systemClock } from '../core/clock.ts';
import { Heartbeat } from '../core/heartbeat.ts';
import { call, perConnection } from './http.ts';

export const heartbeatOf = perConnection((transport) => {
  const path = `/v1/workers/${randomUUID()}`;
  return new Heartbeat(systemClock, {
    post: async (beat) => void (await call(transport, 'PUT', path, beat)),
    withdraw: async () => void (await call(transport, 'DELETE', path)),
  });
});
