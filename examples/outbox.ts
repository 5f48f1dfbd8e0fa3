// The transactional outbox on PostgreSQL: an order row and the job that e-mails it commit
// together, or neither does. The worker waiting on the queue wakes at the commit.
import pg from 'pg';
import { open } from '../src/index.ts';

const url = process.env.SPOOL_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `outbox_example_${process.pid}`;
const db = new pg.Pool({ connectionString: url });
await db.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.orders (id serial PRIMARY KEY, item text NOT NULL)`);

const spool = await open(`${url}?schema=${schema}`);
const emails = spool.queue<{ order: number }>('emails');
const worker = emails.process((job) => console.log(`e-mailing order ${job.data.order}`));

async function placeOrder(item: string, fail: boolean): Promise<void> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ id: number }>(
      `INSERT INTO ${schema}.orders (item) VALUES ($1) RETURNING id`,
      [item],
    );
    const order = (rows[0] as { id: number }).id;
    // The job joins this transaction: it exists only if the transaction commits.
    await emails.add({ order }, { tx: client });
    if (fail) throw new Error(`payment for order ${order} declined`);
    await client.query('COMMIT');
    console.log(`order ${order} placed`);
  } catch (error) {
    await client.query('ROLLBACK');
    console.log(`rolled back: ${(error as Error).message}`);
  } finally {
    client.release();
  }
}

await placeOrder('book', false);
await placeOrder('lamp', true);
await placeOrder('desk', false);
await new Promise((resolve) => setTimeout(resolve, 500));
console.log('counts', JSON.stringify(await emails.counts()));
await worker.close();
await spool.close();
await db.query(`DROP SCHEMA ${schema} CASCADE`);
await db.end();
