#!/usr/bin/env python3
"""The kernel compatibility matrix of cryo (see README.md beside this file).

Fetches Debian kernels with `apt-get download` under a private apt configuration (the machine's
sources are never touched), caches them outside the repo, builds a busybox-static initramfs that
loads the virtio/9p/overlay modules in dependency order, boots each kernel under
qemu-system-x86_64 with the host's root filesystem shared read-only (9p) under a writable tmpfs
overlay, runs guest-suite.py inside (`cryo check --json`, every test program through checkpoint,
golden comparison and restore, the refusal cases, the pipe properties P1-P5 with reduced counts;
NativeAOT cryo and cryo-dump), runs the same suite natively on the host kernel, and writes
docs/compat-matrix.md and docs/compat-matrix.json.
"""
import argparse, glob, json, lzma, os, re, resource, shutil, subprocess, sys, time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MIRROR = "http://deb.debian.org/debian"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
# label, suite, meta package (generic amd64 flavour: it has 9p and virtiofs)
KERNELS = [
    ("5.10", "bullseye", "linux-image-amd64"),
    ("6.1", "bookworm", "linux-image-amd64"),
    ("6.12", "trixie", "linux-image-amd64"),
    ("7.2", "sid", "linux-image-amd64"),
    ("7.3-rc", "experimental", "linux-image-amd64"),
]
SUITES = sorted({k[1] for k in KERNELS} | {"bookworm"})
# what the initramfs loads (with their dependencies); missing ones are built in
# unix_diag, tcp_diag: a Debian system loads them on the first request (Unix socket pairs and the
# backlogs of listening TCP sockets need them); an initramfs must load them itself.
MODULES = ["virtio_pci", "9pnet_virtio", "9p", "overlay", "virtiofs", "unix_diag", "tcp_diag"]


def log(message):
    print(f"matrix: {message}", file=sys.stderr, flush=True)


def run(command, **kwargs):
    return subprocess.run(command, check=True, text=True, **kwargs)


