"""Enrolment: seats, the FIFO waitlist, approvals, withdrawals, class lists, roster import."""
