#!/usr/bin/env python3
"""The C/R suite of the kernel matrix, run inside every guest and natively for the host kernel.

Usage: guest-suite.py OUT   (OUT/env.json: the paths and the host environment, written by matrix.py)

1. `cryo check --json` (as the guest's full root).
2. The host's process environment is reproduced: its resource limits and its capability
   bounding set, so that the golden item streams recorded on the host apply unchanged.
3. Every test program through checkpoint (cryo kills it), the golden comparison of the image
   (`cryo-dump --normalize` with the golden tests' aliases against tests/Golden/NAME.verified.txt),
   restore (cryo stays the parent and exits with the program's status), SIGTERM and the
   program's own PASS/FAIL. Programs are spawned as the golden tests spawn them: posix_spawn,
   all signals default, nothing blocked, stdin /dev/null, stdout and stderr appended to a log,
   working directory tests/Golden/bin/Debug/net10.0.
4. The refusal cases: cryo must refuse (exit 1, naming pid, fd and kind, leaving no file) and
   the program must still pass.
5. The FsCheck properties P1-P5 of tests/Property with reduced counts: the test assembly, built
   on the host beforehand, run by vstest with CRYO_BIN_DIR pointing at the NativeAOT cryo.

Results: OUT/uname, OUT/check.{json,rc,err}, OUT/results.jsonl (one JSON object per line:
group, name, result, detail, seconds), OUT/golden/NAME.received.txt for every golden that
differs, OUT/property.trx and OUT/property.log. Every wait is on a condition with a timeout;
every process started here is reaped or killed.
"""
import contextlib, ctypes, glob, json, os, re, resource, shutil, signal, subprocess, sys, tempfile, time

OUT = sys.argv[1]
CFG = json.load(open(os.path.join(OUT, "env.json")))
CRYO, CRYO_DUMP, PROGS, REPO = CFG["cryo"], CFG["cryoDump"], CFG["progs"], CFG["repo"]
GOLDEN = os.path.join(REPO, "tests", "Golden")
START_TIMEOUT = 120      # the programs fsync; under emulation a start takes seconds
CRYO_TIMEOUT = 300
VERDICT_TIMEOUT = 150    # the programs' own watchdog is 120 s
RESULTS = os.path.join(OUT, "results.jsonl")


current_dir = None  # the directory of the cycle or refusal case running now


def record(group, name, result, detail="", seconds=None):
    """One result row; for a failure the files of the current case (logs, outfile; no images) are
    kept in OUT/failures/GROUP-NAME/."""
    entry = {"group": group, "name": name, "result": result, "detail": detail.strip()[:1500]}
    directory = current_dir
    if result != "pass" and directory and os.path.isdir(directory):
        keep = os.path.join(OUT, "failures", re.sub(r"[^A-Za-z0-9.=-]+", "-", f"{group}-{name}"))
        shutil.rmtree(keep, ignore_errors=True)
        shutil.copytree(directory, keep, ignore=shutil.ignore_patterns("*.cryo", "fifo*"))
        entry["kept"] = os.path.relpath(keep, OUT)
    if seconds is not None:
        entry["seconds"] = round(seconds, 1)
    with open(RESULTS, "a") as f:
        f.write(json.dumps(entry) + "\n")
    print(f"cryo-matrix: {group} {name}: {result} {detail.strip()[:200]}", flush=True)


def wait_until(condition, timeout):
    """Polls condition (1 ms, doubling to 20 ms) until it holds; False after timeout seconds."""
    deadline, pause = time.monotonic() + timeout, 0.001
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.02)
    return True


def tail(path, chars=600):
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return ""
    return text[-chars:]


def cryo_said(text, chars=700):
    """What cryo printed, its error lines first (a stack trace follows them in a crash)."""
    lines = text.strip().splitlines()
    errors = [l for l in lines if re.search(r"error|warning|fail|exception", l, re.I) and not l.lstrip().startswith("at ")]
    head = " | ".join(errors[:4]) if errors else " | ".join(lines[:4])
    return head[:chars]


