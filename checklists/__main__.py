"""`python -m checklists`: validate the checklists and their quotes (exit 1 on problems)."""

import sys

from checklists.check import check_directory
from checklists.loader import load_all

problems = check_directory()
for problem in problems:
    print(problem)
if problems:
    sys.exit(1)
for checklist in load_all().values():
    print(f"{checklist.id} {checklist.version}: {len(checklist.items)} items")
