"""Accounts (trainees): login and passwords, ID numbers, roster import, units, personal
info, the session cookie and the WeChat binding."""
