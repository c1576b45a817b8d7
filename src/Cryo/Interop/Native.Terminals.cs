using System.Runtime.InteropServices;

namespace Cryo.Interop;

/// <summary>Terminal ioctls: line settings (struct termios2), window size, controlling terminal and foreground group.</summary>
internal static partial class Native
{
    public const ulong TCGETS2 = 0x802C542A, TCSETS2 = 0x402C542B, TIOCGWINSZ = 0x5413, TIOCSCTTY = 0x540E,
        TIOCGPGRP = 0x540F, TIOCSPGRP = 0x5410, TIOCGSID = 0x5429;

    /// <summary>The kernel's struct termios2 (44 bytes): what TCGETS2 reads and TCSETS2 sets.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 1)]
    public unsafe struct Termios2
    {
        public uint InputModes, OutputModes, ControlModes, LocalModes;
        public byte Line;
        public fixed byte ControlChars[19];
        public uint InputSpeed, OutputSpeed;
    }

    /// <summary>struct winsize: rows, columns, width and height in pixels.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct WindowSize
    {
        public ushort Rows, Columns, PixelWidth, PixelHeight;
    }

    public static unsafe Termios2 GetTerminalSettings(int fd, string context)
    {
        Termios2 settings;
        if (Ioctl(fd, TCGETS2, &settings) != 0) throw new SysCallException("ioctl(TCGETS2)", Marshal.GetLastPInvokeError(), context);
        return settings;
    }

    /// <summary>
    /// TCSETS2, with SIGTTOU blocked in the calling thread: cryo may stand in the background of the
    /// terminal, where a change would stop it, and the kernel lets a thread that blocks SIGTTOU make it.
    /// </summary>
    public static unsafe void SetTerminalSettings(int fd, Termios2 settings, string context)
    {
        using var blocked = BlockTerminalStops();
        if (Ioctl(fd, TCSETS2, &settings) != 0) throw new SysCallException("ioctl(TCSETS2)", Marshal.GetLastPInvokeError(), context);
    }

    public static unsafe WindowSize GetWindowSize(int fd, string context)
    {
        WindowSize size;
        if (Ioctl(fd, TIOCGWINSZ, &size) != 0) throw new SysCallException("ioctl(TIOCGWINSZ)", Marshal.GetLastPInvokeError(), context);
        return size;
    }

    /// <summary>The foreground group of the terminal (which must be the caller's controlling terminal), or -errno.</summary>
    public static unsafe int GetForegroundGroup(int fd)
    {
        int group;
        return Ioctl(fd, TIOCGPGRP, &group) == 0 ? group : -Marshal.GetLastPInvokeError();
    }

    /// <summary>Makes <paramref name="group"/> the terminal's foreground group (tcsetpgrp), with SIGTTOU blocked as for <see cref="SetTerminalSettings"/>.</summary>
    public static unsafe void SetForegroundGroup(int fd, int group, string context)
    {
        using var blocked = BlockTerminalStops();
        if (Ioctl(fd, TIOCSPGRP, &group) != 0) throw new SysCallException($"ioctl(TIOCSPGRP {group})", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>The session whose controlling terminal this is, or -errno (ENOTTY: none).</summary>
    public static unsafe int GetTerminalSession(int fd)
    {
        int session;
        return Ioctl(fd, TIOCGSID, &session) == 0 ? session : -Marshal.GetLastPInvokeError();
    }

    [LibraryImport("libc", EntryPoint = "getpgrp")]
    public static partial int GetProcessGroup();

    [LibraryImport("libc", EntryPoint = "getpgid", SetLastError = true)]
    public static partial int GetProcessGroupOf(int pid);

    [LibraryImport("libc", EntryPoint = "getsid", SetLastError = true)]
    public static partial int GetSession(int pid);

    [LibraryImport("libc", EntryPoint = "pthread_sigmask")]
    private static unsafe partial int PthreadSigmask(int how, SignalSet* set, SignalSet* old);

    /// <summary>glibc's sigset_t (1024 bits; the kernel reads the first 64).</summary>
    public unsafe struct SignalSet
    {
        public fixed ulong Words[16];
    }

    /// <summary>Blocks SIGTTOU in the calling thread until disposed.</summary>
    public static unsafe TerminalStopsBlocked BlockTerminalStops()
    {
        const int SIG_BLOCK = 0;
        SignalSet set = default, old = default;
        set.Words[0] = Signals.Bit(Signals.SIGTTOU);
        PthreadSigmask(SIG_BLOCK, &set, &old);
        return new TerminalStopsBlocked(old);
    }

    public readonly struct TerminalStopsBlocked(SignalSet old) : IDisposable
    {
        public unsafe void Dispose()
        {
            const int SIG_SETMASK = 2;
            SignalSet mask = old;
            PthreadSigmask(SIG_SETMASK, &mask, null);
        }
    }
}
