#!/usr/bin/env python3
"""Writes next.json: for each schedule, the next 6 fire times after a start
time, computed by cronsim 2.7 (https://pypi.org/project/cronsim/, the cron
evaluator of healthchecks.io), the independent reference for cron.go.

    python3 -m venv /tmp/v && /tmp/v/bin/pip install cronsim==2.7
    /tmp/v/bin/python gen_next.py > next.json
"""
import json
from datetime import datetime, timezone

from cronsim import CronSim

SPECS = [
    "*/5 * * * *",
    "* * * * *",
    "0 * * * *",
    "30 2 * * *",
    "15,45 9-17 * * MON-FRI",
    "0 0 1 * *",
    "0 0 13 * FRI",
    "0 0 29 2 *",
    "0 0 31 * *",
    "5-20/5 */6 * * *",
    "0 12 * JAN,JUL SUN",
    "59 23 31 12 *",
    "0 0 * * 7",
    "0 0 * * 0",
    "10/20 * * * *",
    "0 3 1-7 * 1",
    "0 0 */10 * *",
    "0 0 * * */2",
]
STARTS = [
    datetime(2026, 11, 27, 4, 52, 13, tzinfo=timezone.utc),
    datetime(2027, 2, 28, 23, 59, 0, tzinfo=timezone.utc),
    datetime(2028, 2, 28, 12, 0, 0, tzinfo=timezone.utc),
]

cases = []
for spec in SPECS:
    for start in STARTS:
        it = CronSim(spec, start)
        nxt = [next(it).strftime("%Y-%m-%dT%H:%M:%SZ") for _ in range(6)]
        cases.append({"spec": spec, "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "next": nxt})
print(json.dumps({"generator": "cronsim 2.7", "cases": cases}, indent=1))
