using System.Runtime.InteropServices;

namespace Cryo.Interop;

/// <summary>The fields of struct stat the engine compares and records.</summary>
internal readonly record struct FileStatus(ulong Device, ulong Inode, uint Mode, uint Uid, uint Gid, ulong RawDevice, long Size, ulong Links = 1)
{
    public const uint S_IFMT = 0xF000, S_IFSOCK = 0xC000, S_IFLNK = 0xA000, S_IFREG = 0x8000, S_IFBLK = 0x6000,
        S_IFDIR = 0x4000, S_IFCHR = 0x2000, S_IFIFO = 0x1000;

    public uint Type => Mode & S_IFMT;

    /// <summary>major() of a Linux dev_t (glibc's encoding).</summary>
    public static uint Major(ulong dev) => (uint)(((dev >> 32) & 0xfffff000) | ((dev >> 8) & 0xfff));

    /// <summary>minor() of a Linux dev_t (glibc's encoding).</summary>
    public static uint Minor(ulong dev) => (uint)(((dev >> 12) & 0xffffff00) | (dev & 0xff));

    /// <summary>makedev() of glibc: the dev_t of a major and minor number.</summary>
    public static ulong Makedev(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);
}

/// <summary>
/// stat, readlink, lseek, ioctl(FIONREAD), mkfifo, kcmp: what the file and pipe kinds need
/// locally. Paths are bytes where the kernel gives bytes (a file name need not be UTF-8).
/// </summary>
internal static unsafe partial class Native
{
    public const int O_DIRECT = 0x4000, O_DIRECTORY = 0x10000, O_EXCL = 0x80, O_NOCTTY = 0x100,
        O_LARGEFILE = 0x8000, O_PATH = 0x200000, O_ACCMODE = 3, O_NOFOLLOW = 0x20000, O_ASYNC = 0x2000, O_NOATIME = 0x40000,
        O_TMPFILE = 0x400000 | O_DIRECTORY;
    public const int F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, FD_CLOEXEC = 1;
    public const int SEEK_SET = 0, SEEK_CUR = 1, SEEK_DATA = 3, SEEK_HOLE = 4;
    public const ulong FIONREAD = 0x541B;
    public const uint SPLICE_F_NONBLOCK = 2;
    public const long Kcmp = 312, KCMP_FILE = 0;

