"""course.yml: its schema, and the one way to load it (with messages that name the bad key)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

COURSE_FILE = "course.yml"
# A clone of the course repository holds this package beside its course.yml (see default_path).
_CHECKOUT = Path(__file__).resolve().parents[1]


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
    forbidden_imports: list[str] = ["torch", "jax", "tensorflow", "autograd"]  # as in course.yml
    # Installed third-party packages the worker provides for real (students reach for numpy).
    allowed_imports: list[str] = ["numpy"]
    # Importing these gives a placeholder that fails only when used: draw_dot, plots and demos.
    unavailable_imports: list[str] = ["matplotlib", "graphviz", "IPython", "tqdm"]
    tolerances: Tolerances = Tolerances()
    # Grade each part with the other parts replaced by reference behaviour (docs/hidden-suites.md),
    # so one mistake costs points only in its own part.
    isolate_parts: bool = True
    # `course similarity` flags pairs of submissions whose own code is at least this alike (0..1).
    similarity_threshold: float = Field(0.6, gt=0, le=1)
    # Decimals of the scores shown to people (results pages, reports); files keep the exact scores.
    shown_decimals: int = Field(1, ge=0, le=6)


    @model_validator(mode="after")
    def _one_policy_a_name(self) -> Grading:
        """A module under two import policies is a mistake. The default allowed and unavailable lists give
        way to a list course.yml writes (a course forbidding numpy need not also unlist it); forbidden
        names never do."""
        lists = ("forbidden_imports", "allowed_imports", "unavailable_imports")
        for key in lists[1:]:
            if key not in self.model_fields_set:
                taken = {name for other in lists if other != key and other in self.model_fields_set
                         for name in getattr(self, other)}
                object.__setattr__(self, key, [name for name in getattr(self, key) if name not in taken])
        for first, second in [(a, b) for i, a in enumerate(lists) for b in lists[i + 1:]]:
            both = sorted(set(getattr(self, first)) & set(getattr(self, second)))
            if both:
                raise ValueError(f"each module under one import policy only: {', '.join(both)} is under both "
                                 f"{first} and {second}")
        return self


class Part(_Strict):
    title: str
    points: float = Field(gt=0)
    visibility: Literal["visible", "hidden", "after_due_date", "after_published"] = "visible"
    # Relative weight of single tests inside the part (by test function name); default 1 each.
    test_weights: dict[str, float] = {}


class LatePenalty(_Strict):
    per: Literal["day", "hour"] = "day"
    percent: float = Field(gt=0, le=100)  # of the points earned, per day (or hour) late, started ones counted
    cap_percent: float = Field(default=100, ge=0, le=100)  # the most a late submission loses


class Deadline(_Strict):
    """When an assignment is due, and what a late submission loses (autograder/semester/deadlines.py)."""

    due: datetime
    grace_minutes: float = Field(default=0, ge=0)
    late_penalty: LatePenalty | None = None  # none: late work is flagged, not penalised
    extensions: dict[str, datetime] = {}  # student id -> their own due time

    @model_validator(mode="after")
    def _sensible(self) -> Deadline:
        times = {"due": self.due, **{f"the extension of {k!r}": v for k, v in self.extensions.items()}}
        naive = [name for name, value in times.items() if value.tzinfo is None]
        if naive:
            raise ValueError(f"{', '.join(naive)} needs a time zone (e.g. 2026-12-10T23:59:00+01:00)")
        earlier = [k for k, v in self.extensions.items() if v <= self.due]
        if earlier:
            raise ValueError(f"an extension must end after the due time: {', '.join(map(repr, earlier))}")
        if self.late_penalty and self.late_penalty.cap_percent < self.late_penalty.percent:
            raise ValueError("late_penalty.cap_percent is below one period's percent: the cap would never allow "
                             "the penalty it states")
        return self


class SubmissionLimit(_Strict):
    """How often a student's submissions are graded (autograder/semester/limits.py): at most `per_day` in any 24 hours
    and at least `cooldown_minutes` apart; a submission past the limit keeps the student's best earlier result."""

    per_day: int | None = Field(default=None, ge=1)
    cooldown_minutes: float = Field(default=0, ge=0, le=7 * 24 * 60)

    @model_validator(mode="after")
    def _limits_something(self) -> SubmissionLimit:
        if self.per_day is None and not self.cooldown_minutes:
            raise ValueError("a submission limit needs per_day, cooldown_minutes or both")
        return self


