// What SQLite alone costs per job in the e2e-c64 steady state (issue 16), without spool's engine
// or worker: one transaction a round leases 64 waiting jobs (a SELECT in lease order, an UPDATE
// each), acks the 64 of the round before (an UPDATE each) and drops the completed jobs past a
// retention of 1,000 (one DELETE). Run on spool's own schema (the migrations, current version)
// and on a narrow one: a hot table of the columns a lease or an ack changes or orders by, the
// rest (payload included) in a second table. Prints CPU µs per job, each statement's wall µs per
// job and the WAL frames (pages) each commit writes, a median of `runs` runs per schema, alternating.
// `checkpoint`: PRAGMA wal_autocheckpoint during the run; 0 (none) counts the frames, 1000 is
// SQLite's default (the store's), whose checkpoints then count into the commits.
//   node --import tsx bench/sqlite-floor.ts [runs=5] [jobs=50000] [normal|full] [checkpoint=0]
// The narrow schema's lower cost here did not carry over to the store: spool_jobs split so (tried
// as schema version 3, then reverted) ran e2e-c64 on as many SQLite instructions as before.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from '../src/store/sqlite/schema.ts';
import { median } from './median.ts';

const runs = Number(process.argv[2] ?? 5);
const jobs = Number(process.argv[3] ?? 50_000);
const synchronous = (process.argv[4] ?? 'normal').toUpperCase();
const checkpoint = Number(process.argv[5] ?? 0);
const batch = 64;
const keep = 1_000;
const payload = Buffer.alloc(100, 7);

type Db = InstanceType<typeof Database>;
interface Schema {
  fill(db: Db): void;
  /** Prepared statements: the round's SELECT, and a lease, an ack and a retention DELETE. */
  statements(db: Db): {
    select: (n: number) => unknown[][];
    lease: (seq: number, until: number) => void;
    ack: (seq: number, at: number, finish: number) => void;
    prune: (n: number) => void;
  };
}

const wideColumns =
  'seq, queue, state, priority, attempts, max_attempts, nacks, created_at, available_at, expires_at, until, finish, ' +
  'visibility_ms, backoff_kind, backoff_delay_ms, backoff_max_ms, backoff_jitter, key, errors, result';

const wide: Schema = {
  fill(db) {
    migrate(db, 'floor');
    const insert = db.prepare(
      'INSERT INTO spool_jobs (seq, queue, state, priority, attempts, max_attempts, nacks, created_at, available_at, ' +
        'visibility_ms, backoff_kind, backoff_delay_ms, backoff_max_ms, backoff_jitter, payload) ' +
        "VALUES (?, 'q', 'waiting', 0, 0, 3, 0, ?, ?, 30000, 'exponential', 1000, 60000, 0.5, ?)",
    );
    db.transaction(() => {
      for (let seq = 1; seq <= jobs; seq++) insert.run(seq, seq, seq, payload);
    })();
  },
  statements(db) {
    const select = db
      .prepare(
        `SELECT ${wideColumns}, payload FROM spool_jobs WHERE queue = 'q' AND state = 'waiting' ` +
          'ORDER BY priority DESC, available_at, seq LIMIT ?',
      )
      .raw(true);
    const lease = db.prepare("UPDATE spool_jobs SET state = 'active', attempts = 1, until = ? WHERE seq = ?");
    const ack = db.prepare("UPDATE spool_jobs SET state = 'completed', until = ?, finish = ? WHERE seq = ?");
    const prune = db.prepare(
      'DELETE FROM spool_jobs WHERE seq IN ' +
        "(SELECT seq FROM spool_jobs WHERE queue = 'q' AND state = 'completed' ORDER BY finish LIMIT ?)",
    );
    return {
      select: (n) => select.all(n) as unknown[][],
      lease: (seq, until) => lease.run(until, seq),
      ack: (seq, at, finish) => ack.run(at, finish, seq),
      prune: (n) => prune.run(n),
    };
  },
};

