// Copies of a job beyond the first (`replicate`, Disque's REPLICATE): refused over what the store
// declares it can keep, and failed with a ReplicationError, never silently, when the replicas
// do not confirm in time.
import assert from 'node:assert/strict';
import { ReplicationError, ValidationError } from '../index.ts';
import { area, conformanceTest, needs } from './harness.ts';
import type { Suite } from './harness.ts';

/** More copies than any test set-up has replicas to confirm. */
const unreachableCopies = 64;

export function replication(suite: Suite): void {
  area(suite, 'replication', () => {
    conformanceTest(
      suite,
      'an add asking for more copies than capabilities.maxReplicas + 1 is a ValidationError and stores nothing',
      async ({ spool, store }) => {
        const q = spool.queue('too-many-copies');
        const copies = store.capabilities.maxReplicas + 2;
        await assert.rejects(
          q.add('x', { replicate: copies }),
          (e: unknown) => e instanceof ValidationError && e.field === 'options.replicate',
        );
        await assert.rejects(q.addBulk([{ data: 'y', options: { replicate: copies } }]), ValidationError);
        assert.equal((await q.counts()).waiting, 0);
        await q.add('one copy', { replicate: 1 });
        assert.equal((await q.counts()).waiting, 1);
      },
      { needs: needs.boundedReplicas },
    );

    conformanceTest(
      suite,
      'an add whose copies the replicas do not confirm fails with a ReplicationError naming the job it added',
      async ({ spool, store }) => {
        const q = spool.queue('unconfirmed');
        const copies = Math.min(store.capabilities.maxReplicas + 1, unreachableCopies);
        const failed = await q.add('lonely', { replicate: copies }).then(
          () => assert.fail(`${copies} copies confirmed`),
          (e: unknown) => e,
        );
        assert.ok(failed instanceof ReplicationError, String(failed));
        assert.equal(failed.copies, copies);
        assert.ok(failed.confirmed < copies);
        // The job was added: the error says it may exist, and it does on the store it reached.
        assert.equal((await q.get(failed.ids[0]!))?.data, 'lonely');
      },
      { needs: needs.replicas },
    );
  });
}
