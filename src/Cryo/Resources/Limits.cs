using System.Buffers.Binary;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;
using FormatLimit = Cryo.Format.ResourceLimit;

namespace Cryo.Resources;

/// <summary>
/// Resource limits (RLIM). Read from /proc/PID/limits (prlimit() on a process of another uid
/// needs CAP_SYS_RESOURCE, which this machine's bounding set lacks). Restored by injecting
/// prlimit64(0, resource, &amp;new, NULL) into the process itself, which needs no capability for
/// lowering; raising a hard limit above what the restored process has does, and is reported.
/// </summary>
internal sealed class Limits : IResourceKind
{
    public const int ResourceCount = 16;

    // RLIMIT_* names in kernel order, for messages.
    private static readonly string[] Names =
    [
        "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC",
        "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE",
        "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
    ];

    public static string NameOf(uint resource) => resource < Names.Length ? Names[resource] : $"resource {resource}";

    public string Name => "Limits";

    public bool Handles(CheckpointItem item) => item is ResourceLimits;

    public IDumpedResource Dump(FrozenProcess process, DumpSession session) => new DumpedItems([Read(process.Pid)]);

    internal static ResourceLimits Read(int pid)
    {
        var rows = ProcLimits.Read(pid);
        if (rows.Length != ResourceCount)
            throw new UnsupportedResourceException(pid, "resource limits", $"/proc/{pid}/limits has {rows.Length} rows, cryo knows {ResourceCount}");
        return new ResourceLimits([.. rows.Select(r => new FormatLimit((uint)r.Resource, r.Soft, r.Hard))]);
    }

    public void Restore(RestoringProcess? process, CheckpointItem item, RestoreSession session)
    {
        if (process is null) throw new InvalidOperationException("RLIM outside a PROC section");
        process.State<LimitState>().Limits = (ResourceLimits)item;
    }

    internal sealed class LimitState
    {
        public ResourceLimits? Limits { get; set; }
    }

    /// <summary>Sets every limit that differs from what the restored process has now.</summary>
    public void Finish(RestoringProcess process, RestoreSession session)
    {
        if (process.State<LimitState>().Limits is not { } limits) return;
        var current = ProcLimits.Read(process.Pid);
        foreach (var limit in limits.Limits)
        {
            if (limit.Resource >= ResourceCount)
                throw new InvalidOperationException($"pid {process.Pid}: RLIM has unknown resource {limit.Resource}");
            var now = current[(int)limit.Resource];
            if (now.Soft == limit.Soft && now.Hard == limit.Hard) continue;
            if (limit.Soft > limit.Hard)
                throw new InvalidOperationException($"pid {process.Pid}: {NameOf(limit.Resource)} soft limit {Show(limit.Soft)} exceeds its hard limit {Show(limit.Hard)}");
            Set(process, limit, now);
        }
    }

    /// <summary>
    /// Lets the process hold descriptor numbers below <paramref name="count"/> while Files installs
    /// them: the restored process starts with cryo's RLIMIT_NOFILE, and the image's descriptors
    /// may go up to what its own limit allowed (<see cref="Finish"/> sets the image's limit after).
    /// </summary>
    public static void RaiseOpenFiles(RestoringProcess process, int count)
    {
        const int NoFile = 7;
        var now = ProcLimits.Read(process.Pid)[NoFile];
        if (now.Soft >= (ulong)count) return;
        Set(process, new FormatLimit(NoFile, (ulong)count, Math.Max(now.Hard, (ulong)count)), now);
    }

    /// <summary>prlimit64(0, resource, &amp;new, NULL) injected into the process.</summary>
    private static void Set(RestoringProcess process, FormatLimit limit, Proc.ResourceLimit now)
    {
        Span<byte> pair = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(pair, limit.Soft);
        BinaryPrimitives.WriteUInt64LittleEndian(pair[8..], limit.Hard);
        var scratch = process.ScratchFor("prlimit64");
        scratch.Write(0, pair);
        long result = process.Syscalls.Invoke(InjectedCalls.Prlimit64, 0, limit.Resource, (long)scratch.Address, 0);
        if (result == -ErrnoNames.EPERM && limit.Hard > now.Hard)
            throw new InvalidOperationException(
                $"pid {process.Pid}: cannot raise the hard limit of {NameOf(limit.Resource)} ({now.Name}) to {Show(limit.Hard)}: " +
                $"the restored process has {Show(now.Hard)} (inherited from cryo) and raising it needs CAP_SYS_RESOURCE");
        if (result < 0)
            throw new SysCallException($"prlimit64({NameOf(limit.Resource)}, soft {Show(limit.Soft)}, hard {Show(limit.Hard)}) (injected)",
                (int)-result, $"pid {process.Pid}");
    }

    private static string Show(ulong value) => value == ResourceLimits.Infinity ? "unlimited" : value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
