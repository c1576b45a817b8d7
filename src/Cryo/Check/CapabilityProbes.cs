using System.Globalization;

namespace Cryo.Check;

/// <summary>The capabilities cryo holds: effective (usable now) and bounding (could ever be had), from /proc/self/status.</summary>
internal static class CapabilityProbes
{
    public const int CAP_SYS_PTRACE = 19, CAP_SYS_ADMIN = 21, CAP_SYS_RESOURCE = 24, CAP_CHECKPOINT_RESTORE = 40;

    public static ProbeOutcome Capability(int capability, string name)
    {
        var (effective, bounding) = Read();
        bool inEffective = (effective >> capability & 1) != 0, inBounding = (bounding >> capability & 1) != 0;
        if (inEffective) return ProbeOutcome.Ok($"{name} effective");
        if (inBounding) return ProbeOutcome.Degraded($"{name} in the bounding set but not effective (CapEff {effective:x16})");
        return ProbeOutcome.Missing($"{name} not in the bounding set (CapBnd {bounding:x16}): no process here can have it");
    }

    private static (ulong Effective, ulong Bounding) Read()
    {
        ulong effective = 0, bounding = 0;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("CapEff:", StringComparison.Ordinal)) effective = ulong.Parse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            else if (line.StartsWith("CapBnd:", StringComparison.Ordinal)) bounding = ulong.Parse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }
        return (effective, bounding);
    }
}