class Assignment(_Strict):
    description: str = ""
    suite: str
    # The probe modules its workers load (a folder relative to the course file; default: the suite's worker/):
    # what the suite may ask of a submission. The grader's worker knows none of its own.
    probes: str | None = None
    kind: Literal["module", "notebook"] = "module"
    student_files: list[str] = Field(min_length=1)
    # Files the template gives that student files may import (micrograd/viz.py's draw_dot): the grader
    # stages its own copy (path -> file relative to the folder holding the suites' folder, beside
    # solutions/; its solution markers stripped); a submission's copy is never taken.
    provided_files: dict[str, str] = {}
    parts: dict[str, Part]
    # Mistakes the suite declares as policies (its policies.py), each charged (the default) or feedback-only
    # (autograder/core/policies.py, docs/hidden-suites.md).
    policies: dict[str, Literal["charged", "feedback-only"]] = {}
    deadline: Deadline | None = None
    submission_limit: SubmissionLimit | None = None  # none: every submission is graded
    _root: Path = PrivateAttr(default_factory=Path.cwd)  # set by load(): the course's folder

    @field_validator("parts")
    @classmethod
    def _has_parts(cls, parts: dict[str, Part]) -> dict[str, Part]:
        if not parts:
            raise ValueError("at least one graded part")
        return parts

    @model_validator(mode="after")
    def _provided_are_not_student_files(self) -> Assignment:
        both = sorted(set(self.provided_files) & set(self.student_files))
        if both:
            raise ValueError(f"{', '.join(both)} is under both student_files and provided_files")
        return self

    @property
    def max_score(self) -> float:
        return sum(part.points for part in self.parts.values())

    @property
    def root(self) -> Path:
        """The folder of the course file this assignment was read from (its suite, recipes and provided files
        are found from there)."""
        return self._root


# A course's folders beside its course.yml (the suites' folders are course.yml's `suite` of each assignment).
SOLUTIONS, TEMPLATE, HIDDEN = "solutions", "student_template", "grading_tests"


class Course(_Strict):
    name: str
    grading: Grading = Grading()
    assignments: dict[str, Assignment]
    # Where the file was read (suite folders are relative to it) and its exact bytes (what batch
    # resume keys hash); a Course built in code stands for its values.
    _root: Path = PrivateAttr(default_factory=Path.cwd)  # a Course built in code: the current folder
    _text: bytes | None = PrivateAttr(default=None)

    @property
    def root(self) -> Path:
        return self._root

    @property
    def fingerprint(self) -> bytes:
        """The bytes this course was read from (its values, for a Course built in code)."""
        return self._text if self._text is not None else self.model_dump_json().encode()

    @property
    def solutions(self) -> Path:
        """The reference solutions, with solution markers: what templates, notebooks and expectations come from."""
        return self._root / SOLUTIONS

    @property
    def template(self) -> Path:
        """The student template `course build` writes from the solutions."""
        return self._root / TEMPLATE

    @property
    def hidden(self) -> Path:
        """The folder of the hidden suites, their expectations and the bug catalog."""
        return self._root / HIDDEN

    @property
    def catalog(self) -> Path:
        """The bug catalog `course validate` grades (its GENERIC_PITFALLS also tell the class report which
        diagnoses name no specific mistake)."""
        return self.hidden / "catalog" / "catalog.py"

    @property
    def demo_class(self) -> Path:
        """The students `course demo` generates and grades (autograder.frontends.demo.DemoClass)."""
        return self.hidden / "catalog" / "demo_class.py"

    def suite(self, assignment: Assignment) -> Path:
        """The assignment's hidden suite folder, relative to the course file's folder."""
        return (self._root / assignment.suite).resolve()

    def assignment(self, name: str | None = None) -> tuple[str, Assignment]:
        """The named assignment, or the only/first one when no name is given."""
        if name is None:
            name = next(iter(self.assignments))
        if name not in self.assignments:
            known = ", ".join(self.assignments)
            raise ConfigError(f"no assignment {name!r} in course.yml (known: {known})")
        return name, self.assignments[name]


