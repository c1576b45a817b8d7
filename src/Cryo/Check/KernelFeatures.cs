using Cryo.Interop;
using Cryo.Proc;

namespace Cryo.Check;

/// <summary>
/// What the engine chooses its fallbacks by: results of the `cryo check` probes, never the
/// kernel version. null = not probed yet (the engine then tries the call and records what it
/// learns, see <see cref="Learn"/>). <see cref="Current"/> starts from the cheap, local probes
/// (no helper process, no tracing: well under a millisecond), run once on first use;
/// `cryo check` replaces it with the full results. Probes named in CRYO_ASSUME_MISSING count as
/// missing everywhere (<see cref="AssumedMissing"/>).
/// </summary>
internal sealed record KernelFeatures
{
    /// <summary>PTRACE_GET_RSEQ_CONFIGURATION (5.13+). Without: rseq found through glibc's __rseq_offset.</summary>
    public bool? RseqConfiguration { get; init; }

    /// <summary>pidfd_getfd (5.6+). Without: restore reopens descriptors through /proc/PID/fd (Resources/FdTransfer.cs).</summary>
    public bool? PidfdGetfd { get; init; }

    /// <summary>clone3 with set_tid (5.5+).</summary>
    public bool? Clone3SetTid { get; init; }

    /// <summary>tee on pipes. Without: --pipe-dump drain.</summary>
    public bool? PipeTee { get; init; }

    /// <summary>process_vm_writev into the target. Without: /proc/PID/mem.</summary>
    public bool? ProcessVmWritev { get; init; }

    /// <summary>UFFDIO_COPY into anonymous memory through a userfaultfd. Without: restore writes pages with process_vm_writev (Restore/UffdFill.cs).</summary>
    public bool? UffdCopy { get; init; }

    /// <summary>PAGEMAP_SCAN (6.7+).</summary>
    public bool? PagemapScan { get; init; }

    /// <summary>userfaultfd async write-protection (6.7+).</summary>
    public bool? UffdWpAsync { get; init; }

    /// <summary>Soft-dirty bits (CONFIG_MEM_SOFT_DIRTY).</summary>
    public bool? SoftDirty { get; init; }

    /// <summary>"[vvar] 0x4000, [vvar_vclock] 0x2000, [vdso] 0x2000": what an image's kernel mappings must match.</summary>
    public string? VdsoLayout { get; init; }

    /// <summary>/proc/sys/fs/pipe-max-size.</summary>
    public long? PipeMaxSize { get; init; }

    /// <summary>
    /// The environment variable for C/R developers: comma-separated probe names (e.g.
    /// `pidfd_getfd,ptrace-rseq-config`) that `cryo check` reports missing without probing and the
    /// engine treats as missing, so a fallback can be exercised on a kernel that has the feature.
    /// </summary>
    public const string AssumeMissingVariable = "CRYO_ASSUME_MISSING";

    /// <summary>The probe names in CRYO_ASSUME_MISSING (read once).</summary>
    public static IReadOnlySet<string> AssumedMissing { get; } =
        (Environment.GetEnvironmentVariable(AssumeMissingVariable) ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet();

    // The probe behind each yes/no feature.
    private static readonly (string Probe, Func<KernelFeatures, bool?, KernelFeatures> With)[] Flags =
    [
        ("ptrace-rseq-config", (f, v) => f with { RseqConfiguration = v }),
        ("pidfd_getfd", (f, v) => f with { PidfdGetfd = v }),
        ("clone3-set-tid", (f, v) => f with { Clone3SetTid = v }),
        ("pipe-tee", (f, v) => f with { PipeTee = v }),
        ("process_vm_writev", (f, v) => f with { ProcessVmWritev = v }),
        ("uffd-copy", (f, v) => f with { UffdCopy = v }),
        ("pagemap-scan", (f, v) => f with { PagemapScan = v }),
        ("uffd-wp-async", (f, v) => f with { UffdWpAsync = v }),
        ("soft-dirty", (f, v) => f with { SoftDirty = v }),
    ];

    private static KernelFeatures? current;
    private static readonly object Gate = new();

    /// <summary>The features as known now: cheap probes at first use, refined by full probes or by the engine's own calls.</summary>
    public static KernelFeatures Current
    {
        get
        {
            lock (Gate) return current ??= Cheap().WithAssumptions();
        }
    }

    /// <summary>Records what a probe or an engine call found out (what CRYO_ASSUME_MISSING names stays missing).</summary>
    public static void Learn(KernelFeatures features)
    {
        lock (Gate) current = features.WithAssumptions();
    }

    /// <summary>What checkpoint and restore say on stderr while CRYO_ASSUME_MISSING is set (it must not go unnoticed), else null.</summary>
    public static string? AssumptionNote() => AssumedMissing.Count == 0 ? null
        : $"{AssumeMissingVariable} is set: treating {string.Join(", ", AssumedMissing.Order())} as missing (a diagnostic for testing fallbacks)";

    /// <summary>These features with every one whose probe is in <see cref="AssumedMissing"/> set to false.</summary>
    public KernelFeatures WithAssumptions()
    {
        var features = this;
        foreach (var (probe, with) in Flags)
            if (AssumedMissing.Contains(probe)) features = with(features, false);
        return features;
    }

    /// <summary>Only the probes that need no helper process and no tracing.</summary>
    public static KernelFeatures Cheap()
    {
        var maps = ProcMaps.Read(Environment.ProcessId);
        long? pipeMax = long.TryParse(TryRead("/proc/sys/fs/pipe-max-size"), out long size) ? size : null;
        return new KernelFeatures
        {
            PipeTee = new Probe("pipe-tee", false, [], PipeProbes.Tee).Run().Status == ProbeStatus.Ok,
            PagemapScan = new Probe("pagemap-scan", false, [], PagemapScanProbes.ScanIoctl).Run().Status == ProbeStatus.Ok,
            VdsoLayout = MemoryProbes.Layout(maps),
            PipeMaxSize = pipeMax,
        };
    }

    /// <summary>The features the full probe results establish.</summary>
    public static KernelFeatures FromResults(IEnumerable<ProbeResult> results)
    {
        var byName = results.ToDictionary(r => r.Name);
        bool? Works(string name) => byName.TryGetValue(name, out var r) ? r.Status == ProbeStatus.Ok : null;
        long? pipeMax = long.TryParse(TryRead("/proc/sys/fs/pipe-max-size"), out long size) ? size : null;
        var features = new KernelFeatures
        {
            VdsoLayout = MemoryProbes.Layout(ProcMaps.Read(Environment.ProcessId)),
            PipeMaxSize = pipeMax,
        };
        foreach (var (probe, with) in Flags) features = with(features, Works(probe));
        return features;
    }

    /// <summary>The fields in JSON order, with their JSON names.</summary>
    public IEnumerable<(string Name, object? Value)> Entries() =>
    [
        ("rseqConfiguration", RseqConfiguration), ("pidfdGetfd", PidfdGetfd), ("clone3SetTid", Clone3SetTid),
        ("pipeTee", PipeTee), ("processVmWritev", ProcessVmWritev), ("uffdCopy", UffdCopy), ("pagemapScan", PagemapScan),
        ("uffdWpAsync", UffdWpAsync), ("softDirty", SoftDirty), ("vdsoLayout", VdsoLayout), ("pipeMaxSize", PipeMaxSize),
    ];

    private static string TryRead(string path)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }
}
