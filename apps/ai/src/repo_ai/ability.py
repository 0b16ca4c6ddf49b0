"""Ability (theta) estimation: the maths lives in repo_domain.irt, shared with the learner flow."""

from __future__ import annotations

from repo_domain.irt import AbilityEstimate, ItemParams, estimate_ability, probability_correct

__all__ = ["AbilityEstimate", "ItemParams", "estimate_ability", "probability_correct"]
