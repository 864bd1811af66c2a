"""Small applications that the command-line tests serve in subprocesses, and the harness."""
