"""One module per lifecycle; each is the only code that writes its status.

- `review`: an inspection as the server holds it, submitted → approved / returned, and a
  returned one submitted again as a new revision.
- `finding`: open → notified → answered → closed (销号) / reopened → answered…, and
  withdrawn when a revision no longer fails the item.
- `notice`: issuing a numbered notice, which claims its open findings.
- `task`: open → fulfilled (by the inspections that cover its sites) / cancelled, and
  reassignments decided on the task's version.
- `clue`: new → tasked / dismissed.
- `delivery`: a mail or a webhook delivery, pending → sending → sent / failed, so that each
  is sent once however many workers try.

Each module holds its transition table, who may make each move, and the questions pages and
the API ask (`can_…`, `actions`). Every move is a conditional update (`moves.claim`): the
status changes only if it is still the one the move starts from, so of two simultaneous
moves exactly one wins; the other gets 409 with the current state, and no second event or
audit entry is ever written.
"""
