"""course.yml: its schema, and the one way to load it (with messages that name the bad key)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from autograder import REPO_ROOT

DEFAULT_PATH = REPO_ROOT / "course.yml"


class ConfigError(Exception):
    """course.yml cannot be used; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tolerances(_Strict):
    rel: float = Field(1e-6, gt=0)
    abs: float = Field(1e-9, ge=0)
    finite_difference_rel_error: float = Field(1e-5, gt=0)


class Grading(_Strict):
    time_limit_seconds: float = Field(3.0, gt=0, le=600)
    memory_limit_mb: int = Field(768, ge=64)
    output_excerpt_chars: int = Field(400, ge=0, le=10_000)
    forbidden_imports: list[str] = ["torch", "jax", "tensorflow"]
    tolerances: Tolerances = Tolerances()


class Part(_Strict):
    title: str
    points: float = Field(gt=0)
    visibility: Literal["visible", "hidden", "after_due_date", "after_published"] = "visible"
    # Relative weight of single tests inside the part (by test function name); default 1 each.
    test_weights: dict[str, float] = {}


class Assignment(_Strict):
    description: str = ""
    suite: str
    kind: Literal["module", "notebook"] = "module"
    student_files: list[str] = ["micrograd/engine.py", "micrograd/nn.py"]
    parts: dict[str, Part]

    @field_validator("parts")
    @classmethod
    def _has_parts(cls, parts: dict[str, Part]) -> dict[str, Part]:
        if not parts:
            raise ValueError("an assignment needs at least one graded part")
        return parts

    @property
    def max_score(self) -> float:
        return sum(part.points for part in self.parts.values())


class Course(_Strict):
    name: str
    grading: Grading = Grading()
    assignments: dict[str, Assignment]

    def assignment(self, name: str | None = None) -> tuple[str, Assignment]:
        """The named assignment, or the only/first one when no name is given."""
        if name is None:
            name = next(iter(self.assignments))
        if name not in self.assignments:
            known = ", ".join(self.assignments)
            raise ConfigError(f"no assignment {name!r} in course.yml (known: {known})")
        return name, self.assignments[name]


def _describe(error: dict) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "missing":
        return f"{where}: required key is missing"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key (value {error['input']!r}); check its spelling"
    return f"{where}: got {error['input']!r}, expected {error['msg'].lower()}"


def load(path: Path | str = DEFAULT_PATH) -> Course:
    """Read and validate course.yml; raise ConfigError with every problem, one per line."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}:{where}: not valid YAML ({problem})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top, got {type(raw).__name__}")
    try:
        return Course.model_validate(raw)
    except ValidationError as exc:
        lines = [_describe(error) for error in exc.errors()]
        raise ConfigError(f"{path}: " + "\n  ".join(["invalid course configuration:", *lines])) from None
