"""Errors raised by the checklists package."""


class ChecklistError(ValueError):
    """A checklist file does not follow the schema; `problems` lists every problem found."""

    def __init__(self, name: str, problems: list[str]) -> None:
        self.name = name
        self.problems = problems
        super().__init__(f"{name}: " + "; ".join(problems))


class AnswerError(ValueError):
    """An answer's value does not fit its item (wrong type, unknown option, ...)."""
