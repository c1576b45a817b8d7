using System.Globalization;
using Cryo.Format;

namespace Cryo.Dump;

/// <summary>
/// Replaces the values that change from run to run by stable placeholders, so that one program
/// yields the same golden text on every run: pids and inode-like ids become P1, P2, I1, ... in
/// order of first appearance (so relations such as "ppid = P1" or "both ends share pipe I3" stay
/// visible; devices, descriptions and inodes are numbered apart), addresses, times and other volatile values become fixed words, memory contents keep
/// only their length, pipe contents keep length and checksum, and paths under the given
/// prefixes are rewritten.
/// </summary>
public sealed partial class Normalizer(IReadOnlyList<(string From, string To)> pathAliases)
{
    private readonly Dictionary<long, int> _pids = [];
    private readonly Dictionary<(char, ulong), int> _ids = [];

    public string Value(ItemField f) => f.Kind switch
    {
        FieldKind.Pid => (long)f.Value <= 0 ? Convert.ToString(f.Value, CultureInfo.InvariantCulture)! : $"P{Number(_pids, (long)f.Value)}",
        FieldKind.Inode => (ulong)f.Value == 0 ? "0" : Id(IdClass(f.Name), (ulong)f.Value),
        FieldKind.Address => "<addr>",
        FieldKind.Time => "<time>",
        FieldKind.Volatile => "<var>",
        FieldKind.Blob => $"<{ItemFieldFormatter.BlobSpan(f.Value).Length} bytes>",
        FieldKind.Text => $"\"{Alias(KernelObjectName(ItemFieldFormatter.EscapeBytes(ItemFieldFormatter.BlobSpan(f.Value))))}\"",
        _ => ItemFieldFormatter.Plain(f),
    };

    /// <summary>Devices (D), open file descriptions (F) and inodes, pipe ids among them (I), are numbered apart.</summary>
    private static char IdClass(string field) => field switch
    {
        "device" or "rdev" => 'D',
        "description_id" => 'F',
        _ => 'I',
    };

    private string Id(char idClass, ulong value)
    {
        if (!_ids.TryGetValue((idClass, value), out int n))
            _ids[(idClass, value)] = n = _ids.Keys.Count(k => k.Item1 == idClass) + 1;
        return $"{idClass}{n}";
    }

    /// <summary>"pipe:[1234]" names an inode: it gets the inode's placeholder, "pipe:[I3]".</summary>
    private string KernelObjectName(string text)
    {
        var match = KernelObject().Match(text);
        return match.Success ? $"{match.Groups[1].Value}:[{Id('I', ulong.Parse(match.Groups[2].Value))}]" : text;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(pipe|socket):\[(\d+)\]$")]
    private static partial System.Text.RegularExpressions.Regex KernelObject();

    /// <summary>
    /// Which stack pages hold data depends on where the kernel put the stack top inside its page
    /// (ASLR): a stack area's runs and its PAGE items are shown as one volatile line.
    /// </summary>
    public static bool HasVolatilePages(CheckpointItem item) => item is MemoryArea { Kind: MemoryAreaKind.Stack };

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
