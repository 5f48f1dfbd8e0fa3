// `spool migrate --store postgres://… [--dry-run]`: brings a PostgreSQL store's schema to this
// spool's version (what opening the store does too), or prints what that would run.
import { ValidationError } from '../errors.ts';

export async function migrateCommand(store: string, dryRun: boolean): Promise<void> {
  if (!/^postgres(ql)?:\/\//i.test(store))
    throw new ValidationError(
      'store',
      'spool migrate runs the migrations of a postgres:// store; others migrate at open',
    );
  const { migrateUrl } = await import('../store/postgres/url.ts');
  const steps = await migrateUrl(store, dryRun);
  if (steps.length === 0) {
    console.log('the schema is up to date');
    return;
  }
  for (const step of steps) {
    console.log(`-- ${dryRun ? 'would apply' : 'applied'} ${step.name} (version ${step.version})`);
    if (dryRun) console.log(step.sql);
  }
}
