"""Computerized adaptive testing on an attempt: which question a learner gets next, and when to
stop (the rules themselves are pure functions in ``repo_domain.cat``).

For an assessment marked ``adaptive`` the next question is the most informative one at the
learner's current EAP ability estimate (from this attempt's scored answers), among the questions
the attempt may be served under exposure control, using the item parameters that apps/ai
calibrated (uncalibrated questions count as b=0, a=1). The test stops when the estimate's
standard error falls to the assessment's target (once the minimum length is reached), at the
maximum length, or when no question is left to serve (``Reason.EXPOSURE_LIMIT_REACHED``: every
question left is at its exposure cap). Other assessments have no order: learners answer their
questions as they like. The rule that an adaptive attempt takes only the served question, once,
is enforced by ``attempts.save_response``; ``attempts.next_question`` is the learner's read model.

Exposure control's Sympson-Hetter parameters are fitted by the AI worker and stored
(``repo_db.exposure``); a serve only reads them (``exposure_control``). While no fit is stored
for the bank and policy (a new adaptive assessment, the first attempt after a recalibration that
was not fitted, a changed limit) attempts are served under the hard cap alone
(``repo_domain.cat.provisional_parameters``: why, measured, in its module) and the serve queues
a ``FIT_EXPOSURE`` job; the seconds of fitting never run inside a request's transaction.

A question is served in a writing unit (``serve``: when the attempt starts and when its previous
answer is saved): chosen, claimed under the hard exposure cap (``repo_domain.cat.exposure_cap``
on ``repo_db.exposure``'s counters) and persisted on the attempt. Reading (``plan``) never
chooses again, so a reload or a second tab shows the same question and claims nothing.

The limits (``policy_for``), each NULL column meaning its default:

* target SE: ``DEFAULT_TARGET_SE``;
* minimum length: ``DEFAULT_MIN_LENGTH`` (1);
* maximum length: ``default_max_length``: min(questions, ceil(2 (1/SE^2 - 1) / I)), where I is
  the bank's mean peak item information mean(a^2)/4. The EAP posterior variance is about
  1 / (1 + test information), so a test of perfectly targeted average items reaches the target
  after (1/SE^2 - 1)/I questions; an adaptive test is off target early on and at the extremes of
  the bank, and the maximum allows twice that. (120 simulated items, SE 0.35: 37.)
* maximum exposure rate r: ``DEFAULT_MAX_EXPOSURE`` (0.3). Exposure control (Sympson-Hetter to
  spread exposure, then the hard cap: ``repo_domain.cat``) applies when r x questions >=
  ``EXPOSURE_MIN_POOL`` and the minimum length: a learner's eligible questions number about
  r x questions at least, and a smaller pool could not measure anyone (a 6-question quiz at
  r=0.3 would leave under 2). Below that, and at r=1, every learner gets the most informative
  question.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from repo_db import exposure, jobs
from repo_db.models import Assessment, Attempt, AttemptStatus, ItemParameter, Question, Response
from repo_domain import results
from repo_domain.assessments import AssessmentView, load_view
from repo_domain.cat import (
    Bank,
    Policy,
    Reason,
    exposure_cap,
    fit_key,
    may_serve,
    next_item,
    provisional_parameters,
)
from repo_domain.irt import UNCALIBRATED_DIFFICULTY, ItemParams

#: Stop an adaptive test once SE(theta) is at most this (about a 20-item fixed form's precision).
DEFAULT_TARGET_SE = 0.35
DEFAULT_MIN_LENGTH = 1
#: The maximum length allows this many times the length perfectly targeted items would need.
LENGTH_ALLOWANCE = 2.0
#: No question is served to more than this share of learners (a hard cap: see repo_domain.cat).
DEFAULT_MAX_EXPOSURE = 0.3
#: Exposure control needs r x questions to be at least this (and the minimum length).
EXPOSURE_MIN_POOL = 10
#: The job that fits and stores an assessment's Sympson-Hetter parameters (the AI worker runs
#: it, outside any transaction: ``repo_ai.work.refit_exposure``); subject: the assessment id.
FIT_EXPOSURE = "fit_exposure"


@dataclass(frozen=True, slots=True)
class Plan:
    """The question to serve next (None when done) and why. Internal: the ability estimate
    it came from stays in the domain (a learner would read their right and wrong answers off it)."""

    question_id: int | None
    reason: Reason
    n_answered: int
    n_questions: int


def load_item_params(session: Session, question_ids: Sequence[int]) -> dict[int, ItemParams]:
    """Calibrated parameters where they exist, the uncalibrated defaults elsewhere."""
    params = {qid: ItemParams(difficulty=UNCALIBRATED_DIFFICULTY) for qid in question_ids}
    if question_ids:
        for row in session.scalars(
            select(ItemParameter).where(ItemParameter.question_id.in_(list(question_ids)))
        ):
            params[row.question_id] = ItemParams(row.difficulty, row.discrimination, row.guessing)
    return params


def default_max_length(bank: Bank, *, target_se: float) -> int:
    """min(questions, ceil(2 (1/SE^2 - 1) / mean(a^2/4))): see the module docstring."""
    if len(bank) == 0:
        return 1
    peak_information = float((bank.discrimination**2).mean()) / 4.0
    needed = (1.0 / target_se**2 - 1.0) / peak_information
    return max(1, min(len(bank), math.ceil(LENGTH_ALLOWANCE * needed)))


def policy_for(assessment: Assessment, bank: Bank) -> Policy:
    """The limits this assessment's adaptive test runs under (defaults for NULL settings)."""
    target_se = assessment.adaptive_target_se or DEFAULT_TARGET_SE
    min_length = assessment.adaptive_min_length or DEFAULT_MIN_LENGTH
    max_length = assessment.adaptive_max_length or max(
        min_length, default_max_length(bank, target_se=target_se)
    )
    rate = assessment.adaptive_max_exposure or DEFAULT_MAX_EXPOSURE
    pool = rate * len(bank)
    controlled = rate < 1.0 and pool >= max(EXPOSURE_MIN_POOL, min_length)
    return Policy(
        target_se=target_se,
        min_length=min_length,
        max_length=max_length,
        max_exposure=rate if controlled else None,
    )


