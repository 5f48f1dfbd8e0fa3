// pg-boss 10 with its defaults (pool of 10, maintenance on), in a schema of its own. Its worker sleeps
// `pollingIntervalSeconds` between fetches; the handler wakes it at once after each batch (notifyWorker),
// pg-boss's best case, as in peers.md, and the interval is set to its minimum, 0.5 s, for the idle worker.
import PgBoss from 'pg-boss';
import type { PostgresTarget } from '../postgres.ts';
import type { Payload, Subject, WorkerEvents } from '../scenarios.ts';
import { pgBossPollingIntervalSeconds as pollingIntervalSeconds } from './settings.ts';
import { versionOf } from './version.ts';

const stopTimeoutMs = 5_000;

type Completed = WorkerEvents['completed'];

/**
 * pg-boss completes a batch after its handler returns without awaiting the UPDATE, so no event marks a
 * completion it has recorded: count the rows its completion statement reports, once that statement returns.
 */
function countCompletions(boss: PgBoss, completed: () => Completed): void {
  const db = boss.getDb();
  const executeSql = db.executeSql.bind(db);
  db.executeSql = async (text, values) => {
    const result = await executeSql(text, values);
    // pg-boss answers undefined once it is stopped.
    if (result !== undefined && text.includes('SET completed_on = now()')) {
      const [row] = result.rows as { count: string }[];
      const done = completed();
      for (let k = Number(row?.count ?? 0); k > 0; k--) done();
    }
    return result;
  };
}

export async function openPgBoss(postgres: PostgresTarget, name: string): Promise<Subject> {
  const boss = new PgBoss({ connectionString: postgres.url, schema: postgres.schema });
  boss.on('error', (error) => console.error('pg-boss:', error.message));
  await boss.start();
  await boss.createQueue(name);
  let onCompleted: Completed = () => undefined;
  countCompletions(boss, () => onCompleted);
  return {
    version: `${versionOf('pg-boss')} (pg ${versionOf('pg')})`,
    durable: postgres.durable,
    add: (data) => boss.send(name, data),
    addBulk: (data) => boss.insert(data.map((d) => ({ name, data: d }))),
    // pg-boss 10 has no concurrency option: a worker fetches up to batchSize jobs and hands them over together.
    async startWorker(concurrency: number, events: WorkerEvents) {
      onCompleted = () => events.completed();
      // The first batch may come before work() resolves with the worker's id.
      let id: string | undefined = undefined;
      id = await boss.work<Payload>(name, { batchSize: concurrency, pollingIntervalSeconds }, (jobs) => {
        for (const job of jobs) events.started(job.data);
        if (id !== undefined) boss.notifyWorker(id);
        return Promise.resolve();
      });
    },
    close: () => boss.stop({ graceful: true, wait: true, timeout: stopTimeoutMs }),
  };
}
