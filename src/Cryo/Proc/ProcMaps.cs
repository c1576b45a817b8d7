using System.Collections.Immutable;

namespace Cryo.Proc;

[Flags]
internal enum MappingProtection
{
    None = 0,
    Read = 1,
    Write = 2,
    Execute = 4,
}

/// <summary>One line of /proc/PID/maps.</summary>
internal sealed record MemoryMapping(
    ulong Start,
    ulong End,
    MappingProtection Protection,
    bool Shared,
    ulong Offset,
    uint DeviceMajor,
    uint DeviceMinor,
    ulong Inode,
    string Path)
{
    public ulong Length => End - Start;

    /// <summary>Kernel-named areas such as [heap], [stack], [vdso], [vvar], [vvar_vclock].</summary>
    public bool IsSpecial => Path.StartsWith('[') && Path.EndsWith(']');

    /// <summary>Backed by a file (possibly deleted), as opposed to anonymous or special memory.</summary>
    public bool IsFileBacked => Inode != 0 && !IsSpecial;

    public bool Contains(ulong address) => address >= Start && address < End;

    public override string ToString() =>
        $"{Start:x}-{End:x} {(Protection.HasFlag(MappingProtection.Read) ? 'r' : '-')}" +
        $"{(Protection.HasFlag(MappingProtection.Write) ? 'w' : '-')}" +
        $"{(Protection.HasFlag(MappingProtection.Execute) ? 'x' : '-')}{(Shared ? 's' : 'p')} {Path}";
}

/// <summary>Parser of /proc/PID/maps ("start-end perms offset major:minor inode   path").</summary>
internal static class ProcMaps
{
    public static ImmutableArray<MemoryMapping> Read(int pid)
    {
        var mappings = Parse(ProcFiles.ReadText(pid, "maps"), ProcFiles.PathOf(pid, "maps"));
        return mappings.Any(HasEscapedPath) ? [.. mappings.Select(m => HasEscapedPath(m) ? WithLinkedPath(pid, m) : m)] : mappings;
    }

    // maps writes a newline in a file name as "\012" and leaves a backslash as it is, so such a
    // path is ambiguous; the area's link in /proc/PID/map_files has the name as it is.
    private static bool HasEscapedPath(MemoryMapping m) => m.IsFileBacked && m.Path.Contains('\\');

    private static MemoryMapping WithLinkedPath(int pid, MemoryMapping m) =>
        m with { Path = System.Text.Encoding.UTF8.GetString(Interop.Native.ReadLink($"/proc/{pid}/map_files/{m.Start:x}-{m.End:x}")) };

    public static ImmutableArray<MemoryMapping> Parse(string text, string file = "maps")
    {
        var mappings = ImmutableArray.CreateBuilder<MemoryMapping>();
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (!line.IsEmpty) mappings.Add(ParseLine(line, file));
        }
        return mappings.ToImmutable();
    }

    /// <summary>The mapping named <paramref name="name"/> (e.g. "[vdso]"), or null.</summary>
    public static MemoryMapping? Find(IEnumerable<MemoryMapping> mappings, string name) =>
        mappings.FirstOrDefault(m => m.Path == name);

    /// <summary>The mapping that contains <paramref name="address"/>, or null.</summary>
    public static MemoryMapping? Containing(IEnumerable<MemoryMapping> mappings, ulong address) =>
        mappings.FirstOrDefault(m => m.Contains(address));

    public static MemoryMapping ParseLine(ReadOnlySpan<char> line, string file = "maps")
    {
        var rest = line;
        var range = NextField(ref rest);
        var perms = NextField(ref rest);
        var offset = NextField(ref rest);
        var device = NextField(ref rest);
        var inode = NextField(ref rest);
        // The path is the remainder after padding; it may itself contain spaces.
        string path = rest.TrimStart(' ').ToString();

        int dash = range.IndexOf('-');
        int colon = device.IndexOf(':');
        if (dash < 0 || colon < 0 || perms.Length != 4)
            throw new ProcFormatException(file, $"malformed mapping line '{line}'");

        var protection = MappingProtection.None;
        if (perms[0] == 'r') protection |= MappingProtection.Read;
        if (perms[1] == 'w') protection |= MappingProtection.Write;
        if (perms[2] == 'x') protection |= MappingProtection.Execute;

        return new MemoryMapping(
            ProcFiles.ParseHex(range[..dash], file, "start"),
            ProcFiles.ParseHex(range[(dash + 1)..], file, "end"),
            protection,
            perms[3] == 's',
            ProcFiles.ParseHex(offset, file, "offset"),
            (uint)ProcFiles.ParseHex(device[..colon], file, "device major"),
            (uint)ProcFiles.ParseHex(device[(colon + 1)..], file, "device minor"),
            ProcFiles.ParseULong(inode, file, "inode"),
            path);
    }

    private static ReadOnlySpan<char> NextField(ref ReadOnlySpan<char> rest)
    {
        rest = rest.TrimStart(' ');
        int space = rest.IndexOf(' ');
        var field = space < 0 ? rest : rest[..space];
        rest = space < 0 ? [] : rest[space..];
        return field;
    }
}
