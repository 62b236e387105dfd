// The results database's schema, one migration per version; PRAGMA user_version records how far
// a database has come, so an older work directory is brought forward when it is opened.

export const MIGRATIONS: string[] = [
  `
  CREATE TABLE experiments (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    file          TEXT NOT NULL,
    text          TEXT NOT NULL,
    hash          TEXT NOT NULL,
    format        TEXT NOT NULL,
    space_size    TEXT NOT NULL,
    host_json     TEXT,
    state         TEXT NOT NULL DEFAULT 'created',
    strategy      TEXT NOT NULL,
    strategy_json TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
  );
  CREATE TABLE configurations (
    experiment_id TEXT NOT NULL REFERENCES experiments(id),
    config_id     TEXT NOT NULL,
    build_id      TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    params_json   TEXT NOT NULL,
    is_default    INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'pending',
    failure       TEXT,
    error         TEXT,
    objective     REAL,
    summary_json  TEXT,
    created_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    PRIMARY KEY (experiment_id, config_id)
  );
  CREATE TABLE builds (
    experiment_id TEXT NOT NULL REFERENCES experiments(id),
    build_id      TEXT NOT NULL,
    status        TEXT NOT NULL,
    error         TEXT,
    duration_ms   INTEGER,
    host          TEXT,
    started_at    INTEGER,
    finished_at   INTEGER,
    PRIMARY KEY (experiment_id, build_id)
  );
  CREATE TABLE runs (
    experiment_id TEXT NOT NULL REFERENCES experiments(id),
    config_id     TEXT NOT NULL,
    test          TEXT NOT NULL,
    iteration     INTEGER NOT NULL,
    status        TEXT NOT NULL,
    failure       TEXT,
    error         TEXT,
    metrics_json  TEXT NOT NULL,
    duration_ms   INTEGER NOT NULL,
    attempts      INTEGER NOT NULL,
    host          TEXT NOT NULL,
    placement_json TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    stored_at     INTEGER NOT NULL,
    PRIMARY KEY (experiment_id, config_id, test, iteration)
  );
  CREATE INDEX configurations_status ON configurations (experiment_id, status);
  `,
  // Which strategy asked for a configuration, so a report can draw each strategy's progress.
  `ALTER TABLE configurations ADD COLUMN strategy TEXT;`,
  // 3: each run's placement in columns of its own (also kept whole in placement_json), so results can
  // be filtered and compared by where and how isolated they ran.
  `
  ALTER TABLE runs ADD COLUMN cpus TEXT;
  ALTER TABLE runs ADD COLUMN isolation TEXT;
  ALTER TABLE runs ADD COLUMN l3_mask TEXT;
  ALTER TABLE runs ADD COLUMN mb_percent INTEGER;
  ALTER TABLE runs ADD COLUMN cpu_isolation_only INTEGER;
  UPDATE runs SET
    cpus = (SELECT group_concat(value, ',') FROM json_each(runs.placement_json, '$.cpus')),
    isolation = json_extract(placement_json, '$.isolation'),
    l3_mask = json_extract(placement_json, '$.l3Mask'),
    mb_percent = json_extract(placement_json, '$.mbPercent'),
    cpu_isolation_only = json_extract(placement_json, '$.cpuIsolationOnly');
  `,
  // The daemon's queue of submitted experiments, and which worker holds each build's artifacts.
  `
  ALTER TABLE builds ADD COLUMN worker TEXT;
  CREATE TABLE submissions (
    experiment_id TEXT PRIMARY KEY,
    seq           INTEGER NOT NULL,
    priority      INTEGER NOT NULL DEFAULT 0,
    pool          TEXT NOT NULL,
    file          TEXT NOT NULL,
    text          TEXT NOT NULL,
    options_json  TEXT NOT NULL,
    state         TEXT NOT NULL,
    error         TEXT,
    submitted_at  INTEGER NOT NULL,
    started_at    INTEGER,
    finished_at   INTEGER
  );
  `,
  // 5: configurations in asking order without a scan: the next sequence number is read per job.
  `CREATE INDEX configurations_seq ON configurations (experiment_id, seq);`,
  // 6: the strategy's state is saved per result. Apart from the experiment's row (which holds the
  // experiment file) and with the configurations it has seen as rows of their own, a save writes
  // what changed instead of everything seen so far.
  `
  CREATE TABLE strategy_states (
    experiment_id TEXT PRIMARY KEY REFERENCES experiments(id),
    json          TEXT NOT NULL
  );
  CREATE TABLE strategy_seen (
    experiment_id TEXT NOT NULL,
    key           TEXT NOT NULL,
    PRIMARY KEY (experiment_id, key)
  ) WITHOUT ROWID;
  INSERT INTO strategy_states SELECT id, json_remove(strategy_json, '$.seen') FROM experiments WHERE strategy_json IS NOT NULL;
  INSERT OR IGNORE INTO strategy_seen SELECT e.id, j.value FROM experiments e, json_each(e.strategy_json, '$.seen') j WHERE e.strategy_json IS NOT NULL;
  UPDATE experiments SET strategy_json = NULL;
  `,
  // 7: why an experiment stopped (an infrastructure failure that persisted), and how often each
  // piece of work was queued again after an infrastructure failure (its queue identity depends on it).
  `
  ALTER TABLE experiments ADD COLUMN error TEXT;
  CREATE TABLE work_retries (
    experiment_id TEXT NOT NULL,
    key           TEXT NOT NULL,
    count         INTEGER NOT NULL,
    PRIMARY KEY (experiment_id, key)
  ) WITHOUT ROWID;
  `,
  // 8: what each run used: CPU time, peak memory and where the figures come from (cgroup v1/v2, rusage).
  `
  ALTER TABLE runs ADD COLUMN cpu_ms REAL;
  ALTER TABLE runs ADD COLUMN peak_memory_bytes INTEGER;
  ALTER TABLE runs ADD COLUMN usage_source TEXT;
  `,
  // 9: extra runs of a finished configuration (the best and the default measured again, interleaved,
  // to confirm the best; the default measured again to watch for drift), kept apart from its own runs.
  `ALTER TABLE runs ADD COLUMN extra TEXT;`,
  // 10: a configuration stopped early (failure 'stopped'): after how many iterations, by what test,
  // below which best. The strategy is told the bound again when a study resumes.
  `ALTER TABLE configurations ADD COLUMN stopped_json TEXT;`,
];
