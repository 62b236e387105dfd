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
  // 10: the verdict of each confirmation (best and default measured again, interleaved): what
  // `report`, `results` and the daemon's status show instead of the exploration's bare ratio. One
  // row per confirmation, numbered per experiment; the last one counts.
  `
  CREATE TABLE comparisons (
    experiment_id     TEXT NOT NULL,
    seq               INTEGER NOT NULL,
    best_config_id    TEXT NOT NULL,
    default_config_id TEXT NOT NULL,
    metric            TEXT NOT NULL,
    direction         TEXT NOT NULL,
    ratio             REAL,
    ci_low            REAL,
    ci_high           REAL,
    p_value           REAL NOT NULL,
    significant       INTEGER NOT NULL,
    n                 INTEGER NOT NULL,
    confidence        REAL NOT NULL,
    looks             INTEGER NOT NULL,
    alpha_per_look    REAL NOT NULL,
    stopped           TEXT NOT NULL,
    error             TEXT,
    samples_json      TEXT NOT NULL,
    measured_at       INTEGER NOT NULL,
    PRIMARY KEY (experiment_id, seq)
  );
  `,
  // 11: a configuration's effective configuration (its Kconfig symbols as the tree's resolver left
  // them): its identity, what the resolution changed, and the configuration it duplicates when
  // that identity was measured already (status 'duplicate': not built or measured again).
  `
  ALTER TABLE configurations ADD COLUMN effective_id TEXT;
  ALTER TABLE configurations ADD COLUMN duplicate_of TEXT;
  ALTER TABLE configurations ADD COLUMN resolution_json TEXT;
  CREATE INDEX configurations_effective ON configurations (experiment_id, effective_id);
  `,
  // 12: dynamic experiments (wayfinder dynamic): one row per run of a variant (a static
  // configuration or a controller) through a workload schedule, and its objective per time window.
  `
  CREATE TABLE dynamic_runs (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    file          TEXT NOT NULL,
    text          TEXT NOT NULL,
    variant       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    params_json   TEXT NOT NULL,
    repeat        INTEGER NOT NULL,
    window_us     INTEGER NOT NULL,
    objective     TEXT NOT NULL,
    loadavg       TEXT NOT NULL,
    summary_json  TEXT NOT NULL,
    started_at    INTEGER NOT NULL
  );
  CREATE INDEX dynamic_runs_name ON dynamic_runs (name, started_at);
  CREATE TABLE dynamic_windows (
    run_id     INTEGER NOT NULL REFERENCES dynamic_runs(id),
    t_us       INTEGER NOT NULL,
    flows      REAL NOT NULL,
    rate       REAL NOT NULL,
    loss       REAL NOT NULL,
    sent       INTEGER NOT NULL,
    received   INTEGER NOT NULL,
    lost       INTEGER NOT NULL,
    dropped    INTEGER NOT NULL,
    p50_us     REAL,
    p90_us     REAL,
    p99_us     REAL,
    p999_us    REAL,
    max_us     REAL,
    knobs_json TEXT NOT NULL,
    PRIMARY KEY (run_id, t_us)
  ) WITHOUT ROWID;
  `,
  // 13: the online controller (wayfinder control): its sessions, every decision with what changed and
  // why, and what it observed each period (signals, knobs in force, objective) for learning again.
  `
  CREATE TABLE control_sessions (
    id            INTEGER PRIMARY KEY,
    policy_file   TEXT NOT NULL,
    config_file   TEXT NOT NULL,
    objective     TEXT,
    direction     TEXT,
    features_json TEXT NOT NULL,
    knobs_json    TEXT NOT NULL,
    period_ms     REAL NOT NULL,
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER,
    end_reason    TEXT
  );
  CREATE TABLE control_decisions (
    session_id    INTEGER NOT NULL REFERENCES control_sessions(id),
    seq           INTEGER NOT NULL,
    time_ms       INTEGER NOT NULL,
    action        TEXT NOT NULL,
    rule          TEXT NOT NULL,
    context       TEXT NOT NULL,
    from_json     TEXT NOT NULL,
    to_json       TEXT NOT NULL,
    wanted_json   TEXT NOT NULL,
    signals_json  TEXT NOT NULL,
    applied_json  TEXT,
    PRIMARY KEY (session_id, seq)
  );
  CREATE TABLE control_observations (
    session_id    INTEGER NOT NULL REFERENCES control_sessions(id),
    seq           INTEGER NOT NULL,
    time_ms       INTEGER NOT NULL,
    signals_json  TEXT NOT NULL,
    knobs_json    TEXT NOT NULL,
    objective     REAL,
    PRIMARY KEY (session_id, seq)
  );
  `,
  // 14: a configuration stopped early (failure 'stopped'): after how many iterations, by what test,
  // below which best. The strategy is told the bound again when a study resumes.
  `ALTER TABLE configurations ADD COLUMN stopped_json TEXT;`,
  // 15: what a build's Kconfig step resolved, where the coordinator could not resolve before
  // building: a configuration that shares the build, or is resumed after it, takes its effective
  // identity from here.
  `ALTER TABLE builds ADD COLUMN resolution_json TEXT;`,
];