    // x86-64 struct stat is 144 bytes; the offsets used are fixed by the ABI.
    private const int StatSize = 144;

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true)]
    private static partial int StatRaw(byte* path, byte* buffer);

    [LibraryImport("libc", EntryPoint = "lstat", SetLastError = true)]
    private static partial int LstatRaw(byte* path, byte* buffer);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int FstatRaw(int fd, byte* buffer);

    [LibraryImport("libc", EntryPoint = "readlink", SetLastError = true)]
    private static partial nint ReadlinkRaw(byte* path, byte* buffer, nuint size);

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    public static partial long Lseek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int IoctlInt(int fd, ulong request, int* value);

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static partial int MkfifoRaw(byte* path, uint mode);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    private static partial int OpenRaw(byte* path, int flags, int mode);

    private static byte[] CString(ReadOnlySpan<byte> path)
    {
        var bytes = new byte[path.Length + 1];
        path.CopyTo(bytes);
        return bytes;
    }

    private static FileStatus Decode(byte* b) => new(
        Device: *(ulong*)(b + 0), Inode: *(ulong*)(b + 8), Mode: *(uint*)(b + 24),
        Uid: *(uint*)(b + 28), Gid: *(uint*)(b + 32), RawDevice: *(ulong*)(b + 40), Size: *(long*)(b + 48), Links: *(ulong*)(b + 16));

    /// <summary>stat() (follows links), or null with <paramref name="errno"/> set.</summary>
    public static FileStatus? TryStat(ReadOnlySpan<byte> path, out int errno) => TryStat(path, follow: true, out errno);

    /// <summary>lstat() (a symbolic link itself), or null with <paramref name="errno"/> set.</summary>
    public static FileStatus? TryLstat(ReadOnlySpan<byte> path, out int errno) => TryStat(path, follow: false, out errno);

    private static FileStatus? TryStat(ReadOnlySpan<byte> path, bool follow, out int errno)
    {
        byte* buffer = stackalloc byte[StatSize];
        fixed (byte* p = CString(path))
        {
            if ((follow ? StatRaw(p, buffer) : LstatRaw(p, buffer)) != 0) { errno = Marshal.GetLastPInvokeError(); return null; }
        }
        errno = 0;
        return Decode(buffer);
    }

    public static FileStatus Stat(string path) =>
        TryStat(System.Text.Encoding.UTF8.GetBytes(path), out int errno) ?? throw new SysCallException("stat", errno, path);

    public static FileStatus Fstat(int fd, string context)
    {
        byte* buffer = stackalloc byte[StatSize];
        if (FstatRaw(fd, buffer) != 0) throw new SysCallException("fstat", Marshal.GetLastPInvokeError(), context);
        return Decode(buffer);
    }

    /// <summary>The raw target of a symbolic link (e.g. /proc/PID/fd/N), or throws.</summary>
    public static byte[] ReadLink(string path)
    {
        var buffer = new byte[4096];
        fixed (byte* p = CString(System.Text.Encoding.UTF8.GetBytes(path)))
        fixed (byte* b = buffer)
        {
            nint length = ReadlinkRaw(p, b, (nuint)buffer.Length);
            if (length < 0) throw new SysCallException("readlink", Marshal.GetLastPInvokeError(), path);
            return buffer.AsSpan(0, (int)length).ToArray();
        }
    }

    /// <summary>open() of a byte path; returns the fd or -1 with <paramref name="errno"/>.</summary>
    public static int OpenBytes(ReadOnlySpan<byte> path, int flags, int mode, out int errno)
    {
        fixed (byte* p = CString(path))
        {
            int fd = OpenRaw(p, flags, mode);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
            return fd;
        }
    }

    /// <summary>
    /// The ranges of [<paramref name="from"/>, <paramref name="end"/>) of a shmem or tmpfs file
    /// that hold data, widened to whole pages of <paramref name="page"/> bytes (SEEK_DATA and
    /// SEEK_HOLE; the rest reads as zeros), as (offset, length). Null with <paramref name="errno"/>
    /// when lseek fails other than with ENXIO (no data past a point).
    /// </summary>
    public static List<(long Offset, long Length)>? DataRanges(int fd, long from, long end, long page, out int errno)
    {
        var ranges = new List<(long, long)>();
        errno = 0;
        for (long at = from; at < end;)
        {
            long data = Lseek(fd, at, SEEK_DATA);
            if (data < 0)
            {
                errno = Marshal.GetLastPInvokeError();
                if (errno == ErrnoNames.ENXIO) { errno = 0; break; }
                return null;
            }
            long first = data / page * page;
            if (first >= end) break;
            long hole = Lseek(fd, data, SEEK_HOLE);
            if (hole < 0)
            {
                errno = Marshal.GetLastPInvokeError();
                return null;
            }
            long last = Math.Min((hole + page - 1) / page * page, end);
            ranges.Add((first, last - first));
            at = last;
        }
        return ranges;
    }

    public static int MkFifo(ReadOnlySpan<byte> path, uint mode)
    {
        fixed (byte* p = CString(path))
            return MkfifoRaw(p, mode) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>Unread bytes in a pipe (ioctl FIONREAD), or throws.</summary>
    public static int BytesQueued(int fd, string context)
    {
        int value;
        if (IoctlInt(fd, FIONREAD, &value) != 0) throw new SysCallException("ioctl(FIONREAD)", Marshal.GetLastPInvokeError(), context);
        return value;
    }

    /// <summary>fcntl that throws on failure.</summary>
    public static int FcntlOrThrow(int fd, int command, int argument, string context)
    {
        int result = Fcntl(fd, command, argument);
        if (result < 0) throw new SysCallException($"fcntl({FcntlName(command)})", Marshal.GetLastPInvokeError(), context);
        return result;
    }

    private static string FcntlName(int command) => command switch
    {
        F_GETFD => "F_GETFD", F_SETFD => "F_SETFD", F_GETFL => "F_GETFL", F_SETFL => "F_SETFL",
        F_GETPIPE_SZ => "F_GETPIPE_SZ", F_SETPIPE_SZ => "F_SETPIPE_SZ", F_DUPFD_CLOEXEC => "F_DUPFD_CLOEXEC",
        _ => command.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>kcmp types that compare what two processes may share since clone(2): memory, descriptor table, cwd/root/umask, signal handlers.</summary>
    public const int KCMP_VM = 1, KCMP_FILES = 2, KCMP_FS = 3, KCMP_SIGHAND = 4;

    /// <summary>
    /// kcmp(<paramref name="type"/>) of pid1's and pid2's kernel object: 0 when they share it, else
    /// −1 or 1 in an order that is the same for every pair, so objects can be sorted.
    /// </summary>
    public static int CompareKernelObjects(int pid1, int pid2, int type, string context)
    {
        long result = Syscall(Kcmp, pid1, pid2, type, 0, 0);
        if (result < 0) throw new SysCallException($"kcmp(type {type})", Marshal.GetLastPInvokeError(), context);
        return result switch { 0 => 0, 1 => -1, _ => 1 };
    }

    /// <summary>
    /// kcmp(KCMP_FILE): whether fd1 of pid1 and fd2 of pid2 are the same open file description.
    /// Needs PTRACE_MODE_READ on both processes (root here).
    /// </summary>
    public static bool SameFileDescription(int pid1, int fd1, int pid2, int fd2)
    {
        long result = Syscall(Kcmp, pid1, pid2, KCMP_FILE, fd1, fd2);
        if (result < 0) throw new SysCallException("kcmp(KCMP_FILE)", Marshal.GetLastPInvokeError(), $"pid {pid1} fd {fd1} vs pid {pid2} fd {fd2}");
        return result == 0;
    }
}
