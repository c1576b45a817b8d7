using System.Runtime.InteropServices;

namespace Cryo.Interop;

/// <summary>
/// Directories: mkdir and rmdir (a deleted working directory made again), and a thread of cryo's
/// own with a private root (named Unix sockets bound away from the real paths): unshare(CLONE_FS)
/// gives the calling thread its own root and working directory, which chroot and chdir then
/// change for it alone, and in which its mkdir and bind resolve.
/// </summary>
internal static unsafe partial class Native
{
    public const int CLONE_FS = 0x200;

    [LibraryImport("libc", EntryPoint = "unshare", SetLastError = true)]
    private static partial int UnshareRaw(int flags);

    [LibraryImport("libc", EntryPoint = "chroot", SetLastError = true)]
    private static partial int ChrootRaw(byte* path);

    [LibraryImport("libc", EntryPoint = "chdir", SetLastError = true)]
    private static partial int ChdirRaw(byte* path);

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true)]
    private static partial int MkdirRaw(byte* path, uint mode);

    [LibraryImport("libc", EntryPoint = "rmdir", SetLastError = true)]
    private static partial int RmdirRaw(byte* path);

    /// <summary>rmdir; 0, or -1 with the errno to read.</summary>
    public static int Rmdir(ReadOnlySpan<byte> path)
    {
        fixed (byte* p = CString(path)) return RmdirRaw(p);
    }

    /// <summary>Makes <paramref name="directory"/> this thread's root and working directory, for it alone.</summary>
    public static void EnterPrivateRoot(string directory, string context)
    {
        if (UnshareRaw(CLONE_FS) != 0) throw new SysCallException("unshare(CLONE_FS)", Marshal.GetLastPInvokeError(), context);
        fixed (byte* root = CString(System.Text.Encoding.UTF8.GetBytes(directory)))
            if (ChrootRaw(root) != 0) throw new SysCallException($"chroot({directory})", Marshal.GetLastPInvokeError(), context);
        fixed (byte* slash = "/\0"u8)
            if (ChdirRaw(slash) != 0) throw new SysCallException("chdir(/)", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>mkdir of a path (mode 0700); false with <paramref name="errno"/> if it failed.</summary>
    public static bool TryMakeDirectory(ReadOnlySpan<byte> path, out int errno)
    {
        fixed (byte* p = CString(path))
        {
            errno = MkdirRaw(p, 0x1c0) == 0 ? 0 : Marshal.GetLastPInvokeError();
            return errno == 0;
        }
    }
}
