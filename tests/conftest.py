"""Shared test set-up: backends raise instead of reporting 'could not be decided'."""
import os

os.environ.setdefault("DISTILLPROOF_STRICT", "1")
