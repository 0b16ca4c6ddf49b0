"""`python -m repo_ai` / `./pants run apps/ai -- ...`: the worker and the batch jobs."""

from __future__ import annotations

import threading
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from repo_ai import hold_switch
from repo_ai.config import get_settings
from repo_db.config import start_or_exit
from repo_observability import configure_logging

app = typer.Typer(
    name="repo-ai",
    help=(
        "Assessment intelligence for the platform, on the shared database (repo_db settings: "
        "DATABASE_URL, or the SQLite default).\n\n"
        "worker: claims grading, ability re-estimation and exposure-fit jobs from the database "
        "work queue under a lease (AI_LEASE_SECONDS) and runs them until stopped.\n\n"
        "calibrate: fits the 2PL IRT model to each assessment's graded answers and stores "
        "item parameters with standard errors as a new calibration version, then fits the "
        "adaptive assessments' exposure control.\n\n"
        "fit-exposure: fits and stores the Sympson-Hetter exposure control of adaptive "
        "assessments whose stored fit is missing or stale (a changed limit, an edited bank), "
        "and runs the queued fit jobs.\n\n"
        "grade-pending: grades every free-text answer waiting in `grading` now, then exits.\n\n"
        "simulate: checks calibration, ability estimation and adaptive testing against "
        "simulated learners with known abilities (no database).\n\n"
        "Without a command it runs the worker."
    ),
    invoke_without_command=True,
    add_completion=False,
)
console = Console(stderr=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


# The commands import their machinery (scikit-learn, scipy) when they run, so `--help` is quick.
def _setup() -> None:
    # Unknown environment, SQLite in production, an invalid AI_* value: one line, exit 2 (the
    # same start-up check as the api and the web; the worker needs no throttle store).
    start_or_exit(get_settings, hold_switch.check)
    settings = get_settings()
    configure_logging(level=settings.log_level, json_logs=settings.json_logs)


@app.command()
def worker(
    lease_seconds: Annotated[
        float | None, typer.Option(help="Lease per claimed job (default AI_LEASE_SECONDS=60).")
    ] = None,
    drain: Annotated[
        bool, typer.Option("--drain", help="Exit once no job is due instead of polling.")
    ] = False,
    pause_after_claim: Annotated[
        float, typer.Option(hidden=True, help="Testing: sleep after claiming each job.")
    ] = 0.0,
) -> None:
    """Run the worker: grade free-text answers, re-estimate abilities and fit adaptive
    assessments' exposure control (Ctrl-C stops)."""
    _setup()
    from repo_ai.work import run_exposure_fit_jobs, run_exposure_fits
    from repo_ai.worker import Worker

    settings = get_settings()
    if lease_seconds is not None:
        settings = settings.model_copy(update={"lease_seconds": lease_seconds})
    runner = Worker(settings=settings, pause_after_claim_s=pause_after_claim)
    runner.install_signal_handlers()
    # Exposure fits run in a thread of their own: each takes seconds and must run outside a
    # unit of work, while the worker runs every job inside one (repo_ai.work.run_exposure_fits).
    fits = threading.Thread(
        target=run_exposure_fits,
        args=(None,),
        kwargs={
            "worker": runner.name,
            "stop": runner.stop_event,
            "interval_s": settings.poll_interval_seconds,
        },
        name="exposure-fits",
        daemon=True,
    )
    if not drain:
        fits.start()
    runner.run(drain=drain)
    if drain:  # batch use: the fits queued so far, then exit
        run_exposure_fit_jobs(None, worker=runner.name)
    else:
        fits.join()


@app.command()
def calibrate(
    assessment_id: Annotated[
        list[int] | None, typer.Option("--assessment-id", "-a", help="Only these assessments.")
    ] = None,
    reestimate: Annotated[
        bool, typer.Option(help="Queue ability re-estimates under the new calibration.")
    ] = True,
) -> None:
    """Fit the 2PL model to graded answers; store parameters, standard errors and a version,
    then the exposure control of each adaptive assessment calibrated (after its unit commits)."""
    _setup()
    from repo_ai.work import assessments_to_calibrate, calibrate_assessment, refit_exposure
    from repo_db import unit_of_work

    with unit_of_work(read_only=True) as session:
        ids = assessment_id or assessments_to_calibrate(session)
    table = Table("assessment", "calibration", "learners", "items", "answers", "result")
    with _progress() as progress:
        task = progress.add_task("calibrating", total=len(ids))
        for aid in ids:
            with unit_of_work() as session:
                outcome = calibrate_assessment(session, assessment_id=aid, reestimate=reestimate)
            if outcome.calibration_id is not None:
                # Seconds of simulation, with no transaction open (the calibration is committed).
                refit_exposure(None, assessment_id=aid)
            table.add_row(
                str(aid),
                str(outcome.calibration_id or "-"),
                str(outcome.n_learners),
                str(outcome.n_items),
                str(outcome.n_responses),
                outcome.reason,
            )
            progress.advance(task)
    console.print(table)


@app.command("fit-exposure")
def fit_exposure(
    assessment_id: Annotated[
        list[int] | None, typer.Option("--assessment-id", "-a", help="Only these assessments.")
    ] = None,
) -> None:
    """Fit and store the exposure control of adaptive assessments whose fit is missing or stale,
    then run the queued fit jobs (each fit: seconds, with no transaction open)."""
    _setup()
    from repo_ai.work import adaptive_assessments, refit_exposure, run_exposure_fit_jobs
    from repo_ai.worker import worker_id
    from repo_db import unit_of_work

    with unit_of_work(read_only=True) as session:
        ids = assessment_id or adaptive_assessments(session)
    outcomes = [refit_exposure(None, assessment_id=aid) for aid in ids]
    if not assessment_id:
        outcomes += run_exposure_fit_jobs(None, worker=worker_id())
    table = Table("assessment", "result", "seconds")
    for outcome in outcomes:
        result = outcome.error or ("fitted" if outcome.fitted else "nothing to fit")
        table.add_row(str(outcome.assessment_id), result, f"{outcome.seconds:.1f}")
    console.print(table)
    if any(outcome.error for outcome in outcomes):
        raise typer.Exit(1)


@app.command("grade-pending")
def grade_pending() -> None:
    """Queue every attempt waiting in `grading`, grade them all now, and exit."""
    _setup()
    from sqlalchemy import func, select

    from repo_ai.work import GRADE_ATTEMPT, sweep_grading
    from repo_ai.worker import Worker
    from repo_db import unit_of_work
    from repo_db.models import Job, JobStatus

    with unit_of_work() as session:
        sweep_grading(session)
        total = session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.kind == GRADE_ATTEMPT, Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))
        )
    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("grading attempts", total=total or 0)
        runner = Worker(
            settings=get_settings(),
            kinds=(GRADE_ATTEMPT,),
            on_job_done=lambda _job: progress.advance(task),
        )
        stats = runner.run(drain=True)
    elapsed = time.perf_counter() - started
    console.print(
        f"graded {stats.done} attempts in {elapsed:.1f} s"
        f" ({stats.done / elapsed if elapsed else 0:.1f}/s); failed {stats.failed}"
    )