class Program:
    """A test program spawned like the golden tests do (RunningProgram): this process is its parent and reaps it."""

    def __init__(self, name, args, directory):
        self.name, self.dir = name, directory
        self.pidfile, self.outfile, self.log = (os.path.join(directory, n) for n in ("pid", "out", "log"))
        exe = os.path.join(PROGS, name)
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, self.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ]
        self.pid = os.posix_spawn(exe, [exe, f"--pidfile={self.pidfile}", f"--outfile={self.outfile}", *args], os.environ,
                                  file_actions=actions, setsigmask=(), setsigdef=signal.valid_signals())
        self.status = None
        self.descendants = []

    def exited(self):
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.status = status
        return self.status is not None

    def ready(self):
        """Waits for the pidfile; None when ready, else why not."""
        if not wait_until(lambda: os.path.exists(self.pidfile) or self.exited(), START_TIMEOUT):
            return f"no pidfile after {START_TIMEOUT} s"
        if not os.path.exists(self.pidfile):
            return f"exited ({describe_status(self.status)}) before it was ready"
        written = open(self.pidfile).read().strip()
        if written != str(self.pid):
            return f"pidfile says {written}, spawned {self.pid}"
        self.descendants = descendants(self.pid)
        return None

    def describe(self):
        return f"{self.name}[{self.pid}] said: {tail(self.log)!r}"

    def cleanup(self):
        """Kills the program and any descendant still running, and reaps the program."""
        if not self.exited():
            os.kill(self.pid, signal.SIGKILL)
            wait_until(self.exited, 30)
        kill_descendants(self.descendants, self.name)


def descendants(root):
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        for task in glob.glob(f"/proc/{pid}/task/*/children"):
            try:
                words = open(task).read().split()
            except OSError:
                continue
            found += map(int, words)
            pending += map(int, words)
    return sorted(found)


def kill_descendants(pids, name):
    for pid in pids:
        try:
            if open(f"/proc/{pid}/comm").read().strip() == name[:15]:
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    wait_until(lambda: all(not os.path.exists(f"/proc/{p}") or zombie_or_other(p, name) for p in pids), 30)


def zombie_or_other(pid, name):
    try:
        stat = open(f"/proc/{pid}/stat").read()
        return stat.rsplit(")", 1)[1].split()[0] == "Z" or open(f"/proc/{pid}/comm").read().strip() != name[:15]
    except OSError:
        return True


def describe_status(status):
    if status is None:
        return "running"
    return f"exit {os.WEXITSTATUS(status)}" if os.WIFEXITED(status) else f"signal {os.WTERMSIG(status)}"


