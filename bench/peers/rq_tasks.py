"""The function RQ's workers run in bench/run.py's RQ workload."""


def square(x):
    return x * x
