using System.Collections.Frozen;

namespace Cryo.Proc;

/// <summary>
/// The VmFlags of /proc/PID/smaps: the flags the kernel keeps per memory area (mlock, madvise,
/// MAP_GROWSDOWN …) as two-letter names, which /proc/PID/maps does not show. smaps is read
/// only for them: it walks every page table to count pages, about 12 ms per GiB mapped.
/// </summary>
internal static class ProcSmaps
{
    /// <summary>The VmFlags names of each area, by its start address.</summary>
    public static FrozenDictionary<ulong, FrozenSet<string>> ReadVmFlags(int pid) =>
        ParseVmFlags(ProcFiles.ReadText(pid, "smaps"), ProcFiles.PathOf(pid, "smaps"));

    public static FrozenDictionary<ulong, FrozenSet<string>> ParseVmFlags(string text, string file = "smaps")
    {
        var flags = new Dictionary<ulong, FrozenSet<string>>();
        ulong? current = null;
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            int space = line.IndexOf(' ');
            var first = space < 0 ? line : line[..space];
            // An area's header is a maps line ("start-end perms ..."); the rest are "Key: value" lines.
            if (first.IndexOf('-') > 0 && first.IndexOf(':') < 0)
            {
                current = ProcMaps.ParseLine(line, file).Start;
            }
            else if (line.StartsWith("VmFlags:"))
            {
                if (current is not { } start) throw new ProcFormatException(file, "VmFlags before the first area");
                var names = line["VmFlags:".Length..].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                flags[start] = names.ToFrozenSet();
            }
        }
        return flags.ToFrozenDictionary();
    }
}