@app.command()
def simulate(
    learners: Annotated[int, typer.Option(help="Simulated learners.")] = 1000,
    items: Annotated[int, typer.Option(help="Items in the calibration test.")] = 40,
    per_learner: Annotated[int, typer.Option(help="Items each learner answers.")] = 40,
    bank: Annotated[int, typer.Option(help="Item bank size for the adaptive run.")] = 200,
    fixed_length: Annotated[int, typer.Option(help="Length of the fixed form.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Recover known item parameters and abilities; compare adaptive with a fixed form."""
    _setup()
    from repo_ai.simulation import adaptive_vs_fixed, recovery

    with _progress() as progress:
        task = progress.add_task("simulating", total=2)
        rec = recovery(n_learners=learners, n_items=items, per_learner=per_learner, seed=seed)
        progress.advance(task)
        ada = adaptive_vs_fixed(
            n_learners=learners, bank_size=bank, fixed_length=fixed_length, seed=seed
        )
        progress.advance(task)
    table = Table("check", "value")
    table.add_row(
        "learners x items answered", f"{rec.n_learners} x {rec.per_learner} of {rec.n_items}"
    )
    table.add_row("calibration time", f"{rec.seconds:.2f} s ({rec.iterations} EM iterations)")
    table.add_row("difficulty r (truth vs estimate)", f"{rec.difficulty_r:.3f}")
    table.add_row("discrimination r", f"{rec.discrimination_r:.3f}")
    table.add_row("ability r (EAP)", f"{rec.ability_r:.3f} (mean SE {rec.mean_ability_se:.3f})")
    table.add_row("fixed form", f"{ada.fixed_length} items, mean SE {ada.fixed_se:.3f}")
    table.add_row(
        "adaptive to the same SE",
        f"{ada.adaptive_mean_items:.1f} items on average ({100 * ada.share_of_fixed:.0f}% of the "
        f"fixed form), max {ada.adaptive_max_items}, {100 * ada.reached_target:.0f}% reached it",
    )
    table.add_row(
        "ability r adaptive / fixed", f"{ada.adaptive_ability_r:.3f} / {ada.fixed_ability_r:.3f}"
    )
    Console().print(table)


@app.callback()
def _default(ctx: typer.Context) -> None:
    # `./pants run apps/ai` and `python -m repo_ai` with no command run the worker.
    if ctx.invoked_subcommand is None:
        worker(lease_seconds=None, drain=False, pause_after_claim=0.0)


def main() -> None:
    app()
