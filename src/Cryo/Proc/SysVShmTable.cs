using System.Globalization;

namespace Cryo.Proc;

/// <summary>One row of /proc/sysvipc/shm: a System V shared memory segment of this IPC namespace.</summary>
internal sealed record SysVShmRow(int Key, int Id, uint Mode, ulong Size, int CreatorPid, ulong Attachments,
    uint Uid, uint Gid, uint CreatorUid, uint CreatorGid, long ChangeTime);

/// <summary>
/// /proc/sysvipc/shm, the segments the kernel holds. Columns (a header line names them): key shmid
/// perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime rss swap; key and the rest in
/// decimal, perms in octal (with SHM_DEST 01000 and SHM_LOCKED 02000 beside the permission bits).
/// </summary>
internal static class SysVShmTable
{
    public const string FilePath = "/proc/sysvipc/shm";

    public static IReadOnlyList<SysVShmRow> Read()
    {
        string text;
        try { text = ProcFiles.ReadText(FilePath); }
        catch (FileNotFoundException) { return []; } // a kernel without CONFIG_SYSVIPC has no segments
        return Parse(text, FilePath);
    }

    internal static IReadOnlyList<SysVShmRow> Parse(string text, string file)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0) return [];
        string[] header = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int Column(string name)
        {
            int i = Array.IndexOf(header, name);
            return i >= 0 ? i : throw new ProcFormatException(file, $"no '{name}' column in the header");
        }
        int key = Column("key"), id = Column("shmid"), perms = Column("perms"), size = Column("size"), cpid = Column("cpid"),
            nattch = Column("nattch"), uid = Column("uid"), gid = Column("gid"), cuid = Column("cuid"), cgid = Column("cgid"), ctime = Column("ctime");
        var rows = new List<SysVShmRow>(lines.Length - 1);
        foreach (string line in lines.Skip(1))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < header.Length) throw new ProcFormatException(file, $"short line '{line}'");
            try
            {
                rows.Add(new SysVShmRow(
                    int.Parse(f[key], CultureInfo.InvariantCulture), int.Parse(f[id], CultureInfo.InvariantCulture),
                    Convert.ToUInt32(f[perms], 8), ulong.Parse(f[size], CultureInfo.InvariantCulture),
                    int.Parse(f[cpid], CultureInfo.InvariantCulture), ulong.Parse(f[nattch], CultureInfo.InvariantCulture),
                    uint.Parse(f[uid], CultureInfo.InvariantCulture), uint.Parse(f[gid], CultureInfo.InvariantCulture),
                    uint.Parse(f[cuid], CultureInfo.InvariantCulture), uint.Parse(f[cgid], CultureInfo.InvariantCulture),
                    long.Parse(f[ctime], CultureInfo.InvariantCulture)));
            }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
            {
                throw new ProcFormatException(file, $"bad line '{line}'", e);
            }
        }
        return rows;
    }
}
