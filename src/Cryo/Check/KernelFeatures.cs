using Cryo.Interop;
using Cryo.Proc;

namespace Cryo.Check;

/// <summary>
/// What the engine chooses its fallbacks by: results of the `cryo check` probes, never the
/// kernel version. null = not probed yet (the engine then tries the call and records what it
/// learns, see <see cref="Learn"/>). <see cref="Current"/> starts from the cheap, local probes
/// (no helper process, no tracing: well under a millisecond), run once on first use;
/// `cryo check` replaces it with the full results.
/// </summary>
internal sealed record KernelFeatures
{
    /// <summary>PTRACE_GET_RSEQ_CONFIGURATION (5.13+). Without: rseq found through glibc's __rseq_offset.</summary>
    public bool? RseqConfiguration { get; init; }

    /// <summary>pidfd_getfd (5.6+). Without: restore cannot install descriptors or file mappings (no fallback yet).</summary>
    public bool? PidfdGetfd { get; init; }

    /// <summary>clone3 with set_tid (5.5+).</summary>
    public bool? Clone3SetTid { get; init; }

    /// <summary>tee on pipes. Without: --pipe-dump drain.</summary>
    public bool? PipeTee { get; init; }

    /// <summary>process_vm_writev into the target. Without: /proc/PID/mem.</summary>
    public bool? ProcessVmWritev { get; init; }

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

    private static KernelFeatures? current;
    private static readonly object Gate = new();

    /// <summary>The features as known now: cheap probes at first use, refined by full probes or by the engine's own calls.</summary>
    public static KernelFeatures Current
    {
        get
        {
            lock (Gate) return current ??= Cheap();
        }
    }

    /// <summary>Records what a probe or an engine call found out.</summary>
    public static void Learn(KernelFeatures features)
    {
        lock (Gate) current = features;
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
        return new KernelFeatures
        {
            RseqConfiguration = Works("ptrace-rseq-config"),
            PidfdGetfd = Works("pidfd_getfd"),
            Clone3SetTid = Works("clone3-set-tid"),
            PipeTee = Works("pipe-tee"),
            ProcessVmWritev = Works("process_vm_writev"),
            PagemapScan = Works("pagemap-scan"),
            UffdWpAsync = Works("uffd-wp-async"),
            SoftDirty = Works("soft-dirty"),
            VdsoLayout = MemoryProbes.Layout(ProcMaps.Read(Environment.ProcessId)),
            PipeMaxSize = pipeMax,
        };
    }

    /// <summary>The fields in JSON order, with their JSON names.</summary>
    public IEnumerable<(string Name, object? Value)> Entries() =>
    [
        ("rseqConfiguration", RseqConfiguration), ("pidfdGetfd", PidfdGetfd), ("clone3SetTid", Clone3SetTid),
        ("pipeTee", PipeTee), ("processVmWritev", ProcessVmWritev), ("pagemapScan", PagemapScan),
        ("uffdWpAsync", UffdWpAsync), ("softDirty", SoftDirty), ("vdsoLayout", VdsoLayout), ("pipeMaxSize", PipeMaxSize),
    ];

    private static string TryRead(string path)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }
}
