"""Attendance: class sessions (课次), rotating-QR check-in, roll call, leave, rates and warnings."""
