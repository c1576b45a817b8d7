using System.Collections.Immutable;

namespace Cryo.Proc;

/// <summary>/proc/PID/fdinfo/N: position, open flags (octal in the file), mount id, inode, and
/// every line raw in order (eventfd-count, tfd, inotify, ... lines differ per file kind).</summary>
internal sealed record FdInfo(
    long Position,
    int Flags,
    int MountId,
    ulong Inode,
    ImmutableArray<KeyValuePair<string, string>> Lines)
{
    /// <summary>The first value of <paramref name="key"/>, or null.</summary>
    public string? Get(string key)
    {
        foreach (var line in Lines)
            if (line.Key == key) return line.Value;
        return null;
    }
}

/// <summary>Parser of /proc/PID/fdinfo/N.</summary>
internal static class ProcFdInfo
{
    public static FdInfo Read(int pid, int fd)
    {
        string name = $"fdinfo/{fd}";
        return Parse(ProcFiles.ReadText(pid, name), ProcFiles.PathOf(pid, name));
    }

    public static FdInfo Parse(string text, string file = "fdinfo")
    {
        var lines = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>();
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            int colon = line.IndexOf(':');
            if (colon <= 0) continue;
            lines.Add(new(line[..colon].ToString(), line[(colon + 1)..].Trim().ToString()));
        }
        var info = new FdInfo(0, 0, 0, 0, lines.ToImmutable());
        string Required(string key) => info.Get(key) ?? throw new ProcFormatException(file, $"no '{key}' line");

        return info with
        {
            Position = ProcFiles.ParseLong(Required("pos"), file, "pos"),
            Flags = Convert.ToInt32(Required("flags"), 8),
            MountId = (int)ProcFiles.ParseLong(Required("mnt_id"), file, "mnt_id"),
            // "ino" appeared in 5.14; absent on older kernels.
            Inode = info.Get("ino") is { } ino ? ProcFiles.ParseULong(ino, file, "ino") : 0,
        };
    }
}
