// `spool check`: verifies every record of every segment and every checkpoint of a data
// directory, without opening the store; with repair, opens it with repair (which keeps every
// intact record and writes a fresh checkpoint) and verifies again.
import { join } from 'node:path';
import { checkpointFiles, decodeCheckpoint, loadCheckpoint } from './checkpoint.ts';
import { FileStore } from './file-store.ts';
import { nodeIO } from './io.ts';
import type { FileIO } from './io.ts';
import { nextIntact, parse, parseSegmentHeader, recordHeaderBytes, recordType, segmentHeaderBytes } from './record.ts';

export interface CheckProblem {
  readonly file: string;
  readonly offset: number;
  readonly what: string;
}

export interface CheckReport {
  readonly segments: number;
  readonly records: number;
  readonly bytes: number;
  readonly checkpoints: number;
  /** Damage: an open refuses the directory until it is repaired. */
  readonly problems: readonly CheckProblem[];
  /** A torn tail of the last segment, which the next open cuts off by itself. */
  readonly tornTail: CheckProblem | null;
  /** Set when repair ran: the jobs the repaired store holds. */
  readonly repairedJobs?: number;
}

export interface CheckOptions {
  readonly repair?: boolean;
  /** Called as segments are verified, with bytes done and bytes in all. */
  readonly progress?: (done: number, total: number) => void;
  readonly io?: FileIO;
}

export async function checkDataDir(dir: string, options: CheckOptions = {}): Promise<CheckReport> {
  const first = verify(dir, options);
  if (options.repair !== true || first.problems.length === 0) return first;
  const store = await FileStore.open(dir, { repair: true, io: options.io ?? nodeIO });
  const repairedJobs = store.report.jobs;
  await store.close();
  return { ...verify(dir, options), repairedJobs };
}

function verify(dir: string, { io = nodeIO, progress }: CheckOptions): Omit<CheckReport, 'repairedJobs'> {
  const problems: CheckProblem[] = [];
  let tornTail: CheckProblem | null = null;
  const names = io
    .list(dir)
    .filter((name) => /^\d{12}\.seg$/.test(name))
    .sort();
  const files = names.map((name) => {
    const fd = io.open(join(dir, name), false);
    const bytes = Buffer.allocUnsafe(io.size(fd));
    io.read(fd, bytes, 0);
    io.close(fd);
    return { path: join(dir, name), number: Number(name.slice(0, 12)), bytes };
  });
  const total = files.reduce((sum, f) => sum + f.bytes.length, 0);
  // Where the newest good checkpoint says each segment reaches: less is a cut, not a torn tail.
  const { checkpoint } = loadCheckpoint(io, dir);
  const ends = new Map(checkpoint?.ends ?? []);
  if (checkpoint !== null)
    ends.set(
      checkpoint.position.segment,
      Math.max(checkpoint.position.offset, ends.get(checkpoint.position.segment) ?? 0),
    );
  let done = 0;
  let records = 0;
  let lsn: number | null = null;
  files.forEach(({ path, number, bytes }, i) => {
    const previous = files[i - 1];
    // Segments before the checkpoint's go once no job needs them, in any order: a gap there is
    // normal (the open checks that no job needs a missing one). From the checkpoint on, the log
    // must be whole.
    if (previous !== undefined && number !== previous.number + 1 && number <= (checkpoint?.position.segment ?? 0))
      lsn = null;
    else if (previous !== undefined && number !== previous.number + 1)
      problems.push({
        file: join(dir, `${String(previous.number + 1).padStart(12, '0')}.seg`),
        offset: 0,
        what: 'segment missing',
      });
    const header = parseSegmentHeader(bytes);
    if (header === null || header.segment !== number) {
      problems.push({ file: path, offset: 0, what: 'bad segment header' });
      return;
    }
    const end = ends.get(number) ?? 0;
    if (bytes.length < end)
      problems.push({
        file: path,
        offset: bytes.length,
        what: `segment cut: a checkpoint recorded ${end} bytes as synced`,
      });
    let offset = segmentHeaderBytes;
    while (offset < bytes.length) {
      const record = parse(bytes, offset, header.salt);
      if (record !== null && (lsn === null || record.lsn === lsn)) {
        records++;
        lsn = record.type === recordType.pad ? bytes.readDoubleLE(record.bodyAt) : record.lsn + 1;
        offset = record.end;
        continue;
      }
      const next = nextIntact(bytes, offset, header.salt);
      if (i === files.length - 1 && (next === null || next.durable <= offset) && offset >= end) {
        tornTail = { file: path, offset, what: 'torn tail (the next open cuts it off)' };
        break;
      }
      problems.push({
        file: path,
        offset,
        what: record === null ? 'damaged record' : `record out of order (lsn ${record.lsn}, expected ${lsn})`,
      });
      if (next === null) break;
      offset = next.bodyAt - recordHeaderBytes;
      lsn = null;
    }
    done += bytes.length;
    progress?.(done, total);
  });
  const checkpoints = checkpointFiles(io, dir);
  for (const name of checkpoints) {
    const fd = io.open(join(dir, name), false);
    const bytes = Buffer.allocUnsafe(io.size(fd));
    io.read(fd, bytes, 0);
    io.close(fd);
    if (decodeCheckpoint(bytes) === null)
      problems.push({ file: join(dir, name), offset: 0, what: 'bad checkpoint checksum' });
  }
  return { segments: files.length, records, bytes: total, checkpoints: checkpoints.length, problems, tornTail };
}