def current_policy(session: Session, *, assessment: Assessment) -> Policy:
    """The limits the assessment's next attempt would run under, for authoring pages (no
    permission check: callers have done it)."""
    ids = list(session.scalars(select(Question.id).where(Question.assessment_id == assessment.id)))
    return policy_for(assessment, Bank.from_params(load_item_params(session, ids)))


@dataclass(frozen=True)
class ExposureControl:
    """The Sympson-Hetter parameters an assessment's attempts are served with now: the stored
    fit (``fitted``) or the provisional ones while none is stored for ``key``; ``k`` None: no
    exposure control."""

    k: NDArray[np.float64] | None
    key: str
    fitted: bool


def exposure_control(
    session: Session, *, assessment_id: int, bank: Bank, policy: Policy
) -> ExposureControl:
    """The stored K_i when a fit for this bank and policy is stored, else the provisional K_i =
    1 (reading only: seconds of fitting never run here)."""
    key = fit_key(bank, policy)
    if policy.max_exposure is None:
        return ExposureControl(None, key, fitted=True)
    stored = exposure.stored_fit(session, assessment_id=assessment_id, fit_key=key)
    if stored is not None and len(stored) == len(bank):
        return ExposureControl(np.array(stored, dtype=np.float64), key, fitted=True)
    return ExposureControl(provisional_parameters(bank, policy), key, fitted=False)


@dataclass(frozen=True)
class ExposureFitInputs:
    """What the AI worker fits for an assessment: its bank and policy as a serve sees them."""

    assessment_id: int
    bank: Bank
    policy: Policy
    control: ExposureControl


def exposure_fit_inputs(session: Session, *, assessment_id: int) -> ExposureFitInputs | None:
    """The bank and policy of an adaptive assessment under exposure control (None otherwise:
    nothing to fit), with the parameters served now."""
    assessment = session.get(Assessment, assessment_id)
    if assessment is None or not assessment.adaptive:
        return None
    ids = list(session.scalars(select(Question.id).where(Question.assessment_id == assessment_id)))
    bank = Bank.from_params(load_item_params(session, ids))
    policy = policy_for(assessment, bank)
    if policy.max_exposure is None:
        return None
    control = exposure_control(session, assessment_id=assessment_id, bank=bank, policy=policy)
    return ExposureFitInputs(assessment_id, bank, policy, control)


def scored_answers(view: AssessmentView, responses: Mapping[int, Response]) -> dict[int, bool]:
    """Question id -> correct, for the answers that have a score already: objective ones are
    scored as the result will score them (repo_domain.results), free text once graded."""
    scored: dict[int, bool] = {}
    for question in view.questions:
        response = responses.get(question.id)
        if response is None:
            continue
        score = results.score_question(question, view.options[question.id], response)
        if score.is_correct is not None:
            scored[question.id] = score.is_correct
    return scored


def _responses(session: Session, attempt: Attempt) -> dict[int, Response]:
    return {
        r.question_id: r
        for r in session.scalars(select(Response).where(Response.attempt_id == attempt.id))
    }


