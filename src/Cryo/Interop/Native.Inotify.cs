using System.Runtime.InteropServices;

namespace Cryo.Interop;

/// <summary>inotify (made again at restore) and open_by_handle_at (how a watched inode's path is found at checkpoint).</summary>
internal static unsafe partial class Native
{
    public const int IN_NONBLOCK = 0x800, IN_CLOEXEC = 0x80000;
    public const uint IN_DONT_FOLLOW = 0x0200_0000, IN_DELETE_SELF = 0x400;

    [LibraryImport("libc", EntryPoint = "inotify_init1", SetLastError = true)]
    private static partial int InotifyInit1Raw(int flags);

    [LibraryImport("libc", EntryPoint = "inotify_add_watch", SetLastError = true)]
    private static partial int InotifyAddWatchRaw(int fd, byte* path, uint mask);

    [LibraryImport("libc", EntryPoint = "inotify_rm_watch", SetLastError = true)]
    private static partial int InotifyRmWatchRaw(int fd, int wd);

    [LibraryImport("libc", EntryPoint = "open_by_handle_at", SetLastError = true)]
    private static partial int OpenByHandleAtRaw(int mountFd, byte* handle, int flags);

    public static int InotifyInit(int flags, string context)
    {
        int fd = InotifyInit1Raw(flags);
        return fd >= 0 ? fd : throw new SysCallException("inotify_init1", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>The watch descriptor inotify_add_watch gives <paramref name="path"/>, or throws.</summary>
    public static int InotifyAddWatch(int fd, ReadOnlySpan<byte> path, uint mask, string context)
    {
        fixed (byte* p = CString(path))
        {
            int wd = InotifyAddWatchRaw(fd, p, mask);
            return wd >= 0 ? wd : throw new SysCallException("inotify_add_watch", Marshal.GetLastPInvokeError(), context);
        }
    }

    public static void InotifyRemoveWatch(int fd, int wd, string context)
    {
        if (InotifyRmWatchRaw(fd, wd) != 0) throw new SysCallException("inotify_rm_watch", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>
    /// Opens the file a handle names (struct file_handle: handle_bytes, handle_type, then the
    /// bytes) on the filesystem of <paramref name="mountFd"/>, O_PATH; -1 with errno set if not.
    /// </summary>
    public static int OpenByHandle(int mountFd, int type, ReadOnlySpan<byte> handle, out int errno)
    {
        var buffer = new byte[8 + handle.Length];
        BitConverter.TryWriteBytes(buffer, (uint)handle.Length);
        BitConverter.TryWriteBytes(buffer.AsSpan(4), type);
        handle.CopyTo(buffer.AsSpan(8));
        fixed (byte* b = buffer)
        {
            int fd = OpenByHandleAtRaw(mountFd, b, O_PATH | O_CLOEXEC);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
            return fd;
        }
    }
}