_SIMPLE_TYPES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}


def _schema_at(loc: tuple[int | str, ...]) -> Any:
    """The type the schema expects at loc (a path of keys from the top), or None if loc leaves it."""
    annotation: Any = Course
    for key in loc:
        if get_origin(annotation) in (Union, UnionType):
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(key))
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) in (dict, list):
            annotation = get_args(annotation)[-1]
        else:
            return None
    return annotation


def _expected(annotation: Any) -> str | None:
    """What a value of this type looks like, in the words of someone editing course.yml."""
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "a mapping with the keys " + ", ".join(annotation.model_fields)
    if origin is Literal:
        return "one of " + ", ".join(repr(arg) for arg in args)
    if origin in (Union, UnionType):
        return " or ".join(filter(None, (_expected(arg) for arg in args if arg is not type(None))))
    if origin is dict:
        return f"a mapping from names to {_expected(args[1]) or 'values'}"
    if origin is list:
        return f"a list of {(_expected(args[0]) or 'values').removeprefix('a ')}s"
    return _SIMPLE_TYPES.get(annotation)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(error: Any) -> str:  # pydantic's ErrorDetails
    """One line for one validation error: the key, the value found and what was expected."""
    loc = tuple(error["loc"])
    where = ".".join(str(part) for part in loc) or "(top level)"
    expected = _expected(_schema_at(loc))
    if error["type"] == "missing":
        return f"{where}: required key is missing; expected {expected or 'a value'}"
    if error["type"] == "extra_forbidden":
        parent = _schema_at(loc[:-1])
        keys = ", ".join(parent.model_fields) if isinstance(parent, type) and issubclass(parent, BaseModel) else "?"
        return f"{where}: unknown key (value {_shown(error['input'])}); expected one of {keys} (check its spelling)"
    # pydantic's own words for constraints and validators ("greater than 0"), ours for types.
    reason = error["msg"].removeprefix("Value error, ").removeprefix("Input should be ")
    if error["type"] in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        reason = f"{expected or 'a number'} {reason}"
    elif error["type"] != "value_error" and expected:
        reason = expected
    return f"{where}: got {_shown(error['input'])}; expected {reason}"


class _UniqueKeyLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML has no types here
    """YAML's safe loader, except that a key given twice is an error (YAML would keep the last)."""

    def construct_unique_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # Keys as written, before construct_mapping flattens merge keys (`<<:`), which may be overridden.
        written = [key_node for key_node, _ in node.value if key_node.tag != "tag:yaml.org,2002:merge"]
        mapping = self.construct_mapping(node, deep=deep)
        first_line: dict[Any, int] = {}
        for key_node in written:
            key = self.construct_object(key_node, deep=deep)
            if key in first_line:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice (first on line {first_line[key]})", key_node.start_mark)
            first_line[key] = key_node.start_mark.line + 1
        return dict(mapping)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 _UniqueKeyLoader.construct_unique_mapping)


def default_path() -> Path:
    """The course.yml a command uses without --config: the nearest one in the current folder or above it, else
    the one beside this package when it runs from a clone of the course repository."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / COURSE_FILE).is_file():
            return folder / COURSE_FILE
    return _CHECKOUT / COURSE_FILE


def load(path: Path | str | None = None) -> Course:
    """Read and validate course.yml (default_path() when no path is given); raise ConfigError with every
    problem, one per line. The course's folder (Course.root, each Assignment.root) decides every path."""
    path = Path(path) if path is not None else default_path()
    try:
        data = path.read_bytes()
        raw = yaml.load(data.decode("utf-8"), Loader=_UniqueKeyLoader)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}:{where} not valid YAML ({problem})") from None
    if not isinstance(raw, dict):
        found = "the file is empty" if raw is None else f"the top level is {_shown(raw)} ({type(raw).__name__})"
        raise ConfigError(f"{path}: {found}; expected {_expected(Course)}")
    try:
        course = Course.model_validate(raw)
    except ValidationError as exc:
        lines = [_describe(error) for error in exc.errors()]
        raise ConfigError(f"{path}: " + "\n  ".join(["invalid course configuration:", *lines])) from None
    course._root = path.resolve().parent
    course._text = data
    for assignment in course.assignments.values():
        assignment._root = course._root
    return course