const narrow: Schema = {
  fill(db) {
    db.exec(`
      CREATE TABLE hot (seq INTEGER PRIMARY KEY, queue TEXT NOT NULL, state TEXT NOT NULL, priority INTEGER NOT NULL,
        available_at REAL NOT NULL, until REAL, finish INTEGER, attempts INTEGER NOT NULL);
      CREATE INDEX hot_waiting ON hot (queue, priority DESC, available_at, seq) WHERE state = 'waiting';
      CREATE INDEX hot_active ON hot (queue, until, seq) WHERE state = 'active';
      CREATE INDEX hot_completed ON hot (queue, finish) WHERE state = 'completed';
      CREATE TABLE body (seq INTEGER PRIMARY KEY, max_attempts REAL NOT NULL, nacks INTEGER NOT NULL,
        created_at REAL NOT NULL, expires_at REAL, visibility_ms REAL NOT NULL, backoff_kind TEXT NOT NULL,
        backoff_delay_ms REAL NOT NULL, backoff_max_ms REAL NOT NULL, backoff_jitter REAL NOT NULL, key TEXT,
        errors TEXT, result BLOB, payload BLOB NOT NULL);`);
    const hot = db.prepare("INSERT INTO hot VALUES (?, 'q', 'waiting', 0, ?, NULL, NULL, 0)");
    const body = db.prepare(
      'INSERT INTO body (seq, max_attempts, nacks, created_at, visibility_ms, backoff_kind, backoff_delay_ms, ' +
        "backoff_max_ms, backoff_jitter, payload) VALUES (?, 3, 0, ?, 30000, 'exponential', 1000, 60000, 0.5, ?)",
    );
    db.transaction(() => {
      for (let seq = 1; seq <= jobs; seq++) {
        hot.run(seq, seq);
        body.run(seq, seq, payload);
      }
    })();
  },
  statements(db) {
    const select = db
      .prepare(
        'SELECT h.seq, h.queue, h.state, h.priority, h.attempts, b.max_attempts, b.nacks, b.created_at, ' +
          'h.available_at, b.expires_at, h.until, h.finish, b.visibility_ms, b.backoff_kind, b.backoff_delay_ms, ' +
          'b.backoff_max_ms, b.backoff_jitter, b.key, b.errors, b.result, b.payload FROM hot h JOIN body b ON b.seq = h.seq ' +
          "WHERE h.queue = 'q' AND h.state = 'waiting' ORDER BY h.priority DESC, h.available_at, h.seq LIMIT ?",
      )
      .raw(true);
    const lease = db.prepare("UPDATE hot SET state = 'active', attempts = 1, until = ? WHERE seq = ?");
    const ack = db.prepare("UPDATE hot SET state = 'completed', until = ?, finish = ? WHERE seq = ?");
    const oldest = "SELECT seq FROM hot WHERE queue = 'q' AND state = 'completed' ORDER BY finish LIMIT ?";
    const pruneBodies = db.prepare(`DELETE FROM body WHERE seq IN (${oldest})`);
    const pruneHot = db.prepare(`DELETE FROM hot WHERE seq IN (${oldest})`);
    return {
      select: (n) => select.all(n) as unknown[][],
      lease: (seq, until) => lease.run(until, seq),
      ack: (seq, at, finish) => ack.run(at, finish, seq),
      prune: (n) => {
        pruneBodies.run(n);
        pruneHot.run(n);
      },
    };
  },
};

interface Figures {
  cpuUsPerJob: number;
  /** Wall µs per job of each kind of statement. */
  select: number;
  lease: number;
  ack: number;
  prune: number;
  commit: number;
  framesPerCommit: number;
}

function run(schema: Schema): Figures {
  const dir = mkdtempSync(join(tmpdir(), 'spool-floor-'));
  const path = join(dir, 'floor.db');
  try {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    schema.fill(db);
    db.pragma('wal_checkpoint(TRUNCATE)');
    // Without checkpoints during the run the WAL's size is the frames the commits wrote.
    db.pragma(`wal_autocheckpoint = ${checkpoint}`);
    const s = schema.statements(db);
    const begin = db.prepare('BEGIN IMMEDIATE');
    const commit = db.prepare('COMMIT');
    const spent = { select: 0, lease: 0, ack: 0, prune: 0, commit: 0 };
    const timed = <T>(kind: keyof typeof spent, body: () => T): T => {
      const start = process.hrtime.bigint();
      const result = body();
      spent[kind] += Number(process.hrtime.bigint() - start) / 1000;
      return result;
    };
    let finish = 0;
    let completed = 0;
    let commits = 0;
    let acked: number[] = [];
    const cpu = process.cpuUsage();
    for (let done = 0; done < jobs; done += batch) {
      begin.run();
      const rows = timed('select', () => s.select(batch));
      timed('lease', () => rows.forEach((row) => s.lease(row[0] as number, 2e12)));
      timed('ack', () => acked.forEach((seq) => s.ack(seq, 2e12, finish++)));
      completed += acked.length;
      if (completed > keep) {
        const over = completed - keep;
        timed('prune', () => s.prune(over));
        completed = keep;
      }
      acked = rows.map((row) => row[0] as number);
      timed('commit', () => commit.run());
      commits++;
    }
    const used = process.cpuUsage(cpu);
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    // A WAL frame is a 24-byte header and a page; the file starts with a 32-byte header.
    // Not counted (NaN) while checkpoints move frames out of the WAL.
    const frames = checkpoint === 0 ? (statSync(`${path}-wal`).size - 32) / (pageSize + 24) : NaN;
    db.close();
    const perJob = (us: number): number => us / jobs;
    return {
      cpuUsPerJob: perJob(used.user + used.system),
      select: perJob(spent.select),
      lease: perJob(spent.lease),
      ack: perJob(spent.ack),
      prune: perJob(spent.prune),
      commit: perJob(spent.commit),
      framesPerCommit: frames / commits,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const schemas = { wide, narrow };
const results = new Map<string, Figures[]>(Object.keys(schemas).map((name) => [name, []]));
for (let round = 0; round < runs; round++)
  for (const [name, schema] of Object.entries(schemas)) results.get(name)?.push(run(schema));

console.log(
  `synchronous=${synchronous}, wal_autocheckpoint=${checkpoint}, ${jobs} jobs, ${batch} a commit, ` +
    `median of ${runs} (µs per job)`,
);
for (const [name, figures] of results) {
  const m = (key: keyof Figures): string => median(figures.map((f) => f[key])).toFixed(2);
  console.log(
    `${name.padEnd(7)} cpu ${m('cpuUsPerJob')}  select ${m('select')}  lease ${m('lease')}  ack ${m('ack')}  ` +
      `prune ${m('prune')}  commit ${m('commit')}  frames/commit ${m('framesPerCommit')}`,
  );
}
