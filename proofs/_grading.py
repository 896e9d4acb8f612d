"""Grading one answer: bounded in size and time, never executed, never a crash.

:func:`check` reads the answer (:mod:`._grading_answers`: the whitelisting parser, at
most :data:`~._grading_answers.MAX_ANSWER` characters), gets the reference of the
student's variant (:mod:`._grading_reference`, cached), and runs the checker of the
exercise's kind (:mod:`._grading_checks`) under a wall-clock limit: ``SIGALRM`` via
``signal.setitimer`` in the main thread (Z3 queries have their own timeouts, and the
parser's limits keep every number small, so no single step runs away).  Off the main
thread there is no alarm; the solver timeouts and parser limits still hold.

Whatever happens -- an unreadable answer, a timeout, a backend error -- the result is
a :class:`Grade` with a score (0 for that answer) and a message for the student.
"""
from __future__ import annotations

import contextlib
import signal
import threading
import time
from dataclasses import dataclass, field

__all__ = ["Grade", "check", "deadline", "TimeLimit", "TIME_LIMIT", "STATUSES"]

TIME_LIMIT = 20.0          # seconds per answer
SELF_CHECKING = ("counterexample", "ratio")   # kinds whose answers need no reference
STATUSES = ("correct", "partial", "incorrect", "invalid", "timeout", "error")


class TimeLimit(BaseException):
    """Raised by the alarm; a ``BaseException`` so no ``except Exception`` swallows it."""


@dataclass(frozen=True)
class Grade:
    """The result of one answer: ``score`` of ``max_score``; ``status`` one of
    :data:`STATUSES`; ``feedback`` lines for the student; ``variant`` the label of
    the student's variant; ``reference`` the reference answer (for teachers)."""
    exercise: str
    student: str
    variant: str
    score: float
    max_score: float
    status: str
    feedback: tuple[str, ...] = ()
    reference: str | None = None
    seconds: float = 0.0
    title: str = field(default="", compare=False)

    @property
    def fraction(self) -> float:
        return self.score / self.max_score if self.max_score else 0.0

    def text(self) -> str:
        lines = [f"{self.exercise} ({self.student}, variant {self.variant}): "
                 f"{self.score:g}/{self.max_score:g} — {self.status}"]
        lines += [f"  {line}" for line in self.feedback]
        return "\n".join(lines)

    def to_json(self, *, with_reference: bool = False) -> dict:
        out = {"exercise": self.exercise, "title": self.title, "student": self.student,
               "variant": self.variant, "score": self.score, "max_score": self.max_score,
               "status": self.status, "feedback": list(self.feedback),
               "seconds": round(self.seconds, 3)}
        if with_reference:
            out["reference"] = self.reference
        return out


@contextlib.contextmanager
def deadline(seconds: float):
    """Raise :class:`TimeLimit` in the block after ``seconds`` (main thread only); an
    outer timer is restored with what remains of it."""
    usable = threading.current_thread() is threading.main_thread() and hasattr(
        signal, "setitimer")
    if not usable or not seconds or seconds <= 0:
        yield
        return

    def on_alarm(signum, frame):
        raise TimeLimit()

    outer = signal.getitimer(signal.ITIMER_REAL)[0]
    start = time.monotonic()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds if not outer else min(seconds, outer))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL,
                             max(outer - (time.monotonic() - start), 0.001))


def _grade(ex, student, variant, score, status, feedback, ref=None, start=0.0) -> Grade:
    score = max(0.0, min(1.0, float(score))) * ex.points if ex is not None else 0.0
    return Grade(ex.id if ex is not None else "?", student, variant, round(score, 4),
                 ex.points if ex is not None else 0.0, status, tuple(feedback), ref,
                 time.monotonic() - start, ex.title if ex is not None else "")


def check(exercise, student: str, answer, *, time_limit: float = TIME_LIMIT,
          extra_dirs=()) -> Grade:
    """Grade ``answer`` (untrusted text) of ``student`` to ``exercise`` (an
    :class:`~.exercise.Exercise` or its id).  Never raises for a bad answer; raises
    :class:`~.exercise.ExerciseError` only for an unknown exercise or a bad student id."""
    from . import _grading_answers as ans
    from ._grading_checks import CHECKERS
    from ._grading_reference import reference
    from .exercise import Exercise, get_exercise, variant_for
    start = time.monotonic()
    ex = exercise if isinstance(exercise, Exercise) else get_exercise(exercise, extra_dirs)
    variant = variant_for(ex, student)
    student = student.strip()
    try:
        text = ans.clean(answer)
    except ans.AnswerError as exc:
        return _grade(ex, student, variant.label, 0, "invalid", [str(exc)], start=start)
    try:
        # a witness is checked on its own: no reference needed (computed only on demand)
        ref = reference(variant) if ex.kind not in SELF_CHECKING else None
    except Exception as exc:      # noqa: BLE001 -- the teacher's side: say so, grade nothing
        return _grade(ex, student, variant.label, 0, "error",
                      [f"the reference answer of this variant could not be computed "
                       f"({type(exc).__name__}: {str(exc)[:200]}); please tell your teacher"],
                      start=start)
    if ref is not None and ref.answer is None:
        return _grade(ex, student, variant.label, 0, "error",
                      [f"this variant has no reference answer ({ref.reason}); please tell "
                       "your teacher"], start=start)
    try:
        with deadline(time_limit):
            fraction, feedback = CHECKERS[ex.kind](variant, ref, text)
    except TimeLimit:
        return _grade(ex, student, variant.label, 0, "timeout",
                      [f"checking your answer took longer than {time_limit:g} s, so it was "
                       "not graded; write it more simply"], _answer(ref), start)
    except ans.AnswerError as exc:
        return _grade(ex, student, variant.label, 0, "invalid", [str(exc)], _answer(ref), start)
    except (RecursionError, MemoryError, OverflowError):
        return _grade(ex, student, variant.label, 0, "invalid",
                      ["your answer is too large or too deeply nested to check"],
                      _answer(ref), start)
    except Exception as exc:      # noqa: BLE001 -- never crash on an answer
        return _grade(ex, student, variant.label, 0, "error",
                      [f"your answer could not be checked ({type(exc).__name__}: "
                       f"{str(exc)[:200]}); it scores 0 for now -- ask your teacher"],
                      _answer(ref), start)
    status = "correct" if fraction >= 1 else "partial" if fraction > 0 else "incorrect"
    return _grade(ex, student, variant.label, fraction, status, feedback, _answer(ref), start)


def _answer(ref):
    return None if ref is None else ref.answer
