"""`python -m checklists [DIRECTORY]`: validate the checklists and prove they say what the
pinned plans say (pins, clause citations, limit wording); exit 1 listing every problem."""

import sys
from pathlib import Path

from checklists.check import check_directory
from checklists.loader import CHECKLISTS_DIR, load_all

directory = Path(sys.argv[1]) if len(sys.argv) > 1 else CHECKLISTS_DIR
if not directory.is_dir():
    print(f"没有这个目录 / no such directory: {directory}", file=sys.stderr)
    sys.exit(2)
problems = check_directory(directory)
for problem in problems:
    print(problem)
if problems:
    print(
        f"检查表与原文不符：{len(problems)} 个问题 / {len(problems)} problem(s) found",
        file=sys.stderr,
    )
    sys.exit(1)
for checklist in load_all(directory).values():
    print(f"{checklist.id} {checklist.version}: {len(checklist.items)} items")
