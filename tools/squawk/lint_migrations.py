"""Lint every migration's PostgreSQL SQL with squawk, one revision at a time.

    ./pants run tools/squawk:lint-migrations            # all revisions
    ./pants run tools/squawk:lint-migrations -- 0005    # some revisions

Each revision's upgrade is rendered by Alembic in offline mode (``--sql``, literal SQL for
PostgreSQL, no server needed) and handed to ``squawk`` (the ``squawk-cli`` wheel's binary) with
the project rules in ``tools/squawk/squawk.toml``. An exception a migration accepts is written in
the migration file itself, one comment per rule, with the reason after ``--``::

    # squawk-ignore: require-concurrent-index-creation -- the table is created empty above

A comment without a reason is an error. The exit status is non-zero when any revision has a
finding, so CI (``tools/squawk/test_lint_migrations.py``) fails on a migration that would lock or
break a live database.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from alembic import command
from alembic.script import Script

from repo_db.migrate import alembic_config, script_directory

#: Offline rendering needs a dialect, not a server.
LINT_URL = "postgresql+psycopg://lint@localhost/lint"
CONFIG = Path(__file__).resolve().parent / "squawk.toml"
IGNORE_COMMENT = re.compile(r"^\s*#\s*squawk-ignore:\s*(?P<rules>[^#]*?)\s*(?:--\s*(?P<why>.*))?$")


@dataclass
class Revision:
    revision: str
    down_revision: str | None
    path: Path
    ignored: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def squawk_binary() -> str:
    """The ``squawk`` executable shipped by the ``squawk-cli`` wheel (a data script)."""
    candidates = [
        shutil.which("squawk"),
        str(Path(sys.executable).parent / "squawk"),
        str(Path(sysconfig.get_path("scripts")) / "squawk"),
    ]
    try:
        dist = metadata.distribution("squawk-cli")
        candidates += [str(dist.locate_file(f)) for f in dist.files or [] if f.name == "squawk"]
    except metadata.PackageNotFoundError:
        pass
    for candidate in candidates:
        if candidate and os.path.isfile(candidate):
            if not os.access(candidate, os.X_OK):
                os.chmod(candidate, 0o755)  # noqa: S103 - a wheel's script may lose its x bit
            return candidate
    raise SystemExit(
        "squawk not found: it comes from the squawk-cli requirement (3rdparty/python); "
        f"looked in {[c for c in candidates if c]}"
    )


def revisions() -> list[Revision]:
    scripts: list[Script] = list(reversed(list(script_directory().walk_revisions())))
    out = []
    for script in scripts:
        down = script.down_revision if isinstance(script.down_revision, str) else None
        rev = Revision(script.revision, down, Path(script.path))
        for number, line in enumerate(rev.path.read_text().splitlines(), start=1):
            match = IGNORE_COMMENT.match(line)
            if not match:
                continue
            why = (match.group("why") or "").strip()
            rules = [r.strip() for r in match.group("rules").split(",") if r.strip()]
            if not why or not rules:
                rev.problems.append(
                    f"{rev.path.name}:{number}: a squawk-ignore comment needs rules and a reason "
                    "after '--'"
                )
            for rule in rules:
                rev.ignored[rule] = why
        out.append(rev)
    return out


def offline_sql(rev: Revision) -> str:
    """The PostgreSQL statements of ``rev``'s upgrade alone (Alembic ``upgrade --sql``)."""
    buffer = io.StringIO()
    cfg = alembic_config(LINT_URL)
    cfg.output_buffer = buffer
    span = f"{rev.down_revision}:{rev.revision}" if rev.down_revision else rev.revision
    command.upgrade(cfg, span, sql=True)
    return buffer.getvalue()


def lint(rev: Revision, squawk: str, workdir: Path) -> tuple[int, str]:
    """(exit status, report) of squawk on ``rev``'s SQL with its accepted exceptions."""
    sql_file = workdir / f"{rev.path.stem}.sql"
    sql_file.write_text(offline_sql(rev))
    return lint_sql(sql_file, squawk, sorted(rev.ignored))


def lint_sql(sql_file: Path, squawk: str, ignored: list[str]) -> tuple[int, str]:
    """(exit status, report) of squawk on one SQL file, the project's rules plus ``ignored``."""
    cmd = [squawk, "--config", str(CONFIG), "--reporter", "gcc"]
    if ignored:
        # --exclude replaces the config's excluded_rules: pass the union.
        project = tomllib.loads(CONFIG.read_text()).get("excluded_rules", [])
        cmd.append(f"--exclude={','.join(sorted({*project, *ignored}))}")
    proc = subprocess.run(
        [*cmd, str(sql_file)], capture_output=True, text=True, check=False, cwd=sql_file.parent
    )
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("only", nargs="*", help="revision ids to lint (default: all)")
    parser.add_argument("--show-sql", action="store_true", help="print each revision's SQL")
    args = parser.parse_args(argv)
    squawk = squawk_binary()
    version = subprocess.run([squawk, "--version"], capture_output=True, text=True).stdout.strip()
    failed = 0
    with tempfile.TemporaryDirectory(prefix="squawk-") as tmp:
        for rev in revisions():
            if args.only and rev.revision not in args.only:
                continue
            status, report = lint(rev, squawk, Path(tmp))
            if args.show_sql:
                print((Path(tmp) / f"{rev.path.stem}.sql").read_text())
            accepted = ", ".join(f"{r} ({why})" for r, why in sorted(rev.ignored.items()))
            ok = status == 0 and not rev.problems
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {rev.revision} {rev.path.name}")
            if accepted:
                print(f"     accepted: {accepted}")
            for problem in rev.problems:
                print(f"     {problem}")
            if status != 0:
                print("     " + report.replace("\n", "\n     "))
    print(f"{version}: {failed} revision(s) with findings")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