def _view(session: Session, attempt: Attempt, view: AssessmentView | None) -> AssessmentView:
    if view is not None:
        return view
    assessment = session.get(Assessment, attempt.assessment_id)
    assert assessment is not None  # attempts.assessment_id is a foreign key
    return load_view(session, assessment=assessment)


def _choose(
    session: Session,
    *,
    attempt: Attempt,
    view: AssessmentView,
    responses: Mapping[int, Response],
    claiming: bool,
) -> tuple[int | None, Reason]:
    """``repo_domain.cat.next_item`` on the attempt; ``claiming``: each candidate is claimed
    under the exposure cap (``repo_db.exposure.claim``) until one fits; else the candidate a
    claim would get now, claiming nothing."""
    bank = Bank.from_params(load_item_params(session, [q.id for q in view.questions]))
    policy = policy_for(view.assessment, bank)
    index = {qid: i for i, qid in enumerate(bank.ids)}
    scored = scored_answers(view, responses)
    cap = exposure_cap(
        policy.max_exposure, exposure.started(session, assessment_id=attempt.assessment_id)
    )
    control = exposure_control(
        session, assessment_id=attempt.assessment_id, bank=bank, policy=policy
    )
    if claiming and not control.fitted:
        # Queued, not run: a queued or running fit stays as it is (one job per assessment).
        jobs.enqueue(session, kind=FIT_EXPOSURE, subject_id=attempt.assessment_id)
    if claiming:

        def claim(i: int) -> bool:
            return exposure.claim(session, question_id=bank.ids[i], cap=cap)

    else:  # a preview: what a claim would allow now, counting nothing
        served = exposure.served(session, question_ids=bank.ids)

        def claim(i: int) -> bool:
            return may_serve(served[bank.ids[i]], cap)

    chosen, reason = next_item(
        bank,
        asked=[index[qid] for qid in responses if qid in index],
        scored={index[qid]: right for qid, right in scored.items()},
        policy=policy,
        k=control.k,
        key=(attempt.id,),
        claim=claim,
    )
    return (None if chosen is None else bank.ids[chosen]), reason


def serve(session: Session, *, attempt: Attempt, view: AssessmentView | None = None) -> Plan:
    """Choose the question an adaptive ``attempt`` is served next, claim it under the exposure
    cap and persist it on the attempt (``served_question_id``, ``served_reason``), or persist
    why the test stops. Runs in the writing unit that started the attempt or saved its previous
    answer, so each question is claimed once per attempt; ``plan`` reads the result back."""
    view = _view(session, attempt, view)
    responses = _responses(session, attempt)
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return Plan(None, Reason.SUBMITTED, len(responses), len(view.questions))
    chosen, reason = _choose(
        session, attempt=attempt, view=view, responses=responses, claiming=True
    )
    attempt.served_question_id = chosen
    attempt.served_reason = reason
    session.flush()
    return Plan(chosen, reason, len(responses), len(view.questions))


def plan(session: Session, *, attempt: Attempt, view: AssessmentView | None = None) -> Plan:
    """What an adaptive ``attempt`` serves now (no permission check: callers have done it): the
    question ``serve`` persisted while it is unanswered, or why the test stopped. Reading only:
    a reload or a second tab gets the same question and claims nothing. An attempt with nothing
    persisted (started before migration 0010, or its question deleted) gets a preview of what
    ``serve`` would choose, claimed by ``save_response`` when it is answered."""
    view = _view(session, attempt, view)
    responses = _responses(session, attempt)

    def state(question_id: int | None, reason: Reason) -> Plan:
        return Plan(question_id, reason, len(responses), len(view.questions))

    if attempt.status != AttemptStatus.IN_PROGRESS:
        return state(None, Reason.SUBMITTED)
    if attempt.served_reason is not None:
        reason = Reason(attempt.served_reason)
        if reason != Reason.NEXT:
            return state(None, reason)
        served = attempt.served_question_id
        if served not in responses and any(q.id == served for q in view.questions):
            return state(served, reason)
    return state(*_choose(session, attempt=attempt, view=view, responses=responses, claiming=False))


__all__ = [
    "DEFAULT_MAX_EXPOSURE",
    "DEFAULT_MIN_LENGTH",
    "DEFAULT_TARGET_SE",
    "EXPOSURE_MIN_POOL",
    "ExposureControl",
    "ExposureFitInputs",
    "FIT_EXPOSURE",
    "Plan",
    "Reason",
    "current_policy",
    "default_max_length",
    "exposure_control",
    "exposure_fit_inputs",
    "load_item_params",
    "plan",
    "policy_for",
    "scored_answers",
    "serve",
]
