"""The write side: the two handlers, the queue and its writer thread, the log file with its
lock and rotation, and what happens around fork, signals and exit. Never imports the read
side; shares with it only what ``dual_log._facts`` holds."""
