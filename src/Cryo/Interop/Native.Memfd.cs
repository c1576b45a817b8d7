using System.Runtime.InteropServices;

namespace Cryo.Interop;

/// <summary>memfd objects: read at a checkpoint (seals), made again by cryo at a restore and handed to the process.</summary>
internal static partial class Native
{
    public const uint MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2;
    public const int F_ADD_SEALS = 1033, F_GET_SEALS = 1034;

    /// <summary>statfs f_type of hugetlbfs (a memfd made with MFD_HUGETLB lives there).</summary>
    public const long HUGETLBFS_MAGIC = 0x958458f6;

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true)]
    private static unsafe partial int MemfdCreateRaw(byte* name, uint flags);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int FchmodRaw(int fd, uint mode);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int FchownRaw(int fd, uint uid, uint gid);

    /// <summary>memfd_create(name, flags); throws naming <paramref name="context"/> on failure.</summary>
    public static unsafe int MemfdCreate(ReadOnlySpan<byte> name, uint flags, string context)
    {
        Span<byte> terminated = stackalloc byte[name.Length + 1];
        name.CopyTo(terminated);
        terminated[^1] = 0;
        fixed (byte* p = terminated)
        {
            int fd = MemfdCreateRaw(p, flags);
            if (fd < 0) throw new SysCallException("memfd_create", Marshal.GetLastPInvokeError(), context);
            return fd;
        }
    }

    public static void Fchmod(int fd, uint mode, string context)
    {
        if (FchmodRaw(fd, mode) != 0) throw new SysCallException("fchmod", Marshal.GetLastPInvokeError(), context);
    }

    public static void Fchown(int fd, uint uid, uint gid, string context)
    {
        if (FchownRaw(fd, uid, gid) != 0) throw new SysCallException("fchown", Marshal.GetLastPInvokeError(), context);
    }
}
