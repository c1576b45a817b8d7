using System.Runtime.InteropServices;

namespace Cryo.Interop;

internal static partial class Native
{
    /// <summary>syscall(2) with all six argument slots (variadic in C, harmless on x86-64).</summary>
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall(long number, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0);

    /// <summary>A pidfd for <paramref name="pid"/>, or throws.</summary>
    public static int PidfdOpen(int pid, uint flags = 0)
    {
        long fd = Syscall(SyscallNumbers.PidfdOpen, pid, flags);
        if (fd < 0) throw new SysCallException("pidfd_open", Marshal.GetLastPInvokeError(), $"pid {pid}");
        return (int)fd;
    }

    /// <summary>A copy (close-on-exec) of fd <paramref name="targetFd"/> of the pidfd's process, or throws.</summary>
    public static int PidfdGetFd(int pidfd, int targetFd, uint flags = 0)
    {
        long fd = Syscall(SyscallNumbers.PidfdGetFd, pidfd, targetFd, flags);
        if (fd < 0) throw new SysCallException("pidfd_getfd", Marshal.GetLastPInvokeError(), $"fd {targetFd} of pidfd {pidfd}");
        return (int)fd;
    }
}

/// <summary>
/// struct clone_args (88 bytes, with set_tid and cgroup) as clone3(2) reads it. The engine
/// injects clone3 into a stub (to recreate a pid with set_tid); calling it from managed code
/// would copy the whole runtime into the child, so there is deliberately no local wrapper.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CloneArgs
{
    public ulong Flags;
    public ulong PidFd;
    public ulong ChildTid;
    public ulong ParentTid;
    public ulong ExitSignal;
    public ulong Stack;
    public ulong StackSize;
    public ulong Tls;
    public ulong SetTid;
    public ulong SetTidSize;
    public ulong Cgroup;
}

/// <summary>x86-64 system call numbers the engine uses (locally or injected).</summary>
internal static class SyscallNumbers
{
    public const long Read = 0, Write = 1, Open = 2, Close = 3, Mmap = 9, Mprotect = 10,
        Munmap = 11, Brk = 12, RtSigaction = 13, RtSigprocmask = 14, Ioctl = 16, Pipe = 22,
        Mremap = 25, Dup2 = 33, Pause = 34, Nanosleep = 35, Getitimer = 36, Setitimer = 38, Getpid = 39, Clone = 56, Wait4 = 61, Kill = 62, Fcntl = 72,
        Prctl = 157, Gettid = 186, TgKill = 234, RestartSyscall = 219, SetTidAddress = 218,
        ClockNanosleep = 230, ExitGroup = 231, SetRobustList = 273, Dup3 = 292,
        Rseq = 334, Seccomp = 317, PidfdOpen = 434, Clone3 = 435, PidfdGetFd = 438, ProcessMrelease = 448, RtSigtimedwait = 128, Ftruncate = 77,
        Shmat = 30;
}
