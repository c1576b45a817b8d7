using System.Runtime.InteropServices;

namespace Cryo.Interop;

/// <summary>
/// File calls. Tmds.LibC 0.5.0 has these too (as runtime-marshalled DllImport with its own
/// pid_t/size_t/off_t wrapper types); binding the few the engine needs here keeps one
/// source-generated, NativeAOT-friendly errno path for every call cryo makes.
/// </summary>
internal static partial class Native
{
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_TRUNC = 0x200,
        O_APPEND = 0x400, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;

    public const int F_DUPFD_CLOEXEC = 1030, F_GETPIPE_SZ = 1032, F_SETPIPE_SZ = 1031;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    public static unsafe partial nint Pread(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    public static unsafe partial nint Pwrite(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static unsafe partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static unsafe partial nint Write(int fd, byte* buffer, nuint count);

    /// <summary>Duplicates pipe data without consuming it (used to save pipe buffers).</summary>
    [LibraryImport("libc", EntryPoint = "tee", SetLastError = true)]
    public static partial nint Tee(int fdIn, int fdOut, nuint length, uint flags);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static unsafe partial int FcntlOwner(int fd, int command, FileOwnerEx* owner);

    public const int F_SETSIG = 10, F_GETSIG = 11, F_SETOWN_EX = 15, F_GETOWN_EX = 16;

    /// <summary>struct f_owner_ex: type (F_OWNER_TID 0, F_OWNER_PID 1, F_OWNER_PGRP 2) and id.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct FileOwnerEx
    {
        public int Type;
        public int Pid;
    }

    /// <summary>fcntl(F_GETOWN_EX) and fcntl(F_GETSIG) of <paramref name="fd"/>: who gets its I/O signals, and which.</summary>
    public static unsafe (FileOwnerEx Owner, int Signal) GetFileOwner(int fd, string context)
    {
        FileOwnerEx owner;
        if (FcntlOwner(fd, F_GETOWN_EX, &owner) < 0) throw new SysCallException("fcntl(F_GETOWN_EX)", Marshal.GetLastPInvokeError(), context);
        int signal = Fcntl(fd, F_GETSIG, 0);
        if (signal < 0) throw new SysCallException("fcntl(F_GETSIG)", Marshal.GetLastPInvokeError(), context);
        return (owner, signal);
    }

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    public static unsafe partial int Pipe2(int* fds, int flags);

    /// <summary>Opens <paramref name="path"/> or throws a SysCallException naming it.</summary>
    public static int OpenOrThrow(string path, int flags, int mode = 0)
    {
        int fd = Open(path, flags, mode);
        if (fd < 0) throw new SysCallException("open", Marshal.GetLastPInvokeError(), path);
        return fd;
    }

    /// <summary>ioctl with a pointer argument (userfaultfd's calls).</summary>
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static unsafe partial int Ioctl(int fd, ulong request, void* argument);

    [LibraryImport("libc", EntryPoint = "unlink", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Unlink(string path);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int Ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    public static partial int Fallocate(Microsoft.Win32.SafeHandles.SafeFileHandle fd, int mode, long offset, long length);
}
