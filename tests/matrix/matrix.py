#!/usr/bin/env python3
"""The kernel compatibility matrix of cryo (see README.md beside this file).

Fetches Debian kernels with `apt-get download` under a private apt configuration (the machine's
sources are never touched), caches them outside the repo, builds a busybox-static initramfs that
loads the virtio/9p/overlay modules in dependency order, boots each kernel under
qemu-system-x86_64 with the host's root filesystem shared read-only (9p) under a writable tmpfs
overlay, runs guest-suite.sh inside (`cryo check --json` and a lean C/R suite with the NativeAOT
cryo), runs the same suite natively on the host kernel, and writes docs/compat-matrix.md and
docs/compat-matrix.json.
"""
import argparse, glob, json, lzma, os, re, shutil, subprocess, sys, time

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
MODULES = ["virtio_pci", "9pnet_virtio", "9p", "overlay", "virtiofs"]


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


def prepare_out(out, cryo, progs):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    shutil.copy(os.path.join(REPO, "tests", "matrix", "guest-suite.sh"), os.path.join(out, "run.sh"))
    with open(os.path.join(out, "env.sh"), "w") as f:
        f.write(f"CRYO={cryo}\nPROGS={progs}\nOUT={out}\n")


def boot(label, vmlinuz, initramfs, out, accel, timeout, memory, root):
    """Boots once; returns (accel used, seconds, console text)."""
    console = os.path.join(out, "console.log")
    command = [
        "qemu-system-x86_64", "-accel", accel, "-cpu", "host" if accel == "kvm" else "max", "-smp", "1", "-m", str(memory),
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


def run_guest(args, label, vmlinuz, initramfs, cryo, progs):
    out = os.path.join(args.cache, "results", label)
    accels = [args.accel] if args.accel != "auto" else ["kvm", "tcg"]
    for accel in accels:
        prepare_out(out, cryo, progs)
        if accel == "kvm" and not os.access("/dev/kvm", os.W_OK):
            continue
        used, seconds, text = boot(label, vmlinuz, initramfs, out, accel, args.timeout if accel == "tcg" else args.kvm_timeout, args.memory, args.root)
        if "cryo-matrix: suite done" in text:
            log(f"{label}: suite ran under {used} in {seconds:.0f} s")
            return out, used, seconds
        error = open(os.path.join(out, "qemu.err"), errors="replace").read().strip()
        log(f"{label}: no result under {accel} ({seconds:.0f} s); qemu: {error[-300:]!r}; console tail: {text[-300:]!r}")
    return out, accels[-1], None


def run_native(args, cryo, progs):
    out = os.path.join(args.cache, "results", "host")
    prepare_out(out, cryo, progs)
    start = time.time()
    run(["bash", os.path.join(out, "run.sh"), out])
    return out, time.time() - start


def collect(label, out, accel, seconds):
    entry = {"kernel": label, "accel": accel, "seconds": round(seconds, 1) if seconds else None}
    def read(name):
        path = os.path.join(out, name)
        return open(path).read().strip() if os.path.exists(path) else None
    entry["uname"] = read("uname")
    check = read("check.json")
    try:
        entry["check"] = json.loads(check) if check else None
    except json.JSONDecodeError:
        entry["check"] = None
        entry["checkError"] = (read("check.err") or "")[-500:]
    entry["checkExit"] = int(read("check.rc")) if read("check.rc") else None
    entry["tests"] = {}
    for line in (read("results.tsv") or "").splitlines():
        name, result, detail = (line.split("\t") + ["", ""])[:3]
        entry["tests"][name] = {"result": result, "detail": detail}
    return entry


def write_report(entries, path_md, path_json):
    with open(path_json, "w") as f:
        json.dump({"schema": "cryo-compat-matrix/1", "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   "kernels": entries}, f, indent=2)
        f.write("\n")
    kernels = [e["kernel"] for e in entries]
    lines = ["# Kernel compatibility matrix", "",
             f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `tests/matrix/run` "
             "(see tests/matrix/README.md); raw data in `docs/compat-matrix.json`.", "",
             "## Runs", "", "| kernel | uname -r | how | seconds | `cryo check` exit |", "|---|---|---|---|---|"]
    for e in entries:
        lines.append(f"| {e['kernel']} | {e.get('uname') or '—'} | {e['accel']} | {e['seconds'] or '—'} | {e['checkExit'] if e['checkExit'] is not None else '—'} |")
    tests = sorted({t for e in entries for t in e["tests"]})
    if tests:
        lines += ["", "## Checkpoint/restore of the test programs", "",
                  "| test | " + " | ".join(kernels) + " |", "|---" * (len(kernels) + 1) + "|"]
        for t in tests:
            cells = []
            for e in entries:
                r = e["tests"].get(t)
                cells.append("—" if r is None else ("pass" if r["result"] == "pass" else f"**{r['result']}**"))
            lines.append(f"| {t} | " + " | ".join(cells) + " |")
        failures = [(e["kernel"], t, r["detail"]) for e in entries for t, r in e["tests"].items() if r["result"] != "pass"]
        if failures:
            lines += ["", "Failures:", ""] + [f"- {k} / {t}: {d}" for k, t, d in failures]
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kernels", default=",".join(["host"] + [k[0] for k in KERNELS]),
                        help="comma-separated labels: host," + ",".join(k[0] for k in KERNELS))
    parser.add_argument("--cache", default="/var/cache/cryo-matrix")
    parser.add_argument("--accel", choices=["auto", "kvm", "tcg"], default="auto")
    parser.add_argument("--timeout", type=int, default=1500, help="seconds per TCG boot")
    parser.add_argument("--kvm-timeout", type=int, default=90)
    parser.add_argument("--root", choices=["direct", "overlay"], default="direct",
                        help="guest root: the read-only 9p mount itself (default), or under a tmpfs overlay "
                             "(cryo refuses file mappings there: see docs/compat-matrix.md)")
    parser.add_argument("--memory", type=int, default=1536, help="guest MiB")
    parser.add_argument("--cryo", help="a NativeAOT cryo (default: publish one into CACHE/aot)")
    parser.add_argument("--report-only", action="store_true", help="rewrite the docs from the cached results")
    args = parser.parse_args()
    labels = args.kernels.split(",")
    cryo = args.cryo or os.path.join(args.cache, "aot", "cryo")
    progs = os.path.join(REPO, "testprogs", "bin")
    if not args.report_only:
        if not args.cryo:
            log("dotnet publish -p:PublishAot=true (NativeAOT cryo)")
            run(["dotnet", "publish", os.path.join(REPO, "src", "Cryo"), "-c", "Release", "-r", "linux-x64",
                 "-p:PublishAot=true", "-o", os.path.join(args.cache, "aot"), "--nologo", "-v", "q"])
        run(["make", "-s", "-C", os.path.join(REPO, "testprogs")])
        apt = Apt(args.cache)
        apt.update()
        busybox = fetch_busybox(apt, args.cache)
    entries_path = os.path.join(args.cache, "results", "entries.json")
    entries = json.load(open(entries_path)) if os.path.exists(entries_path) else {}
    for label in labels:
        if args.report_only:
            break
        if label == "host":
            out, seconds = run_native(args, cryo, progs)
            entries["host"] = collect(f"host ({os.uname().release})", out, "native", seconds)
        else:
            spec = next(k for k in KERNELS if k[0] == label)
            vmlinuz, modules_dir, version = fetch_kernel(apt, args.cache, *spec)
            initramfs = build_initramfs(args.cache, label, busybox, modules_dir)
            out, accel, seconds = run_guest(args, label, vmlinuz, initramfs, cryo, progs)
            entries[label] = collect(f"{label} ({version})", out, accel, seconds)
        os.makedirs(os.path.dirname(entries_path), exist_ok=True)
        with open(entries_path, "w") as f:
            json.dump(entries, f, indent=2)
    order = ["host"] + [k[0] for k in KERNELS]
    write_report([entries[k] for k in order if k in entries],
                 os.path.join(REPO, "docs", "compat-matrix.md"), os.path.join(REPO, "docs", "compat-matrix.json"))
    log("wrote docs/compat-matrix.md and docs/compat-matrix.json")


if __name__ == "__main__":
    main()
