"""The read side: finding the files dual_log wrote, scanning their lines, merging, following
and printing them, and fetching them from machines. Never imports the write side; shares
with it only what ``dual_log._facts`` holds."""
