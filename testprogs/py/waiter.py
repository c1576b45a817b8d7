"""waiter.py PIDFILE OUTFILE: waits for SIGTERM, then writes PASS if its pid is still the one in
PIDFILE and its clock moved on (see testprogs/README.md). An unmodified interpreter, unlike the C
programs: it keeps the session and process group it was started in."""
import os
import signal
import sys
import time


def main():
    pidfile, outfile = sys.argv[1], sys.argv[2]
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    started = time.monotonic()
    temporary = f"{pidfile}.tmp.{os.getpid()}"
    with open(temporary, "w") as f:
        f.write(f"{os.getpid()}\n")
    os.rename(temporary, pidfile)
    signal.sigwait({signal.SIGTERM})
    with open(pidfile) as f:
        recorded = int(f.read())
    if recorded != os.getpid():
        verdict = f"FAIL: pid {os.getpid()}, the pidfile says {recorded}"
    elif time.monotonic() < started:
        verdict = "FAIL: CLOCK_MONOTONIC went backwards"
    else:
        verdict = "PASS"
    temporary = f"{outfile}.tmp.{os.getpid()}"
    with open(temporary, "w") as f:
        f.write(verdict + "\n")
    os.rename(temporary, outfile)
    sys.exit(0 if verdict == "PASS" else 1)


main()
