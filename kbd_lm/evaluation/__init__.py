"""Evaluation and tuning: keyboard metrics, per-kind tables, the adaptive (personal history)
evaluation, the n-gram baseline, keystroke replay, and tuning on validation text."""
