using System.Runtime.InteropServices;

namespace Cryo.Interop;

/// <summary>eventfd, signalfd and timerfd: made in cryo at a restore, then handed to the process like any description.</summary>
internal static partial class Native
{
    public const int EFD_SEMAPHORE = 1;
    public const ulong TFD_IOC_SET_TICKS = 0x40085400; // _IOW('T', 0, __u64)

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeSpec
    {
        public long Seconds, Nanoseconds;

        public const long NanosecondsPerSecond = 1_000_000_000;

        public static TimeSpec FromNanoseconds(ulong ns) => new() { Seconds = (long)(ns / NanosecondsPerSecond), Nanoseconds = (long)(ns % NanosecondsPerSecond) };

        public readonly ulong TotalNanoseconds => (ulong)Seconds * NanosecondsPerSecond + (ulong)Nanoseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct TimerSpec
    {
        public TimeSpec Interval, Value;
    }

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventfdRaw(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "signalfd", SetLastError = true)]
    private static unsafe partial int SignalfdRaw(int fd, ulong* mask, int flags);

    [LibraryImport("libc", EntryPoint = "timerfd_create", SetLastError = true)]
    private static partial int TimerfdCreateRaw(int clock, int flags);

    [LibraryImport("libc", EntryPoint = "timerfd_settime", SetLastError = true)]
    private static unsafe partial int TimerfdSettimeRaw(int fd, int flags, TimerSpec* value, TimerSpec* old);

    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static unsafe partial int ClockGettimeRaw(int clock, TimeSpec* time);

    public static int Eventfd(int flags, string context)
    {
        int fd = EventfdRaw(0, flags);
        return fd >= 0 ? fd : throw new SysCallException("eventfd", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>A signalfd for the signals in <paramref name="mask"/> (bit n: signal n + 1); glibc's sigset_t is read for its first 8 bytes.</summary>
    public static unsafe int Signalfd(ulong mask, int flags, string context)
    {
        // glibc copies a whole sigset_t (128 bytes) out of the pointer: give it one.
        ulong* set = stackalloc ulong[16];
        new Span<ulong>(set, 16).Clear();
        set[0] = mask;
        int fd = SignalfdRaw(-1, set, flags);
        return fd >= 0 ? fd : throw new SysCallException("signalfd", Marshal.GetLastPInvokeError(), context);
    }

    public static int TimerfdCreate(int clock, int flags, string context)
    {
        int fd = TimerfdCreateRaw(clock, flags);
        return fd >= 0 ? fd : throw new SysCallException("timerfd_create", Marshal.GetLastPInvokeError(), $"{context}, clock {clock}");
    }

    public static unsafe void TimerfdSettime(int fd, int flags, TimerSpec value, string context)
    {
        if (TimerfdSettimeRaw(fd, flags, &value, null) != 0)
            throw new SysCallException("timerfd_settime", Marshal.GetLastPInvokeError(), context);
    }

    public static unsafe ulong ClockNanoseconds(int clock)
    {
        TimeSpec now;
        if (ClockGettimeRaw(clock, &now) != 0) throw new SysCallException("clock_gettime", Marshal.GetLastPInvokeError(), $"clock {clock}");
        return now.TotalNanoseconds;
    }
}

internal static partial class Native
{
    public const int KCMP_EPOLL_TFD = 7;
    public const int EPOLL_CTL_ADD = 1, EPOLL_CTL_MOD = 3;

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreate1Raw(int flags);

    public static int EpollCreate(string context)
    {
        int fd = EpollCreate1Raw(O_CLOEXEC);
        return fd >= 0 ? fd : throw new SysCallException("epoll_create1", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>
    /// kcmp(KCMP_EPOLL_TFD): whether fd <paramref name="fd"/> of <paramref name="pid"/> is the file
    /// the epoll instance <paramref name="epollFd"/> of that process watches as descriptor
    /// <paramref name="fd"/>. False when it is another file, or no file is open at that number.
    /// </summary>
    public static unsafe bool WatchedFileIsOpenAt(int pid, int epollFd, int fd)
    {
        uint* slot = stackalloc uint[3];
        slot[0] = (uint)epollFd; slot[1] = (uint)fd; slot[2] = 0;
        long result = Syscall(Kcmp, pid, pid, KCMP_EPOLL_TFD, fd, (long)slot);
        if (result < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is ErrnoNames.EBADF or ErrnoNames.ENOENT) return false; // nothing open at that number, or not watched through it
            throw new SysCallException("kcmp(KCMP_EPOLL_TFD)", errno, $"pid {pid} epoll fd {epollFd}, watched fd {fd}");
        }
        return result == 0;
    }
}