def cryo(*args, timeout=CRYO_TIMEOUT):
    try:
        return subprocess.run([CRYO, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(e.cmd, 124, e.stdout or "", f"(timed out after {timeout} s) {e.stderr or ''}")


def verdict(directory):
    path = os.path.join(directory, "out")
    return open(path).read().strip() if os.path.exists(path) else "(no outfile written)"


def normalized(image, directory, pid, name):
    aliases = []
    if name == "fifo":  # the FIFO nodes carry the pid (PipeProgramTests.Normalized)
        aliases += [f"{directory}/fifo-rdwr.{pid}=<tmp>/fifo-rdwr.<pid>", f"{directory}/fifo-split.{pid}=<tmp>/fifo-split.<pid>"]
    aliases += [f"{directory}=<tmp>", f"{REPO}=<repo>"]
    command = [CRYO_DUMP, "--normalize"] + [a for alias in aliases for a in ("--path-alias", alias)] + [image]
    result = subprocess.run(command, capture_output=True, text=True, timeout=CRYO_TIMEOUT, stdin=subprocess.DEVNULL)
    return result.returncode, result.stdout, result.stderr


def kernel_at_least(major, minor):
    numbers = re.match(r"(\d+)\.(\d+)", os.uname().release)
    return (int(numbers.group(1)), int(numbers.group(2))) >= (major, minor)


def expected_here(expected):
    """The golden as this kernel writes it. Linux 6.7+ makes MAP_STACK mappings VM_NOHUGEPAGE
    (glibc maps thread stacks with MAP_STACK), so there a threaded program's image has a MADV
    item that lists its stacks with advice 0x40 (MADV_NOHUGEPAGE); before 6.7 it has none."""
    if kernel_at_least(6, 7):
        return expected
    return "\n".join(line for line in expected.split("\n")
                     if not (line.startswith("  MADV ") and set(re.findall(r"advice=(0x[0-9a-f]+)", line)) == {"0x40"}))


def compare_golden(label, golden, image, directory, pid, name):
    code, text, error = normalized(image, directory, pid, name)
    if code != 0:
        record("golden", label, "fail", f"cryo-dump --normalize exited {code}: {error}")
        return
    expected = expected_here(open(os.path.join(GOLDEN, f"{golden}.verified.txt")).read())
    if text == expected:
        record("golden", label, "pass")
        return
    os.makedirs(os.path.join(OUT, "golden"), exist_ok=True)
    received = os.path.join(OUT, "golden", f"{label.replace(' ', '-').replace('(', '').replace(')', '')}.received.txt")
    with open(received, "w") as f:
        f.write(text)
    e, a = expected.split("\n"), text.split("\n")
    diffs = [i for i in range(max(len(e), len(a))) if (e[i] if i < len(e) else "(end)") != (a[i] if i < len(a) else "(end)")]
    first = diffs[0]
    record("golden", label, "differs",
           f"{len(diffs)} line(s) differ, first line {first + 1}: expected {(e[first] if first < len(e) else '(end)')[:300]!r}, "
           f"got {(a[first] if first < len(a) else '(end)')[:300]!r} (received: {os.path.basename(received)})")


@contextlib.contextmanager
def started(group, label, name, args, prefix):
    """A private directory with the program started in it, removed afterwards, and when the case
    began; None (recorded as fail-start in `group`) when the program did not get ready."""
    global current_dir
    directory = current_dir = tempfile.mkdtemp(prefix=prefix)
    began = time.monotonic()
    program = Program(name, args, directory)
    try:
        why = program.ready()
        if why:
            record(group, label, "fail-start", f"{why}; {program.describe()}")
        yield None if why else (directory, program, began)
    finally:
        program.cleanup()
        current_dir = None
        shutil.rmtree(directory, ignore_errors=True)


def cycle(label, name, args, golden=None, pipe_dump=None, leave=False, restore_args=()):
    """Checkpoint (kills, or with `leave` lets run on: then the original must pass its check and
    keep no snapshot child), golden comparison, restore, SIGTERM, verdict: one row in 'cr', one in 'golden'."""
    with started("cr", label, name, args, f"cryo-{name}-") as ready:
        if ready:
            cycle_started(label, name, golden, pipe_dump, leave, *ready, restore_args=restore_args)


def terminal_cycle(label, args):
    """testprogs/terminal on one pseudo-terminal ({tty} in args), restored with --tty onto a second
    one of another size (so the program must get a SIGWINCH); this process holds both masters."""
    import fcntl, struct, termios
    first, first_slave = os.openpty()
    second, second_slave = os.openpty()
    try:
        fcntl.ioctl(second, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        paths = os.ttyname(first_slave), os.ttyname(second_slave)
        os.close(first_slave)
        os.close(second_slave)
        cycle(label, "terminal", [a.replace("{tty}", paths[0]) for a in args], restore_args=("--tty", paths[1]))
    finally:
        os.close(first)
        os.close(second)


def cycle_started(label, name, golden, pipe_dump, leave, directory, program, began, restore_args=()):
    restore = None
    try:
        image = os.path.join(directory, "image.cryo")
        extra = (["--pipe-dump", pipe_dump] if pipe_dump else []) + (["--leave-running", "--verbose"] if leave else [])
        result = cryo("checkpoint", str(program.pid), "-o", image, *extra)
        if result.returncode != 0:
            record("cr", label, "fail-checkpoint", f"cryo checkpoint exited {result.returncode}: {cryo_said(result.stderr)}; {program.describe()}")
            return
        if leave:
            left = sorted(set(descendants(program.pid)) - set(program.descendants))
            if "snapshot of pid" not in result.stderr or left:
                record("cr", label, "fail-checkpoint", f"snapshot said: {cryo_said(result.stderr)}; processes left in the tree: {left}")
                return
            os.kill(program.pid, signal.SIGTERM)
            if not wait_until(program.exited, VERDICT_TIMEOUT) or verdict(directory) != "PASS":
                record("cr", label, "fail", f"the original, left running, says {verdict(directory)!r}; {program.describe()}")
                return
            os.remove(os.path.join(directory, "out"))
        elif not wait_until(program.exited, 60):
            record("cr", label, "fail-checkpoint", f"the original still runs after the checkpoint; {program.describe()}")
            return
        if golden:
            compare_golden(label, golden, image, directory, program.pid, name)
        restored_pidfile = os.path.join(directory, "restored.pid")
        stderr = open(os.path.join(directory, "cryo-restore.err"), "w")
        restore = subprocess.Popen([CRYO, "restore", image, "--pidfile", restored_pidfile, "--log-file",
                                    os.path.join(directory, "cryo-restore.log"), "-v", *restore_args],
                                   stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
        stderr.close()
        if not wait_until(lambda: os.path.exists(restored_pidfile) or restore.poll() is not None, CRYO_TIMEOUT) \
                or not os.path.exists(restored_pidfile):
            code = restore.poll()
            record("cr", label, "fail-restore", f"cryo restore {'exited ' + str(code) if code is not None else 'wrote no pidfile'}: "
                   f"{cryo_said(tail(os.path.join(directory, 'cryo-restore.err'), 20000))}")
            return
        restored = int(open(restored_pidfile).read())
        if restored != program.pid:
            record("cr", label, "fail-restore", f"restored as pid {restored}, was {program.pid}")
            return
        os.kill(restored, signal.SIGTERM)
        try:
            code = restore.wait(VERDICT_TIMEOUT)
        except subprocess.TimeoutExpired:
            record("cr", label, "fail-timeout", f"no exit {VERDICT_TIMEOUT} s after SIGTERM; verdict: {verdict(directory)}; "
                   f"{program.describe()}")
            return
        said = verdict(directory)
        if code == 0 and said == "PASS":
            record("cr", label, "pass", seconds=time.monotonic() - began)
        else:
            record("cr", label, "fail", f"verdict {said!r}, cryo restore exited {code}; cryo said: "
                   f"{cryo_said(tail(os.path.join(directory, 'cryo-restore.err'), 20000))!r}; {program.describe()}")
    finally:
        if restore is not None and restore.poll() is None:
            if os.path.exists(os.path.join(directory, "restored.pid")):
                os.kill(program.pid, signal.SIGKILL)  # the restored program: cryo restore then ends
            else:
                restore.send_signal(signal.SIGINT)     # cryo kills what it created
            try:
                restore.wait(30)
            except subprocess.TimeoutExpired:
                restore.kill()
                restore.wait()


def refusal(label, name, args, expect, names=r"pid (\d+): fd (\d+)"):
    """cryo must refuse (exit 1, naming pid, fd and kind, or as `names` says for what is not an fd),
    write nothing, and leave the program passing."""
    with started("refusal", label, name, args, f"cryo-refuse-{label.replace(' ', '-')}-") as ready:
        if ready:
            refusal_started(label, expect, names, *ready)


def refusal_started(label, expect, names, directory, program, began):
    image = os.path.join(directory, "image.cryo")
    result = cryo("checkpoint", str(program.pid), "-o", image)
    problems = []
    if result.returncode != 1:
        problems.append(f"cryo exited {result.returncode}")
    named = re.search(names, result.stderr)
    if not named:
        problems.append(f"no {names!r} in the message")
    elif int(named.group(1)) not in [program.pid] + program.descendants:
        problems.append(f"names pid {named.group(1)}, not one of the tree {[program.pid] + program.descendants}")
    problems += [f"no {word!r} in the message" for word in expect if word.lower() not in result.stderr.lower()]
    if os.path.exists(image) or glob.glob(os.path.join(directory, "*.tmp")):
        problems.append("a refused checkpoint left a file")
    if program.exited():
        problems.append(f"the program died ({describe_status(program.status)})")
    else:
        os.kill(program.pid, signal.SIGTERM)
        if not wait_until(program.exited, VERDICT_TIMEOUT):
            problems.append(f"no exit {VERDICT_TIMEOUT} s after SIGTERM")
        elif verdict(directory) != "PASS":
            problems.append(f"verdict {verdict(directory)!r}")
    if problems:
        record("refusal", label, "fail", f"{'; '.join(problems)}; cryo said: {result.stderr.strip()!r}; {program.describe()}")
    else:
        record("refusal", label, "pass", result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "",
               time.monotonic() - began)


def properties():
    """P1-P5 with CRYO_PROPERTY_RUNS cases each, one vstest run; rows from the TRX file."""
    prop = CFG.get("property")
    if not prop:
        return
    trx = os.path.join(OUT, "property.trx")
    env = dict(os.environ, CRYO_BIN_DIR=os.path.dirname(CRYO), CRYO_PROPERTY_RUNS=str(prop["runs"]), CRYO_PROPERTY_SHRINK="0",
               DOTNET_CLI_TELEMETRY_OPTOUT="1", DOTNET_NOLOGO="1", DOTNET_SKIP_FIRST_TIME_EXPERIENCE="1",
               HOME=os.environ.get("HOME") or "/root", TMPDIR="/tmp",
               VSTEST_CONNECTION_TIMEOUT=str(prop["timeout"]))  # seconds; the default 90 is too short under emulation
    command = ["dotnet", "exec", prop["vstest"], prop["dll"], "--TestCaseFilter:FullyQualifiedName~PipeProperties",
               f"--logger:trx;LogFileName={trx}", "--logger:console;verbosity=normal",
               f"--ResultsDirectory:{os.path.join(OUT, 'property-results')}"]
    started = time.monotonic()
    with open(os.path.join(OUT, "property.log"), "w") as log:
        # Its own process group: on a timeout the test host and whatever it started go too.
        vstest = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                  cwd=os.path.dirname(prop["dll"]), start_new_session=True)
        try:
            code = vstest.wait(prop["timeout"])
        except subprocess.TimeoutExpired:
            code = None
            os.killpg(vstest.pid, signal.SIGKILL)
            vstest.wait()
    seconds = time.monotonic() - started
    with open(os.path.join(OUT, "property.seconds"), "w") as f:
        f.write(f"{seconds:.1f}\n")
    rows = parse_trx(trx) if os.path.exists(trx) else {}
    for p in ("P1", "P2", "P3", "P4", "P5"):
        if p in rows:
            result, detail, took = rows[p]
            record("property", p, result, detail, took)
        else:
            record("property", p, "fail", f"no result: vstest {'timed out' if code is None else f'exited {code}'} after "
                   f"{seconds:.0f} s; {tail(os.path.join(OUT, 'property.log'), 800)!r}")


def parse_trx(path):
    import xml.etree.ElementTree as ET
    ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
    rows = {}
    for r in ET.parse(path).getroot().iterfind(".//t:UnitTestResult", ns):
        m = re.search(r"\.(P\d)_", r.get("testName", ""))
        if not m:
            continue
        out = r.findtext("t:Output/t:StdOut", "", ns).strip()
        message = r.findtext("t:Output/t:ErrorInfo/t:Message", "", ns).strip()
        h, mi, s = r.get("duration", "0:0:0").split(":")
        took = int(h) * 3600 + int(mi) * 60 + float(s)
        result = "pass" if r.get("outcome") == "Passed" else "fail"
        rows[m.group(1)] = (result, out if result == "pass" else f"{message} {out}", took)
    return rows


def host_environment():
    """The host's resource limits and capability bounding set (see the module comment)."""
    for number, (soft, hard) in CFG.get("limits", {}).items():
        try:
            resource.setrlimit(int(number), (soft, hard))
        except (ValueError, OSError) as e:
            print(f"cryo-matrix: setrlimit {number} {soft} {hard}: {e}", flush=True)
    bounding = CFG.get("capBnd")
    if bounding is not None:
        libc = ctypes.CDLL(None, use_errno=True)
        last = int(open("/proc/sys/kernel/cap_last_cap").read())
        for cap in range(last + 1):
            if not bounding >> cap & 1 and libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                print(f"cryo-matrix: PR_CAPBSET_DROP {cap}: errno {ctypes.get_errno()}", flush=True)


def guarded(group, label, case, *args):
    """Runs one case; an error of this script itself becomes that case's row, and the suite goes on."""
    try:
        case(*args)
    except Exception as e:  # noqa: BLE001 (reported, not hidden)
        import traceback
        record(group, label, "error", f"guest-suite.py: {e!r}: {traceback.format_exc()[-600:]}")


def main():
    open(RESULTS, "w").close()
    with open(os.path.join(OUT, "uname"), "w") as f:
        f.write(os.uname().release + "\n")
    with open(os.path.join(OUT, "check.json"), "w") as out, open(os.path.join(OUT, "check.err"), "w") as err:
        code = subprocess.run([CRYO, "check", "--json"], stdout=out, stderr=err, stdin=subprocess.DEVNULL).returncode
    with open(os.path.join(OUT, "check.rc"), "w") as f:
        f.write(f"{code}\n")
    host_environment()
    os.chdir(os.path.join(GOLDEN, "bin", "Debug", "net10.0"))  # where `dotnet test` runs the golden tests (matrix.py made it)
    only = set(CFG.get("only") or [])
    started = time.monotonic()
    # (label, program, arguments, golden, pipe dump[, leave running]): the golden tests' programs and arguments
    for label, name, args, golden, dump, *leave in [
        ("sleep", "sleep", [], "sleep", None),
        ("pipe", "pipe", ["--size=5000", "--seed=1"], "pipe", None),
        ("memhog", "memhog", ["--mib=8"], "memhog", None),
        ("multipipe", "multipipe", ["--seed=1"], "multipipe", None),
        ("multipipe (drain)", "multipipe", ["--seed=1"], "multipipe", "drain"),
        ("fifo", "fifo", ["--seed=2"], "fifo", None),
        ("fifo (drain)", "fifo", ["--seed=2"], "fifo", "drain"),
        ("multiproc", "multiproc", ["--seed=1"], "multiproc", None),
        ("threads", "threads", [], "threads", None),
        ("zombie", "zombie", [], "zombie", None),
        ("shared", "shared", ["--seed=1"], "shared", None),
        ("setuid", "setuid", [], "setuid", None),
        ("pipewriter", "pipewriter", [], None, None),
        ("pipeset", "pipeset", ["--pipes=cap=1m len=1m; kind=fifo ends=rdwr cap=256k len=100k; packets=1,777,4096 nb=r; ends=read packets=9"], None, None),
        ("unsupported --kind=thread", "unsupported", ["--kind=thread"], None, None),
        ("unsupported --kind=child", "unsupported", ["--kind=child"], None, None),
        ("napper (restart blocks)", "napper", ["--nap-ms=300", "--calls=poll,futex,futex-abs,nanosleep-norem"], None, None),
        ("napper (never restarted)", "napper", ["--nap-ms=300", "--calls=epoll,sigtimedwait,semtimedop"], None, None),
        ("ticker", "ticker", [], None, None),
        ("sched", "sched", [], None, None),
        ("sigio", "sigio", [], None, None),
        ("locks", "locks", [], None, None),
        ("unsupported --kind=flock", "unsupported", ["--kind=flock"], None, None),
        ("unsupported --kind=posix-lock", "unsupported", ["--kind=posix-lock"], None, None),
        ("layout", "layout", [], None, None),
        ("layout --process-flags", "layout", ["--process-flags"], None, None),
        ("sysvshm", "sysvshm", ["--child"], None, None),
        ("memfd", "memfd", ["--child"], None, None),
        ("memfd (leave-running)", "memfd", ["--child"], None, None, True),
        ("unixsock", "unixsock", ["--child"], None, None),
        ("unixsock (leave-running)", "unixsock", ["--child"], None, None, True),
        ("unsupported --kind=socketpair", "unsupported", ["--kind=socketpair"], None, None),
        ("watcher", "watcher", ["--child"], None, None),
        ("unixlisten", "unixlisten", [], None, None),
        ("unixconn", "unixconn", ["--child"], None, None),
        ("unixconn (leave-running)", "unixconn", ["--child"], None, None, True),
        ("udpsock", "udpsock", [], None, None),
        ("udpsock (leave-running)", "udpsock", [], None, None, True),
        ("unsupported --kind=udp", "unsupported", ["--kind=udp"], None, None),
        ("unsupported --kind=cwd-deleted", "unsupported", ["--kind=cwd-deleted"], None, None),
        ("pidfd", "pidfd", [], None, None),
        ("pidfd (leave-running)", "pidfd", [], None, None, True),
        ("unsupported --kind=socket", "unsupported", ["--kind=socket"], None, None),
        ("unsupported --kind=inotify", "unsupported", ["--kind=inotify"], None, None),
        ("seccomp", "seccomp", [], None, None),
        ("seccomp (leave-running)", "seccomp", ["--deny-seccomp"], None, None, True),
        ("unsupported --kind=seccomp", "unsupported", ["--kind=seccomp"], None, None),
        ("deleted", "deleted", ["--child"], None, None),
        ("deleted (leave-running)", "deleted", ["--child"], None, None, True),
        ("unsupported --kind=deleted", "unsupported", ["--kind=deleted"], None, None),
        ("areas", "areas", ["--count=2000"], None, None),
        ("eventfiles", "eventfiles", [], None, None),
        ("epollstate", "epollstate", [], None, None),
        ("epollstate (leave-running)", "epollstate", [], None, None, True),
        ("highfds", "highfds", [], None, None),
        ("mmapbase", "mmapbase", [], None, None),
        ("mmapbase --legacy (leave-running)", "mmapbase", ["--legacy"], None, None, True),
        ("sigdefault", "sigdefault", [], None, None),
        ("chrooted", "chrooted", [], None, None),
        ("upgraded", "upgraded", [], None, None),
        ("unsupported --kind=eventfd", "unsupported", ["--kind=eventfd"], None, None),
        ("posixtimers", "posixtimers", [], None, None),
        ("unsupported --kind=posix-timer", "unsupported", ["--kind=posix-timer"], None, None),
        ("mutator (leave-running)", "mutator", [], None, None, True),
        ("multiproc (leave-running)", "multiproc", ["--seed=1"], None, None, True),
        ("threads (leave-running)", "threads", [], None, None, True),
    ]:
        if not only or label in only or name in only:
            guarded("cr", label, cycle, label, name, args, golden, dump, bool(leave))
    for label, args in [
        ("terminal", ["--tty={tty}"]),
        ("terminal (--ctty --raw)", ["--tty={tty}", "--ctty", "--raw", "--expect-winch"]),
    ]:
        if not only or label in only or "terminal" in only:
            guarded("cr", label, terminal_cycle, label, args)
    for label, name, args, expect, *names in [
        ("UDP socket with a datagram waiting", "udpsock", ["--pending"], ["fd 40", "datagrams wait in its queue"]),
        ("pidfd of a process outside the tree", "unsupported", ["--kind=pidfd-outside"], ["fd 3 (pidfd)", "not in the checkpointed tree"]),
        ("TCP listener with a connection waiting", "unsupported", ["--kind=tcp-pending"], ["fd 3", "connections wait"]),
        ("Unix listener with a connection waiting", "unixlisten", ["--pending"], ["fd 40", "wait in its queue"]),
        ("named Unix datagram socket", "unsupported", ["--kind=unix-dgram-named"], ["fd 3", "a datagram Unix socket bound to the name"]),
        ("Unix connection named at both ends, listener closed", "unsupported", ["--kind=unix-both-named"], ["both ends of its connection are named"]),
        ("inotify with events waiting", "unsupported", ["--kind=inotify-pending"], ["fd 3", "events wait"]),
        ("epoll watching a closed number", "unsupported", ["--kind=epoll-closed"], ["fd 4 (epoll)", "fd 5"]),
        ("UDP shut down for reading", "unsupported", ["--kind=udp-shut-read"], ["fd 3", "shut down for reading"]),
        ("memory shared with a child (CLONE_VM)", "unsupported", ["--kind=shared-vm"], ["CLONE_VM"], r"pid (\d+): its memory: it shares it with pid \d+"),
        ("descriptor table shared with a child (CLONE_FILES)", "unsupported", ["--kind=shared-files"], ["CLONE_FILES"], r"pid (\d+): its descriptor table: it shares it with pid \d+"),
        ("working directory shared with a child (CLONE_FS)", "unsupported", ["--kind=shared-fs"], ["CLONE_FS"], r"pid (\d+): its working directory, root and umask: it shares it with pid \d+"),
        ("NUMA memory policy", "unsupported", ["--kind=mempolicy"], ["set_mempolicy"], r"pid (\d+): tid \d+: it has a NUMA memory policy"),
        ("machine-check kill policy", "unsupported", ["--kind=mce-kill"], ["PR_MCE_KILL"], r"pid (\d+): tid \d+: it has a machine-check kill policy"),
        ("deleted file of 80 MiB", "unsupported", ["--kind=deleted-big"], ["fd 3", "deleted file", "64 MiB"]),
        ("seccomp filter handing calls to a supervisor", "unsupported", ["--kind=seccomp-notify"], ["SECCOMP_RET_USER_NOTIF"], r"pid (\d+): tid \d+: its seccomp filter"),
        ("seccomp filter killing on a call cryo makes", "unsupported", ["--kind=seccomp-kill"], ["SECCOMP_RET_KILL_PROCESS", "does not make it"], r"of pid (\d+) failed: tid \d+: its seccomp filters"),
        ("seccomp filter refusing seccomp() without TSYNC", "unsupported", ["--kind=seccomp-stack"], ["answers seccomp() itself"], r"pid (\d+): tid \d+: its seccomp filter"),
        ("seccomp strict mode thread", "seccomp", ["--strict-thread"], ["strict mode"], r"pid (\d+): tid \d+: it is in seccomp strict mode"),
        ("thread-cpu-timer", "unsupported", ["--kind=thread-cpu-timer"], ["not saved"], r"pid (\d+): POSIX timer 0"),
        ("deadline", "unsupported", ["--kind=deadline"], ["SCHED_DEADLINE", "not saved"], r"pid (\d+): tid \d+: scheduling policy"),
        ("socket in a grandchild", "multiproc", ["--socket-in-child"], ["socket"]),
        ("System V segment partly unmapped", "sysvshm", ["--partial"], ["/SYSV", "its start was unmapped"], r"pid (\d+): memory mapping"),
        ("memfd of huge pages", "unsupported", ["--kind=memfd-hugetlb"], ["fd 3", "MFD_HUGETLB"]),
        ("traced by another tracer", "unsupported", ["--kind=traced"], ["only one tracer"], r"pid (\d+) is already traced"),
        ("pseudo-terminal master", "unsupported", ["--kind=ptmx"], ["fd 3", "pseudo-terminal master"]),
    ]:
        if not only or "refusal" in only:
            guarded("refusal", label, refusal, label, name, args, expect, *names)
    with open(os.path.join(OUT, "programs.seconds"), "w") as f:
        f.write(f"{time.monotonic() - started:.1f}\n")
    if not only or "property" in only:
        properties()


if __name__ == "__main__":
    main()