class Apt:
    """apt-get/apt-cache with a private sources.list, lists and cache under CACHE/apt."""

    def __init__(self, cache):
        self.root = os.path.join(cache, "apt")
        for d in ("lists/partial", "cache/archives/partial", "etc"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        self.sources = os.path.join(self.root, "etc", "sources.list")
        with open(self.sources, "w") as f:
            for suite in SUITES:
                f.write(f"deb [signed-by={KEYRING}] {MIRROR} {suite} main\n")
        self.options = [
            "-o", f"Dir::Etc::SourceList={self.sources}", "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={self.root}/lists", "-o", f"Dir::Cache={self.root}/cache",
            "-o", "Dir::Etc::Preferences=/dev/null", "-o", "Dir::Etc::PreferencesParts=/dev/null",
            "-o", "APT::Get::List-Cleanup=0", "-o", "APT::Sandbox::User=root",
        ]

    def update(self):
        stamp = os.path.join(self.root, "updated")
        if os.path.exists(stamp) and time.time() - os.path.getmtime(stamp) < 24 * 3600:
            return
        log("apt-get update (private lists)")
        run(["apt-get", *self.options, "-qq", "update"])
        open(stamp, "w").close()

    def cache(self, *args):
        return run(["apt-cache", *self.options, *args], capture_output=True).stdout

    def version_in(self, package, suite):
        for line in self.cache("madison", package).splitlines():
            fields = [f.strip() for f in line.split("|")]
            if len(fields) == 3 and f" {suite}/" in f" {fields[2].split(' ', 1)[1]}":
                return fields[1]
        return None

    def depends(self, package, version):
        text = self.cache("show", f"{package}={version}")
        match = re.search(r"^Depends: (.*)$", text, re.M)
        return [d.strip().split(" ")[0] for d in match.group(1).split(",")] if match else []

    def download(self, specs, directory):
        os.makedirs(directory, exist_ok=True)
        run(["apt-get", *self.options, "-qq", "download", *specs], cwd=directory)


def fetch_kernel(apt, cache, label, suite, meta):
    """Downloads and extracts one kernel; returns (vmlinuz, modules dir, package version)."""
    root = os.path.join(cache, "kernels", label)
    done = os.path.join(root, "extracted")
    if not os.path.exists(done):
        version = apt.version_in(meta, suite)
        if not version:
            raise RuntimeError(f"{meta} is not served for {suite}")
        image = next(d for d in apt.depends(meta, version) if d.startswith("linux-image-"))
        deps = apt.depends(image, version)
        parts = [d for d in deps if d.startswith(("linux-binary-", "linux-modules-"))]  # 7.x split packages
        if not parts:
            parts = [f"{image}-unsigned"] if apt.version_in(f"{image}-unsigned", suite) else [image]
        debs = os.path.join(root, "debs")
        shutil.rmtree(debs, ignore_errors=True)
        log(f"{label}: apt-get download {' '.join(parts)} ({suite}, {version})")
        apt.download([f"{p}={version}" for p in parts], debs)
        shutil.rmtree(os.path.join(root, "root"), ignore_errors=True)
        for deb in glob.glob(os.path.join(debs, "*.deb")):
            run(["dpkg-deb", "-x", deb, os.path.join(root, "root")])
        with open(done, "w") as f:
            f.write(version + "\n")
    version = open(done).read().strip()
    vmlinuz = sorted(glob.glob(os.path.join(root, "root", "boot", "vmlinuz-*")) +
                     glob.glob(os.path.join(root, "root", "usr", "lib", "modules", "*", "vmlinuz")))  # 7.x
    modules = sorted(glob.glob(os.path.join(root, "root", "lib", "modules", "*")) +
                     glob.glob(os.path.join(root, "root", "usr", "lib", "modules", "*")))
    if not vmlinuz or not modules:
        raise RuntimeError(f"{label}: no vmlinuz or modules under {root}/root")
    return vmlinuz[0], modules[0], version


def fetch_busybox(apt, cache):
    binary = os.path.join(cache, "busybox", "bin", "busybox")
    if not os.path.exists(binary):
        directory = os.path.join(cache, "busybox")
        apt.download(["busybox-static/bookworm"], os.path.join(directory, "debs"))
        run(["dpkg-deb", "-x", glob.glob(os.path.join(directory, "debs", "*.deb"))[0], directory])
    return binary


def module_bytes(path):
    if path.endswith(".xz"):
        return lzma.open(path).read()
    if path.endswith(".zst"):
        return run(["zstd", "-dc", path], capture_output=True, text=False).stdout
    if path.endswith(".gz"):
        import gzip
        return gzip.open(path).read()
    return open(path, "rb").read()


def modinfo_depends(data):
    match = re.search(rb"(?:^|\x00)depends=([^\x00]*)", data)
    return [d for d in match.group(1).decode().split(",") if d] if match else []


def resolve_modules(modules_dir):
    """(name, bytes) of the wanted modules and their dependencies, dependencies first."""
    files = {}
    for path in glob.glob(os.path.join(modules_dir, "kernel", "**", "*.ko*"), recursive=True):
        name = re.sub(r"\.ko(\.(xz|zst|gz))?$", "", os.path.basename(path)).replace("-", "_")
        files[name] = path
    order, seen = [], set()

    def visit(name):
        name = name.replace("-", "_")
        if name in seen:
            return
        seen.add(name)
        if name not in files:
            return  # built in
        data = module_bytes(files[name])
        for dep in modinfo_depends(data):
            visit(dep)
        order.append((name, data))

    for wanted in MODULES:
        visit(wanted)
    return order


def build_initramfs(cache, label, busybox, modules_dir):
    out = os.path.join(cache, "kernels", label, "initramfs.cpio.gz")
    work = os.path.join(cache, "kernels", label, "initramfs")
    shutil.rmtree(work, ignore_errors=True)
    for d in ("bin", "modules", "proc", "sys", "dev", "lower", "rw", "root", "out"):
        os.makedirs(os.path.join(work, d))
    shutil.copy(busybox, os.path.join(work, "bin", "busybox"))
    shutil.copy(os.path.join(REPO, "tests", "matrix", "guest-init.sh"), os.path.join(work, "init"))
    os.chmod(os.path.join(work, "init"), 0o755)
    names = []
    for i, (name, data) in enumerate(resolve_modules(modules_dir)):
        file = f"{i:02d}-{name}.ko"
        with open(os.path.join(work, "modules", file), "wb") as f:
            f.write(data)
        names.append(file)
    with open(os.path.join(work, "modules", "order"), "w") as f:
        f.write("\n".join(names) + "\n")
    listing = run(["find", "."], cwd=work, capture_output=True).stdout
    cpio = subprocess.run([busybox, "cpio", "-o", "-H", "newc"], cwd=work, input=listing.encode(), capture_output=True, check=True).stdout
    import gzip
    with gzip.open(out, "wb") as f:
        f.write(cpio)
    log(f"{label}: initramfs with {', '.join(n[3:-3] for n in names) or 'no modules (all built in)'}")
    return out


def host_limits():
    """This process's resource limits (all 16, by number): the guest suite reproduces them (the goldens hold them)."""
    return {str(r): list(resource.getrlimit(r)) for r in range(16)}  # RLIMIT_CPU (0) .. RLIMIT_RTTIME (15)


def host_bounding_set():
    for line in open("/proc/self/status"):
        if line.startswith("CapBnd:"):
            return int(line.split()[1], 16)
    return None


def prepare_out(args, out, tools):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    shutil.copy(os.path.join(REPO, "tests", "matrix", "guest-suite.py"), os.path.join(out, "run.py"))
    config = {"cryo": tools["cryo"], "cryoDump": tools["cryo-dump"], "progs": tools["progs"], "repo": REPO,
              "limits": host_limits(), "capBnd": host_bounding_set(), "only": args.only.split(",") if args.only else []}
    if tools.get("property"):
        config["property"] = {"dll": tools["property"], "vstest": tools["vstest"], "runs": args.property_runs,
                              "timeout": args.property_timeout}
    with open(os.path.join(out, "env.json"), "w") as f:
        json.dump(config, f, indent=2)


def boot(label, vmlinuz, initramfs, out, accel, timeout, memory, root, cpu):
    """Boots once; returns (accel used, seconds, console text)."""
    console = os.path.join(out, "console.log")
    command = [
        "qemu-system-x86_64", "-accel", accel, "-cpu", "host" if accel == "kvm" else cpu, "-smp", "1", "-m", str(memory),
        "-nographic", "-no-reboot", "-kernel", vmlinuz, "-initrd", initramfs,
        "-append", f"console=ttyS0 panic=-1 quiet loglevel=4 cryo.root={root}",
        "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
        "-virtfs", f"local,path={out},mount_tag=out,security_model=none,multidevs=remap",
        "-nic", "none", "-serial", f"file:{console}", "-monitor", "none", "-display", "none",
    ]
    start = time.time()
    try:
        subprocess.run(command, timeout=timeout, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(os.path.join(out, "qemu.err"), "w"))
    except subprocess.TimeoutExpired:
        log(f"{label}: qemu ({accel}) timed out after {timeout} s")
    text = open(console, errors="replace").read() if os.path.exists(console) else ""
    return accel, time.time() - start, text


# CPU features that add xsave components, as /proc/cpuinfo and qemu's -cpu name them
XSAVE_FEATURES = ["mpx", "pku", "avx512f", "amx-tile"]


def guest_cpu():
    """`max` without the xsave components the host CPU lacks: the guests' xstate (size and XCR0)
    is the host's, so are the stack depths that depend on it (ld.so's lazy-binding trampoline and
    signal frames save the xstate on the stack: a thread stack of `threads` holds one more page
    with `-cpu max`'s MPX and PKRU), and the golden item streams recorded on the host apply."""
    flags = set()
    for line in open("/proc/cpuinfo"):
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    return ",".join(["max"] + [f"{f}=off" for f in XSAVE_FEATURES if f.replace("-", "_") not in flags])


def run_guest(args, label, vmlinuz, initramfs, tools):
    out = os.path.join(args.cache, "results", label)
    accels = [args.accel] if args.accel != "auto" else ["kvm", "tcg"]
    for accel in accels:
        prepare_out(args, out, tools)
        if accel == "kvm" and not os.access("/dev/kvm", os.W_OK):
            continue
        used, seconds, text = boot(label, vmlinuz, initramfs, out, accel, args.timeout if accel == "tcg" else args.kvm_timeout, args.memory, args.root, args.cpu)
        if "cryo-matrix: suite done" in text:
            log(f"{label}: suite ran under {used} in {seconds:.0f} s")
            return out, used, seconds
        error = open(os.path.join(out, "qemu.err"), errors="replace").read().strip()
        log(f"{label}: no result under {accel} ({seconds:.0f} s); qemu: {error[-300:]!r}; console tail: {text[-300:]!r}")
    return out, accels[-1], None


def run_native(args, tools):
    out = os.path.join(args.cache, "results", "host")
    prepare_out(args, out, tools)
    start = time.time()
    code = subprocess.run(["python3", os.path.join(out, "run.py"), out]).returncode
    if code != 0:
        log(f"host: the suite exited {code}")
    return out, time.time() - start


def collect(label, out, accel, seconds):
    entry = {"kernel": label, "accel": accel, "seconds": round(seconds, 1) if seconds else None}
    def read(name):
        path = os.path.join(out, name)
        return open(path).read().strip() if os.path.exists(path) else None
    entry["uname"] = read("uname")
    for key, name in (("programSeconds", "programs.seconds"), ("propertySeconds", "property.seconds")):
        entry[key] = float(read(name)) if read(name) else None
    check = read("check.json")
    try:
        entry["check"] = json.loads(check) if check else None
    except json.JSONDecodeError:
        entry["check"] = None
        entry["checkError"] = (read("check.err") or "")[-500:]
    entry["checkExit"] = int(read("check.rc")) if read("check.rc") else None
    entry["tests"] = {}
    for line in (read("results.jsonl") or "").splitlines():
        r = json.loads(line)
        entry["tests"].setdefault(r.pop("group"), {})[r.pop("name")] = r
    return entry


# report sections: group in results.jsonl, title, what a row is
GROUPS = [
    ("cr", "Checkpoint/restore of the test programs",
     "Each program started as the golden tests start it, `cryo checkpoint` (kills it), `cryo restore`, SIGTERM, "
     "the program's own check (PASS/FAIL) and cryo's exit status."),
    ("golden", "Golden item streams",
     "`cryo-dump --normalize` of each checkpoint above against `tests/Golden/NAME.verified.txt` (recorded on the host)."),
    ("refusal", "Refusals",
     "`cryo checkpoint` must exit 1 naming pid, fd and kind, write no file, and leave the program passing."),
    ("property", "Pipe properties (tests/Property, reduced counts)",
     "The FsCheck properties P1-P5 run by vstest from the test assembly built on the host, with the NativeAOT cryo "
     "(`CRYO_BIN_DIR`) and `CRYO_PROPERTY_RUNS` cases each."),
]


def write_report(entries, path_md, path_json):
    with open(path_json, "w") as f:
        json.dump({"schema": "cryo-compat-matrix/2", "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   "kernels": entries}, f, indent=2)
        f.write("\n")
    kernels = [e["kernel"] for e in entries]
    lines = ["# Kernel compatibility matrix", "",
             f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `tests/matrix/run` "
             "(see tests/matrix/README.md); raw data in `docs/compat-matrix.json`.", "",
             "## Runs", "",
             "| kernel | uname -r | how | seconds in all | programs, refusals (s) | properties (s) | `cryo check` exit |",
             "|---|---|---|---|---|---|---|"]
    for e in entries:
        how = f"{e['accel']} (`-cpu {e['cpu']}`)" if e.get("cpu") and e["accel"] == "tcg" else e["accel"]
        lines.append(f"| {e['kernel']} | {e.get('uname') or '—'} | {how} | {e['seconds'] or '—'} | "
                     f"{e.get('programSeconds') or '—'} | {e.get('propertySeconds') or '—'} | "
                     f"{e['checkExit'] if e['checkExit'] is not None else '—'} |")
    failures = []
    for group, title, what in GROUPS:
        names = []
        for e in entries:
            for name in e["tests"].get(group, {}):
                if name not in names:
                    names.append(name)
        if not names:
            continue
        lines += ["", f"## {title}", "", what, "", "| test | " + " | ".join(kernels) + " |", "|---" * (len(kernels) + 1) + "|"]
        for name in names:
            cells = []
            for e in entries:
                r = e["tests"].get(group, {}).get(name)
                cells.append("—" if r is None else ("pass" if r["result"] == "pass" else f"**{r['result']}**"))
                if r is not None and r["result"] != "pass":
                    failures.append((e["kernel"], title, name, r["detail"]))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        if group == "property":
            lines += ["", "Cases run and their classes, per kernel:", ""]
            for e in entries:
                for name, r in e["tests"].get(group, {}).items():
                    if r["result"] == "pass":
                        lines.append(f"- {e['kernel']}: {r['detail']}")
    if failures:
        lines += ["", "## Failures (what the program and cryo said)", ""]
        lines += [f"- {k} / {t} / {n}: {d}" for k, t, n, d in failures]
    probes = []
    for e in entries:
        for p in (e["check"] or {}).get("probes", []):
            if p["name"] not in probes:
                probes.append(p["name"])
    lines += ["", "## `cryo check`", "", "| probe | " + " | ".join(kernels) + " |", "|---" * (len(kernels) + 1) + "|"]
    for name in probes:
        cells = []
        for e in entries:
            p = next((p for p in (e["check"] or {}).get("probes", []) if p["name"] == name), None)
            cells.append("—" if p is None else p["status"] if p["status"] == "ok" else f"**{p['status']}**")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "### Details that differ from ok", ""]
    for e in entries:
        for p in (e["check"] or {}).get("probes", []):
            if p["status"] != "ok" or p["name"] == "vdso-layout":
                lines.append(f"- {e['kernel']} `{p['name']}` ({p['status']}): {p['detail']}")
    notes = os.path.join(REPO, "tests", "matrix", "notes.md")
    if os.path.exists(notes):
        lines += ["", open(notes).read().rstrip()]
    with open(path_md, "w") as f:
        f.write("\n".join(lines) + "\n")


def build_tools(args):
    """NativeAOT cryo and cryo-dump (CACHE/aot), the test programs, and the property test assembly."""
    aot = os.path.join(args.cache, "aot")
    tools = {"cryo": args.cryo or os.path.join(aot, "cryo"), "cryo-dump": os.path.join(os.path.dirname(args.cryo or os.path.join(aot, "cryo")), "cryo-dump"),
             "progs": os.path.join(REPO, "testprogs", "bin")}
    if not args.cryo:
        for project in ("Cryo", "Cryo.Dump"):
            log(f"dotnet publish src/{project} -p:PublishAot=true (NativeAOT)")
            run(["dotnet", "publish", os.path.join(REPO, "src", project), "-c", "Release", "-r", "linux-x64",
                 "-p:PublishAot=true", "-o", aot, "--nologo", "-v", "q"])
    run(["make", "-s", "-C", os.path.join(REPO, "testprogs")])
    # The golden tests run the programs from their output directory, and the goldens hold that cwd.
    os.makedirs(os.path.join(REPO, "tests", "Golden", "bin", "Debug", "net10.0"), exist_ok=True)
    if args.property_runs > 0:
        # Its own output directory (under the repo: the tests find the repository by Cryo.sln above them).
        out = os.path.join(REPO, "artifacts", "matrix", "property")
        log("dotnet build tests/Property (the property tests, run in each guest by vstest)")
        run(["dotnet", "build", os.path.join(REPO, "tests", "Property"), "-c", "Debug", "-o", out, "--nologo", "-v", "q"])
        tools["property"] = os.path.join(out, "Cryo.Tests.Property.dll")
        sdk = run(["dotnet", "--version"], capture_output=True).stdout.strip()
        base = os.path.join(os.path.dirname(os.path.realpath(shutil.which("dotnet"))), "sdk", sdk, "vstest.console.dll")
        if not os.path.exists(base):
            raise RuntimeError(f"no vstest.console.dll in the SDK ({base})")
        tools["vstest"] = base
    return tools


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kernels", default=",".join(["host"] + [k[0] for k in KERNELS]),
                        help="comma-separated labels: host," + ",".join(k[0] for k in KERNELS))
    parser.add_argument("--cache", default="/var/cache/cryo-matrix")
    parser.add_argument("--accel", choices=["auto", "kvm", "tcg"], default="auto")
    parser.add_argument("--timeout", type=int, default=2400, help="seconds per TCG boot")
    parser.add_argument("--kvm-timeout", type=int, default=90)
    parser.add_argument("--root", choices=["overlay", "direct"], default="overlay",
                        help="guest root: the host's root read-only (9p) under a writable tmpfs overlay (default), "
                             "or the read-only 9p mount itself with tmpfs on /tmp, /run, /var/tmp (the golden "
                             "comparison then differs: the programs' files are on another device than their binaries)")
    parser.add_argument("--memory", type=int, default=2048, help="guest MiB")
    parser.add_argument("--cpu", help="qemu -cpu under TCG (default: max without the xsave features the host lacks, "
                                      f"here {guest_cpu()})")
    parser.add_argument("--only", help="comma-separated labels of the suite's rows to run (programs, 'refusal', 'property'): for debugging")
    parser.add_argument("--property-runs", type=int, default=3,
                        help="CRYO_PROPERTY_RUNS: cases per property P1-P5 (0: skip the properties)")
    parser.add_argument("--property-timeout", type=int, default=1200, help="seconds for the property run in one kernel")
    parser.add_argument("--cryo", help="a NativeAOT cryo with cryo-dump beside it (default: publish both into CACHE/aot)")
    parser.add_argument("--report-only", action="store_true", help="rewrite the docs from the cached results")
    args = parser.parse_args()
    labels = args.kernels.split(",")
    args.cpu = args.cpu or guest_cpu()
    if not args.report_only:
        tools = build_tools(args)
        apt = Apt(args.cache)
        apt.update()
        busybox = fetch_busybox(apt, args.cache)
    entries_path = os.path.join(args.cache, "results", "entries.json")
    entries = json.load(open(entries_path)) if os.path.exists(entries_path) else {}
    for label in labels:
        if args.report_only:
            break
        if label == "host":
            out, seconds = run_native(args, tools)
            entries["host"] = collect(f"host ({os.uname().release})", out, "native", seconds)
        else:
            spec = next(k for k in KERNELS if k[0] == label)
            vmlinuz, modules_dir, version = fetch_kernel(apt, args.cache, *spec)
            initramfs = build_initramfs(args.cache, label, busybox, modules_dir)
            out, accel, seconds = run_guest(args, label, vmlinuz, initramfs, tools)
            entries[label] = collect(f"{label} ({version})", out, accel, seconds)
            entries[label]["cpu"] = args.cpu if accel == "tcg" else "host"
        os.makedirs(os.path.dirname(entries_path), exist_ok=True)
        with open(entries_path, "w") as f:
            json.dump(entries, f, indent=2)
    order = ["host"] + [k[0] for k in KERNELS]
    write_report([entries[k] for k in order if k in entries],
                 os.path.join(REPO, "docs", "compat-matrix.md"), os.path.join(REPO, "docs", "compat-matrix.json"))
    log("wrote docs/compat-matrix.md and docs/compat-matrix.json")


if __name__ == "__main__":
    main()
