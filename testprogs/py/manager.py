"""manager.py PIDFILE OUTFILE: a Python multiprocessing manager (see testprogs/README.md): its
server process listens on a Unix socket in /tmp/pymp-*, and this process talks to it through
connections to that socket. Set up: a dict, a list and a queue held by the manager, written
through their proxies. On SIGTERM: the values read back through the proxies, then changed and
read again (new requests over the same connections); PASS or FAIL: why, written atomically."""
import multiprocessing
import os
import signal
import sys


def write_atomically(path, text):
    temporary = f"{path}.tmp.{os.getpid()}"
    with open(temporary, "w") as f:
        f.write(text)
    os.rename(temporary, path)


def check(shared, items, queue):
    if shared.get("a") != 1:
        return f"the dict holds {dict(shared)!r}, not {{'a': 1}}"
    if list(items) != list(range(5)):
        return f"the list holds {list(items)!r}"
    if (got := queue.get(timeout=5)) != "hello":
        return f"the queue gave {got!r}"
    shared["b"] = 2
    items.append(5)
    queue.put("again")
    if shared.get("b") != 2 or items[-1] != 5 or queue.get(timeout=5) != "again":
        return "values written after the restore did not read back"
    return None


def main():
    pidfile, outfile = sys.argv[1], sys.argv[2]
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    manager = multiprocessing.Manager()
    shared, items, queue = manager.dict(), manager.list(range(5)), manager.Queue()
    shared["a"] = 1
    queue.put("hello")
    write_atomically(pidfile, f"{os.getpid()}\n")
    signal.sigwait({signal.SIGTERM})
    try:
        failure = check(shared, items, queue)
    except Exception as e:  # a broken connection shows here
        failure = f"{type(e).__name__}: {e}"
    write_atomically(outfile, "PASS\n" if failure is None else f"FAIL: {failure}\n")
    manager.shutdown()
    sys.exit(0 if failure is None else 1)


main()
