"""store_target: which store the black-box HTTP tests run `deepclust serve` on.

Without env DC_TEST_PG_URL a test's database is the SQLite file it names (a path in its
temporary folder). With DC_TEST_PG_URL (a superuser URL of a running PostgreSQL cluster,
tests/tools/pg_cluster.sh) each such path stands for a fresh PostgreSQL database instead,
created on first use and dropped at exit: target(path) is what to pass to --db, so a
server restarted with the same path finds the same database.

connect(path) opens that store for the checks a test makes from the side (counting rows,
planting rows): sqlite3 on SQLite; on PostgreSQL a small stand-in that runs each statement
through psql (postgresql-client), with `?` parameters inlined as literals and rows read
back as JSON (ints, floats, text; a bytea as bytes).
env(path) gives the server's environment: on PostgreSQL its upload spool (TMPDIR) is the
folder of path, where the tests look for leftover upload files; spool_prefix(path, pid)
names a server's upload files. skipped(what, why) prints the line a test gives for a
check that cannot apply here (never counted as passed).
"""
import atexit
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys

PG_URL = os.environ.get("DC_TEST_PG_URL") or None
_dbs = {}  # path -> database URL


def is_pg():
    return PG_URL is not None


def backend():
    return "postgresql" if PG_URL else "sqlite"


def _psql(url, sql, check=True):
    r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                       capture_output=True, text=True, timeout=120)
    if check and r.returncode != 0:
        raise RuntimeError(f"psql failed ({sql[:200]}): {r.stderr.strip()}")
    return r.stdout


def _with_db(url, name):
    base = url.split("?", 1)[0]
    return base.rsplit("/", 1)[0] + "/" + name + url[len(base):]


def target(path):
    """The --db value for a test's database path (the path itself on SQLite)."""
    if not PG_URL:
        return path
    if path not in _dbs:
        # unique across concurrent tests and runs: the file name, a hash of the path, our pid
        stem = re.sub(r"[^a-z0-9_]", "_", os.path.basename(path).lower())[:24]
        h = hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:10]
        name = f"dc_{stem}_{h}_{os.getpid()}"
        _psql(PG_URL, f'CREATE DATABASE "{name}"')
        _dbs[path] = _with_db(PG_URL, name)
    return _dbs[path]


def env(path, base=None):
    """The environment for a server on path: on PostgreSQL its upload spool (TMPDIR) is
    the folder of path, where the test looks for leftover upload files."""
    e = dict(os.environ if base is None else base)
    if PG_URL:
        e["TMPDIR"] = os.path.dirname(os.path.abspath(path))
    return e


def spool_prefix(path, pid):
    """The name prefix of the upload files of server process pid on path."""
    if PG_URL:
        return os.path.join(os.path.dirname(os.path.abspath(path)), "deepclust-%d" % pid)
    return path


@atexit.register
def _drop_all():
    for url in _dbs.values():
        name = url.split("?", 1)[0].rsplit("/", 1)[1]
        _psql(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', check=False)
    _dbs.clear()


def skipped(what, why):
    print(f"SKIPPED on {backend()}: {what} ({why})", file=sys.stderr)


def _literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (bytes, bytearray)):
        return "'\\x%s'::bytea" % bytes(v).hex()
    return "'" + str(v).replace("'", "''") + "'"


def _value(v):
    """A bytea comes as "\\x<hex>" text (no text column of ours looks like that)."""
    if isinstance(v, str) and v.startswith("\\x") and re.fullmatch(r"\\x(?:[0-9a-f]{2})*", v):
        return bytes.fromhex(v[2:])
    return v


class _Rows:
    def __init__(self, rows):
        self.rows = rows

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self):
        return self.rows

    def __iter__(self):
        return iter(self.rows)


class PgConn:
    """The part of sqlite3.Connection the tests use, over psql; autocommit."""

    def __init__(self, url):
        self.url = url

    def execute(self, sql, params=()):
        parts = sql.split("?")
        if len(parts) != len(params) + 1:
            raise ValueError(f"{len(params)} parameters for {len(parts) - 1} placeholders: {sql}")
        q = parts[0] + "".join(_literal(p) + s for p, s in zip(params, parts[1:]))
        if not re.match(r"\s*(SELECT|WITH)\b", q, re.I):
            _psql(self.url, q)
            return _Rows([])
        out = _psql(self.url, f"SELECT coalesce(json_agg(t), '[]') FROM ({q}) t").strip()
        rows = json.loads(out, object_pairs_hook=lambda kv: tuple(_value(v) for _, v in kv))
        return _Rows(list(rows))

    def commit(self):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def connect(path, ro=False, timeout=10):
    """The test's store from the side: sqlite3 (read-only with ro) or psql."""
    if PG_URL:
        if path not in _dbs:
            raise RuntimeError(f"no PostgreSQL database for {path} (no server ran on it)")
        return PgConn(_dbs[path])
    if ro:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
    return sqlite3.connect(path, timeout=timeout)
