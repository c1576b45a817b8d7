using System.Globalization;
using Cryo.Format;

namespace Cryo.Dump;

/// <summary>
/// Replaces the values that change from run to run by stable placeholders, so that one program
/// yields the same golden text on every run: pids and inode-like ids become P1, P2, I1, ... in
/// order of first appearance (so relations such as "ppid = P1" or "both ends share pipe I3" stay
/// visible), addresses, times and other volatile values become fixed words, memory contents keep
/// only their length, pipe contents keep length and checksum, and paths under the given
/// prefixes are rewritten.
/// </summary>
public sealed class Normalizer(IReadOnlyList<(string From, string To)> pathAliases)
{
    private readonly Dictionary<long, int> _pids = [];
    private readonly Dictionary<ulong, int> _inodes = [];

    public string Value(ItemField f) => f.Kind switch
    {
        FieldKind.Pid => (long)f.Value <= 0 ? Convert.ToString(f.Value, CultureInfo.InvariantCulture)! : $"P{Number(_pids, (long)f.Value)}",
        FieldKind.Inode => (ulong)f.Value == 0 ? "0" : $"I{Number(_inodes, (ulong)f.Value)}",
        FieldKind.Address => "<addr>",
        FieldKind.Time => "<time>",
        FieldKind.Volatile => "<var>",
        FieldKind.Blob => $"<{ItemFieldFormatter.BlobSpan(f.Value).Length} bytes>",
        FieldKind.Text => $"\"{Alias(ItemFieldFormatter.EscapeBytes(ItemFieldFormatter.BlobSpan(f.Value)))}\"",
        _ => ItemFieldFormatter.Plain(f),
    };

    private string Alias(string text)
    {
        foreach (var (from, to) in pathAliases)
            if (text == from || text.StartsWith(from + "/", StringComparison.Ordinal))
                return to + text[from.Length..];
        return text;
    }

    private static int Number<T>(Dictionary<T, int> seen, T key) where T : notnull
    {
        if (!seen.TryGetValue(key, out int n)) seen[key] = n = seen.Count + 1;
        return n;
    }

    /// <summary>Kernel-provided mappings ([vdso], [vvar], [vvar_vclock], [vsyscall]) differ between kernels.</summary>
    public static bool IsKernelMapping(CheckpointItem item) =>
        item is MemoryArea { Kind: MemoryAreaKind.Vdso or MemoryAreaKind.Vvar or MemoryAreaKind.VvarVclock or MemoryAreaKind.Vsyscall };

    public static string HeaderLine(CheckpointHeader h) =>
        $"header version={h.VersionMajor}.{h.VersionMinor} arch={h.Architecture} page_size={h.PageSize}";
}
