"""Counts the pages (write-ahead-log frames) one ingest commit writes into SQLite, and the rate of a
writer that does nothing else, for two layouts of the observations' unique index. Replays the ingest
write's pattern with Python's sqlite3 (the same library the server links on Debian): 100 traces of 5
observations per transaction, random trace and observation ids, 500 users, 2,000 sessions.

    python3 bench/ingest/pages.py DB [--traces 100000] [--layout key|id|both]

DB is a Tern SQLite database whose traces and observations tables give the schema (for example the
`tern.sqlite` that `tern keys create --data-dir DIR` makes); it is only read. `key` is today's layout
(observations unique by (trace_key, id), migration 0011); `id` rebuilds the one before it (unique by
(project_id, trace_id, id)). For each layout: observations/s per 10,000 traces as the tables grow, and
log frames per commit measured over the last 20 commits (the log is not checkpointed meanwhile).
"""
import argparse
import os
import random
import sqlite3
import tempfile
import time
import uuid


def schema_of(path, layout):
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = source.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name IN ('traces', 'observations') AND sql IS NOT NULL "
        "ORDER BY type DESC, name").fetchall()
    text = ";\n".join(r[0] for r in rows) + ";"
    text = text.replace("REFERENCES projects(id) ON DELETE CASCADE", "")
    if "UNIQUE (trace_key, id)" not in text:
        raise SystemExit("this database predates migration 0011: open it with today's tern first")
    if layout == "id":
        text = text.replace("trace_key INTEGER NOT NULL,\n    UNIQUE (trace_key, id)", "trace_key INTEGER NOT NULL,\n    UNIQUE (project_id, trace_id, id)")
    return text


def run(schema, layout, total):
    directory = tempfile.mkdtemp(prefix="tern-pages-")
    path = os.path.join(directory, "replay.sqlite")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA cache_size = -32768")
    db.executescript(schema)
    project = str(uuid.uuid4())
    columns = ("id, trace_id, project_id, parent_id, type, name, start_time, end_time, model, provider, model_parameters, "
               "input, output, usage_input, usage_output, cost, metadata, trace_key")
    observation_sql = f"INSERT INTO observations ({columns}) VALUES ({','.join('?' * 18)}) ON CONFLICT DO NOTHING"
    trace_sql = """
        INSERT INTO traces (trace_key, id, project_id, name, user_id, session_id, tags, metadata, release, environment, input, output,
                            start_time, end_time, task, language, domain, observation_count, input_tokens, output_tokens, total_cost, model)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
        ON CONFLICT (project_id, id) DO UPDATE SET observation_count = traces.observation_count + excluded.observation_count
        RETURNING observation_count"""
    text = '[{"role":"user","content":"How do I reset my password on the mobile app?"}]'
    base = 1_800_000_000_000_000
    written, started, last, rates, frames_from = 0, time.time(), time.time(), [], None
    while written < total:
        if written == total - 2_000:  # the last 20 commits: log frames counted from an empty log
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("PRAGMA wal_autocheckpoint = 0")
            frames_from = os.path.getsize(path + "-wal")
        db.execute("BEGIN IMMEDIATE")
        key = db.execute("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'traces'), 0)").fetchone()[0]
        for _ in range(100):
            key += 1
            trace_id, root = uuid.uuid4().hex, uuid.uuid4().hex[:16]
            start = base + written * 250
            for s in range(5):
                observation_id = root if s == 0 else uuid.uuid4().hex[:16]
                db.execute(observation_sql, (
                    observation_id, trace_id, project, None if s == 0 else root, "generation", "llm-call", start + s, start + 400_000,
                    "gpt-4o-mini", "openai", '{"temperature":0.2}', text, "Open Settings, then Security, then Reset password.",
                    300 + written % 40, 40 + s, 0.0001 * (written % 40), '{"attempt":1}', key))
            db.execute(trace_sql, (
                key, trace_id, project, "chat-turn", f"user-{written % 500}", f"sess-{random.randrange(2000)}", '["web","bench"]',
                '{"task":"chat"}', "2026.11.3", "production", "How do I reset my password on the mobile app?", "Open Settings.", start,
                start + random.randrange(500_000, 5_000_000), "chat", "en", "support", 5, 1_680, 400, 0.0004 * (written % 40),
                "gpt-4o-mini")).fetchall()
            written += 1
        db.execute("COMMIT")
        if written % 10_000 == 0:
            now = time.time()
            rates.append(round(50_000 / (now - last)))
            last = now
    frames = (os.path.getsize(path + "-wal") - frames_from) / (db.execute("PRAGMA page_size").fetchone()[0] + 24) / 20
    elapsed = time.time() - started
    db.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    os.rmdir(directory)
    print(f"{layout}: {total * 5 / elapsed:,.0f} observations/s over {total:,} traces; per 10,000 traces: "
          f"{', '.join(f'{r:,}' for r in rates)}; log frames per 100-trace commit at the end: {frames:,.0f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("db")
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--layout", choices=["key", "id", "both"], default="both")
    args = parser.parse_args()
    total = max(10_000, args.traces // 100 * 100)
    for layout in (["id", "key"] if args.layout == "both" else [args.layout]):
        run(schema_of(args.db, layout), layout, total)


if __name__ == "__main__":
    main()
