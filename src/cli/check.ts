// `spool check [--repair] [dir]`: verifies a data directory of the file store without opening it.
import { checkDataDir } from '../store/file/index.ts';

/** Exit 0: intact (a torn tail is normal after a crash); 1: damage found and not repaired. */
export async function check(dir: string, repair: boolean): Promise<number> {
  const progress = process.stderr.isTTY
    ? (done: number, total: number) =>
        process.stderr.write(`\rchecking ${dir}: ${Math.floor((100 * done) / Math.max(total, 1))}%`)
    : undefined;
  const report = await checkDataDir(dir, { repair, progress });
  if (progress !== undefined) process.stderr.write('\n');
  console.log(
    `${dir}: ${report.segments} segments, ${report.records} records, ${report.bytes} bytes, ${report.checkpoints} checkpoints`,
  );
  if (report.tornTail !== null)
    console.log(`${report.tornTail.file} at ${report.tornTail.offset}: ${report.tornTail.what}`);
  for (const p of report.problems) console.log(`${p.file} at ${p.offset}: ${p.what}`);
  if (report.repairedJobs !== undefined) console.log(`repaired: the store opens with ${report.repairedJobs} jobs`);
  if (report.problems.length === 0) {
    console.log('ok');
    return 0;
  }
  if (!repair) console.log('damage found: run `spool check --repair` to keep every intact record');
  return 1;
}
