using System.Collections.Immutable;

namespace Cryo.Proc;

/// <summary>One row of /proc/PID/limits. <see cref="Resource"/> is the RLIMIT_* number (the row
/// order is the kernel's resource order); unlimited is RLIM_INFINITY (ulong.MaxValue).</summary>
internal sealed record ResourceLimit(int Resource, string Name, ulong Soft, ulong Hard, string Units)
{
    public const ulong Infinity = ulong.MaxValue;
}

/// <summary>
/// Parser of /proc/PID/limits. The file, not prlimit(), is the source: prlimit() on a process
/// of another uid needs CAP_SYS_RESOURCE, which this machine's bounding set lacks.
/// </summary>
internal static class ProcLimits
{
    // Kernel format: "%-25s %-20s %-20s %-10s" per row; names contain spaces, values never do.
    private const int SoftColumn = 26, HardColumn = 47, UnitsColumn = 68;

    public static ImmutableArray<ResourceLimit> Read(int pid) =>
        Parse(ProcFiles.ReadText(pid, "limits"), ProcFiles.PathOf(pid, "limits"));

    public static ImmutableArray<ResourceLimit> Parse(string text, string file = "limits")
    {
        var limits = ImmutableArray.CreateBuilder<ResourceLimit>();
        bool header = true;
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (header) { header = false; continue; }
            if (line.IsWhiteSpace()) continue;
            if (line.Length < HardColumn)
                throw new ProcFormatException(file, $"short limits row '{line}'");
            var name = line[..SoftColumn].Trim();
            var values = line[SoftColumn..].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (values.Length < 2)
                throw new ProcFormatException(file, $"limits row '{line}' lacks soft and hard values");
            limits.Add(new ResourceLimit(
                limits.Count,
                name.ToString(),
                ParseValue(values[0], file, name),
                ParseValue(values[1], file, name),
                values.Length > 2 ? values[2] : ""));
        }
        return limits.ToImmutable();
    }

    private static ulong ParseValue(string text, string file, ReadOnlySpan<char> name) =>
        text == "unlimited" ? ResourceLimit.Infinity : ProcFiles.ParseULong(text, file, name.ToString());
}
