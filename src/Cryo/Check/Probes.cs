namespace Cryo.Check;

/// <summary>
/// Every probe of `cryo check`, in table order. Needed (no fallback; without it even a simple
/// checkpoint or restore fails) or optional (cryo has a fallback, or only a narrower feature or
/// a planned one depends on it). The names are stable: they are the JSON's keys.
/// </summary>
internal static class Probes
{
    // The cryo features probes name in "affects" (stable strings, listed in docs/cryo-check.md).
    public const string Checkpoint = "checkpoint", Restore = "restore", PipeDump = "pipe contents (checkpoint)",
        PipeTee = "pipe dump by tee (default; drain remains)", PacketPipes = "packet-mode pipes", PipeRestore = "pipe restore",
        PidRestore = "pid restore", MmRestore = "memory layout restore", Rseq = "rseq registration (checkpoint and stub)",
        SharedFiles = "shared file descriptions (checkpoint)",
        PageWrite = "page write-back (restore; /proc/PID/mem remains)",
        PageFill = "filling anonymous memory by UFFDIO_COPY (restore; process_vm_writev remains)", SparseScan = "sparse memory scan (planned)",
        Incremental = "incremental/pre-dump (planned)", Memfd = "memfd objects (checkpoint and restore)", SocketPairs = "Unix socket pairs (checkpoint)",
        MembarrierGlobal = "membarrier global expedited registrations (checkpoint)", SeccompFilters = "seccomp filters (checkpoint)", ListenBacklogs = "backlogs of listening TCP sockets (checkpoint)", LargePipes = "pipes above pipe-max-size (restore)",
        RaiseLimits = "raising hard rlimits (restore)", OtherUsers = "processes of other users", CheckpointRestoreCap = "pid and mm restore without CAP_SYS_ADMIN",
        // What the /proc/PID/fd reopen fallback of pidfd_getfd loses (docs/engine-files.md).
        SharedDescriptions = "file descriptions shared across processes (restore; reopened apart)",
        PipeEndFlags = "exact pipe end status flags (restore; reopened ends gain O_LARGEFILE)", PacketDrain = "drain of packet-mode pipes (checkpoint)";

    public static IReadOnlyList<Probe> All { get; } =
    [
        new("ptrace-seize", true, [Checkpoint, Restore], PtraceProbes.SeizeInterrupt),
        new("syscall-injection", true, [Checkpoint, Restore], PtraceProbes.SyscallInjection),
        new("ptrace-rseq-config", false, [Rseq], PtraceProbes.RseqConfiguration),
        new("process_vm_readv", true, [Checkpoint], MemoryProbes.ProcessVmReadv),
        new("process_vm_writev", false, [PageWrite], MemoryProbes.ProcessVmWritev),
        new("uffd-copy", false, [PageFill], MemoryProbes.UffdCopy),
        new("proc-pid-mem", true, [Restore], MemoryProbes.ProcPidMem),
        new("pagemap", true, [Checkpoint], MemoryProbes.Pagemap),
        new("vdso-layout", true, [Checkpoint, Restore], MemoryProbes.VdsoLayout),
        new("pidfd_open", false, [SharedDescriptions, PipeEndFlags, PacketDrain], FdProbes.PidfdOpen),
        new("pidfd_getfd", false, [SharedDescriptions, PipeEndFlags, PacketDrain], FdProbes.PidfdGetfd),
        new("kcmp", true, [SharedFiles, Checkpoint], FdProbes.Kcmp),
        new("clone3-set-tid", true, [PidRestore, Restore], PtraceProbes.Clone3SetTid),
        new("prctl-mm-map", true, [MmRestore, Restore], PtraceProbes.PrSetMmMap),
        new("pipe-fionread", true, [PipeDump], PipeProbes.Fionread),
        new("pipe-size", true, [PipeDump, PipeRestore], PipeProbes.PipeSize),
        new("pipe-tee", false, [PipeTee], PipeProbes.Tee),
        new("pipe-packet-mode", false, [PacketPipes], PipeProbes.PacketMode),
        new("pipe-max-size", false, [LargePipes], PipeProbes.PipeMaxSize),
        new("pagemap-scan", false, [SparseScan], PagemapScanProbes.ScanIoctl),
        .. PagemapScanProbes.Categories.Select(c =>
            new Probe($"pagemap-scan.{c.Name}", false, [SparseScan], () => PagemapScanProbes.Category(c.Name))),
        new("uffd-wp-async", false, [Incremental], PagemapScanProbes.UffdWpAsync),
        new("soft-dirty", false, [Incremental], MemoryProbes.SoftDirty),
        new("memfd_create", false, [Memfd], MemoryProbes.MemfdCreate),
        new("unix_diag", false, [SocketPairs], FdProbes.UnixDiag),
        new("inet_diag", false, [ListenBacklogs], FdProbes.InetDiag),
        new("membarrier-registrations", false, [MembarrierGlobal], MemoryProbes.MembarrierRegistrations),
        new("seccomp-filters", false, [SeccompFilters], PtraceProbes.SeccompFilters),
        new("cap.sys_ptrace", false, [OtherUsers], () => CapabilityProbes.Capability(CapabilityProbes.CAP_SYS_PTRACE, "CAP_SYS_PTRACE")),
        new("cap.sys_admin", false, [PidRestore, MmRestore], () => CapabilityProbes.Capability(CapabilityProbes.CAP_SYS_ADMIN, "CAP_SYS_ADMIN")),
        new("cap.checkpoint_restore", false, [CheckpointRestoreCap], () => CapabilityProbes.Capability(CapabilityProbes.CAP_CHECKPOINT_RESTORE, "CAP_CHECKPOINT_RESTORE")),
        new("cap.sys_resource", false, [LargePipes, RaiseLimits], () => CapabilityProbes.Capability(CapabilityProbes.CAP_SYS_RESOURCE, "CAP_SYS_RESOURCE")),
    ];

    /// <summary>Runs every probe, one after the other (never in parallel: they trace helpers).</summary>
    public static IReadOnlyList<ProbeResult> RunAll(IEnumerable<Probe>? probes = null) => (probes ?? All).Select(p => p.Run()).ToList();
}
