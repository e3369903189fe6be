"""Who hears about what: mail notifications, reminders and outbound webhooks.

(The two moves that make sending exactly-once, a unique insert and a conditional update
from pending to sending, are the delivery lifecycle: `lifecycles/delivery.py`.)
- `messages`: what each mail says, Chinese first, then English.
- `mail`: SMTP, and sending one recorded mail.
- `dispatch`: an outbox event fanned out to mails and webhook deliveries.
- `reminders`: what time makes due (deadlines, overdue findings and tasks), for cron.
- `webhooks`: endpoints administrators register, and signed deliveries.
"""
