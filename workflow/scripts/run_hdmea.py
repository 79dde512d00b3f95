#!/usr/bin/env python3
"""Runs one `hdmea process … --json` for a Snakemake job and records how it went.

    run_hdmea.py --recording ID --status STATUS.json --log STDERR.log --checkpoint-dir DIR -- CMD…

- STATUS.json: written at the start ("running") and again at the end, from the CLI's --json result
  (units, steps, seconds, warnings, error) plus the exit code; when the CLI printed no JSON (bad
  arguments, a crash, killed) the error is the last line of its stderr. Always written, so the
  workflow's summary has a row for a failed recording too.
- STDERR.log: the CLI's progress lines, also passed through to this process's stderr.
- Exits with the CLI's exit code (128 + N when it died of signal N), so Snakemake fails the job.

Signals: SIGINT/SIGTERM usually reach the CLI directly (Ctrl-C goes to the whole process group,
Slurm signals every process of the job), and the CLI treats a second signal as "quit at once", so
this wrapper passes a signal on only if the CLI has not announced within a second that it is
cancelling. Only the standard library is used: it runs with the Python that runs Snakemake.
"""
import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

CANCELLING = re.compile(r"^hdmea: (Ctrl-C|SIG\w+): cancelling")


def now():
    return datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="seconds")


def write_json(path, data):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", required=True, help="the dataset id (the Snakemake wildcard)")
    parser.add_argument("--status", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--checkpoint-dir", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command after --")

    # The CLI writes the checkpoint but does not create its folder.
    os.makedirs(args.checkpoint_dir, exist_ok=True)
    os.makedirs(os.path.dirname(args.log) or ".", exist_ok=True)
    started_at, started = now(), time.monotonic()
    base = {"recording": args.recording, "command": command, "log": args.log, "started_at": started_at}
    write_json(args.status, {**base, "result": "running"})

    stderr_lines = []
    announced = threading.Event()
    try:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    except OSError as e:
        write_json(args.status, {**base, "result": "failed", "finished_at": now(), "exit_code": 127, "error": f"{command[0]}: {e.strerror}"})
        sys.exit(127)

    def forward_if_unheard(signum, _frame):
        def later():
            if not announced.wait(1.0) and child.poll() is None:
                child.send_signal(signum)

        threading.Thread(target=later, daemon=True).start()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward_if_unheard)

    def tee():
        with open(args.log, "w") as log:
            for line in child.stderr:
                log.write(line)
                log.flush()
                sys.stderr.write(line)
                stderr_lines.append(line.rstrip("\n"))
                if CANCELLING.match(line):
                    announced.set()

    reader = threading.Thread(target=tee, daemon=True)
    reader.start()
    stdout = child.stdout.read()
    code = child.wait()
    reader.join(5)
    exit_code = code if code >= 0 else 128 - code

    try:
        result = json.loads(stdout) if stdout.strip() else None
    except json.JSONDecodeError:
        result = None
    if not isinstance(result, dict):
        result = None
    status = {**base, "finished_at": now(), "exit_code": exit_code, "wall_seconds": round(time.monotonic() - started, 3)}
    if result is not None:
        status.update(result)
        if exit_code != 0 and status.get("result") == "ok":
            status["result"] = "failed"
            status["error"] = f"hdmea exited with code {exit_code}"
    else:
        status["result"] = "cancelled" if exit_code == 130 else "failed"
        status["error"] = last_error(stderr_lines, code)
    if stdout.strip() and result is None:
        status["stdout"] = stdout[-2000:]
    write_json(args.status, status)
    if exit_code != 0:
        # With --json the CLI reports a failed recording on stdout only: say it where Snakemake shows it.
        sys.stderr.write(f"hdmea: {args.recording}: {status['result']}: {status.get('error', '')} (exit code {exit_code}; status {args.status})\n")
    sys.exit(exit_code)


def last_error(lines, code):
    """The CLI's one-line error (skipping its usage line), else why the process ended."""
    if code < 0:
        name = signal.Signals(-code).name
        return f"hdmea was killed by {name}" + (" (out of memory or time?)" if name == "SIGKILL" else "")
    for line in reversed(lines):
        if line.strip() and not line.startswith("usage:"):
            return line.strip()
    return f"hdmea exited with code {code} and no message"


if __name__ == "__main__":
    main()
