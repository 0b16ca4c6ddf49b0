"""Assessment intelligence: item calibration, ability estimates, grading, recommendations."""
