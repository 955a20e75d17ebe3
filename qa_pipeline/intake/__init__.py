"""The first stage: which recordings a run takes and what is known about each call before listening.

- files: which files are recordings, how a file's name is stored, what identifies its contents (sha256)
- metadata: the switch's call records (CSV), validated cell by cell
- discovery: every recording under a folder in a date window, joined with its metadata row (CallJob)
"""
