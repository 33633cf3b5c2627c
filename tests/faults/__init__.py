"""The fault suite: real faults (mounts, full disks, signals, kills) under a real application."""
