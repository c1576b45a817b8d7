using System.Runtime.InteropServices;
using System.Text;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;

namespace Cryo.Resources;

/// <summary>
/// Terminals (FDES kind 10, TTYS), for <see cref="Files"/>: a program started from a shell, in
/// tmux or screen has its standard descriptors on a terminal. The dump saves each terminal's
/// line settings and window size and how the process stood to it (controlling terminal,
/// foreground group); a terminal's other end belongs to whoever drew it (a terminal emulator,
/// sshd, tmux), so a restore cannot bring it back: it puts the terminal it is given in its place
/// (`cryo restore --tty PATH`, by default cryo's own), sets the saved settings on it, makes it the
/// controlling terminal of a restored session leader that had one, and gives the foreground to
/// the group that had it. Pseudo-terminal masters (the program is itself a terminal emulator or
/// multiplexer) are refused. docs/engine-files.md, "Terminals".
/// </summary>
internal static class Terminals
{
    private const uint PtySlaveFirstMajor = 136, PtySlaveLastMajor = 143, ConsoleMajor = 4, TtyAuxMajor = 5;
    private const uint DevTtyMinor = 0, DevConsoleMinor = 1, PtmxMinor = 2;
    private const uint BsdPtyMasterFirstMajor = 2, BsdPtyMasterMajor = 128, BsdPtyMasterLastMajor = 135;

    /// <summary>Whether a character device is a terminal cryo saves; throws for a pseudo-terminal master.</summary>
    public static bool IsTerminal(FileStatus status, Func<string, string, UnsupportedResourceException> refuse)
    {
        uint major = FileStatus.Major(status.RawDevice), minor = FileStatus.Minor(status.RawDevice);
        if (major == TtyAuxMajor && minor == PtmxMinor || major is BsdPtyMasterFirstMajor or >= BsdPtyMasterMajor and <= BsdPtyMasterLastMajor)
            throw refuse("pseudo-terminal master",
                $"the program holds the master end of a pseudo-terminal (device {major}:{minor}): it is a terminal emulator or multiplexer, " +
                "whose terminals cryo does not make again; only the terminals a program runs on (their slave ends) are saved");
        return major is >= PtySlaveFirstMajor and <= PtySlaveLastMajor or ConsoleMajor
            || major == TtyAuxMajor && minor is DevTtyMinor or DevConsoleMinor;
    }

    // ---------------------------------------------------------------- dump

    /// <summary>The TTYS of a terminal descriptor (the first of that terminal in the process).</summary>
    public static TerminalState Dump(FrozenProcess process, OpenFile file)
    {
        int pid = process.Pid;
        string what = $"pid {pid} fd {file.Fd} (terminal {Encoding.UTF8.GetString(file.Link)})";
        var (settings, size) = ReadSettings(process, file.Fd, what);
        var stat = ProcStat.Read(pid);
        // /dev/tty stands for the controlling terminal it was opened on; any other terminal is the
        // controlling one if the process's stat names its device.
        bool devTty = FileStatus.Major(file.Status.RawDevice) == TtyAuxMajor && FileStatus.Minor(file.Status.RawDevice) == DevTtyMinor;
        bool controlling = stat.TtyNr != 0 && (devTty || (ulong)(uint)stat.TtyNr == file.Status.RawDevice);
        uint flags = (controlling ? TerminalState.Controlling : 0)
                     | (controlling && stat.ForegroundProcessGroup == stat.ProcessGroup ? TerminalState.Foreground : 0);
        return ToItem(file.Fd, flags, settings, size);
    }

    /// <summary>
    /// The terminal's settings and window size: from a copy of the descriptor (pidfd_getfd), else by
    /// injected ioctl calls (a reopen of /dev/tty in cryo would name cryo's own terminal).
    /// </summary>
    private static (Native.Termios2, Native.WindowSize) ReadSettings(FrozenProcess process, int fd, string what)
    {
        int copy = FdTransfer.FromProcess(process.Pid, fd);
        if (copy >= 0)
        {
            try { return (Native.GetTerminalSettings(copy, what), Native.GetWindowSize(copy, what)); }
            finally { Native.Close(copy); }
        }
        int settingsSize = Marshal.SizeOf<Native.Termios2>(), windowOffset = 48;
        using var scratch = process.Scratch(windowOffset + Marshal.SizeOf<Native.WindowSize>());
        process.Syscalls.Checked($"ioctl(fd {fd}, TCGETS2)", SyscallNumbers.Ioctl, fd, (long)Native.TCGETS2, (long)scratch.Address);
        process.Syscalls.Checked($"ioctl(fd {fd}, TIOCGWINSZ)", SyscallNumbers.Ioctl, fd, (long)Native.TIOCGWINSZ, (long)scratch.Address + windowOffset);
        var raw = new byte[windowOffset + Marshal.SizeOf<Native.WindowSize>()];
        scratch.Read(0, raw);
        return (MemoryMarshal.Read<Native.Termios2>(raw.AsSpan(0, settingsSize)), MemoryMarshal.Read<Native.WindowSize>(raw.AsSpan(windowOffset)));
    }

    private static unsafe TerminalState ToItem(int fd, uint flags, Native.Termios2 t, Native.WindowSize size)
    {
        var cc = new byte[TerminalState.ControlCharCount];
        for (int i = 0; i < cc.Length; i++) cc[i] = t.ControlChars[i];
        return new TerminalState(fd, flags, t.InputModes, t.OutputModes, t.ControlModes, t.LocalModes, t.Line, cc,
            t.InputSpeed, t.OutputSpeed, size.Rows, size.Columns, size.PixelWidth, size.PixelHeight);
    }

    private static unsafe Native.Termios2 SettingsOf(TerminalState s)
    {
        var t = new Native.Termios2
        {
            InputModes = s.InputModes, OutputModes = s.OutputModes, ControlModes = s.ControlModes, LocalModes = s.LocalModes,
            Line = s.LineDiscipline, InputSpeed = s.InputSpeed, OutputSpeed = s.OutputSpeed,
        };
        for (int i = 0; i < TerminalState.ControlCharCount; i++) t.ControlChars[i] = s.ControlChars[i];
        return t;
    }

    private static unsafe bool SameSettings(Native.Termios2 a, Native.Termios2 b) =>
        new ReadOnlySpan<byte>(&a, sizeof(Native.Termios2)).SequenceEqual(new ReadOnlySpan<byte>(&b, sizeof(Native.Termios2)));

    // ---------------------------------------------------------------- restore

    /// <summary>
    /// The terminal of one restore: every terminal of the image is this one. cryo keeps a descriptor
    /// of it for the settings and the foreground, and the settings it had before, which a failed
    /// restore, and the end of a restore cryo waits for, put back.
    /// </summary>
    internal sealed class TerminalSession : IDisposable
    {
        /// <summary>The TTYS items read, with their process, in file order.</summary>
        public List<(RestoringProcess Process, TerminalState State, FileDescriptor Fd)> Seen { get; } = [];

        public string? Path { get; private set; }
        public int Fd { get; private set; } = -1;
        public Native.Termios2 Before { get; private set; }
        public bool Changed { get; private set; }
        private TerminalState? applied;
        private byte[]? appliedFrom;
        private readonly HashSet<string> otherPaths = [];

        /// <summary>
        /// Finds and opens the restore's terminal, once: at the image's first terminal descriptor,
        /// so that a restore with none fails as early as it can.
        /// </summary>
        public void Resolve(RestoreSession session, string what)
        {
            if (Fd >= 0) return;
            Path = session.Options.Terminal ?? OwnTerminal()
                ?? throw new InvalidOperationException($"{what}: the process ran on a terminal and cryo restore has none: run it on a terminal, or give one with --tty PATH");
            Fd = OpenTerminal(Path, Native.O_RDWR | Native.O_NONBLOCK, what);
            Before = Native.GetTerminalSettings(Fd, what);
        }

        /// <summary>A new description of the restore's terminal for <paramref name="item"/>; the first one sets the image's settings on the terminal.</summary>
        public int Open(FileDescriptor item, TerminalState state, int pid, RestoreSession session)
        {
            string what = $"pid {pid} fd {item.Fd} (terminal {Encoding.UTF8.GetString(item.Path)})";
            Resolve(session, what);
            string path = Encoding.UTF8.GetString(item.Path);
            if (applied is null)
            {
                var wanted = SettingsOf(state);
                if (!SameSettings(wanted, Before))
                {
                    Native.SetTerminalSettings(Fd, wanted, $"{what}, its settings set on {Path}");
                    Changed = true;
                    session.UndoOnFailure.Add(PutBack);
                }
                applied = state;
                appliedFrom = item.Path;
            }
            else if (!SameSettings(SettingsOf(state), SettingsOf(applied)))
                session.Warn($"{what}: its settings differ from those of {Encoding.UTF8.GetString(appliedFrom!)}, which {Path} has now (the image's terminals are all restored onto one)");
            if (path != Encoding.UTF8.GetString(appliedFrom!) && otherPaths.Add(path) && !IsDevTty(item))
                session.Warn($"{what}: the image's processes ran on more than one terminal ({Encoding.UTF8.GetString(appliedFrom!)}, {path}); all of them are {Path} now");
            int flags = ((int)item.OpenFlags & ~(Native.O_CREAT | Native.O_TRUNC | Native.O_EXCL)) | Native.O_NOCTTY;
            return OpenTerminal(Path!, flags, what);
        }

        /// <summary>Puts back the settings the terminal had before the restore.</summary>
        public void PutBack()
        {
            if (Fd < 0 || !Changed) return;
            try { Native.SetTerminalSettings(Fd, Before, $"putting back the settings of {Path}"); }
            catch (SysCallException e) { Console.Error.WriteLine($"cryo: warning: {e.Message}"); }
            Changed = false;
        }

        /// <summary>Whether cryo's own session has been looked at (<see cref="TakeControl"/>).</summary>
        public bool ControlTaken { get; set; }

        /// <summary>The sessions whose controlling terminal is the restore's terminal (cryo's own, restored leaders that took it).</summary>
        public HashSet<int> ControlledSessions { get; } = [];

        /// <summary>The restored group given the foreground of cryo's terminal (a shell's job), else 0.</summary>
        public int JobGroup { get; set; }

        /// <summary>Hands cryo's descriptor of the terminal to the caller (the wait of `cryo restore`), once every process is released; the session no longer closes it.</summary>
        public TerminalHandover? Hand()
        {
            if (Fd < 0) return null;
            var handover = new TerminalHandover(Fd, Path!, Before, JobGroup);
            Fd = -1;
            return handover;
        }

        public void Dispose()
        {
            if (Fd >= 0) Native.Close(Fd);
            Fd = -1;
        }
    }

    private static bool IsDevTty(FileDescriptor item) =>
        FileStatus.Major(item.RawDevice) == TtyAuxMajor && FileStatus.Minor(item.RawDevice) == DevTtyMinor;

    private static int OpenTerminal(string path, int flags, string what)
    {
        int fd = Native.Open(path, flags | Native.O_NOCTTY | Native.O_CLOEXEC, 0);
        if (fd < 0) throw new SysCallException("open", Marshal.GetLastPInvokeError(), $"{what}: the terminal {path}");
        if (Native.IsATty(fd) != 1)
        {
            Native.Close(fd);
            throw new InvalidOperationException($"{what}: {path} is not a terminal");
        }
        return fd;
    }

    /// <summary>
    /// cryo's own terminal: the one of its standard descriptors that is its controlling terminal,
    /// else any of them that is a terminal, else /dev/tty if it has a controlling terminal; null if none.
    /// </summary>
    private static string? OwnTerminal()
    {
        int controlling = Native.Open("/dev/tty", Native.O_RDWR | Native.O_NOCTTY | Native.O_CLOEXEC | Native.O_NONBLOCK, 0);
        ulong? device = null;
        if (controlling >= 0)
        {
            try { device = Native.Fstat(controlling, "/dev/tty").RawDevice; }
            finally { Native.Close(controlling); }
        }
        string? any = null;
        for (int fd = 0; fd <= 2; fd++)
        {
            if (Native.IsATty(fd) != 1) continue;
            string path = Encoding.UTF8.GetString(Native.ReadLink($"/proc/self/fd/{fd}"));
            if (device is null || Native.Fstat(fd, path).RawDevice == device) return path;
            any ??= path;
        }
        return any ?? (device is null ? null : "/dev/tty");
    }

    /// <summary>At a terminal's FDES: the restore's terminal must exist.</summary>
    public static void Resolve(RestoringProcess process, FileDescriptor item, RestoreSession session) =>
        session.State<TerminalSession>().Resolve(session, $"pid {process.Pid} fd {item.Fd} (terminal {Encoding.UTF8.GetString(item.Path)})");

    /// <summary>Records a TTYS read for <paramref name="process"/> (the FDES it follows is <paramref name="fd"/>).</summary>
    public static void Read(RestoringProcess process, TerminalState state, FileDescriptor fd, RestoreSession session) =>
        session.State<TerminalSession>().Seen.Add((process, state, fd));

    /// <summary>cryo's description of a terminal descriptor: the restore's terminal, with the image's settings set on it.</summary>
    public static int OpenDescription(Files.Description d, RestoreSession session)
    {
        var terminals = session.State<TerminalSession>();
        // A TTYS follows a process's first descriptor of each terminal: a second description of
        // the same terminal (opened twice) has its state there.
        var state = d.State as TerminalState
            ?? terminals.Seen.FirstOrDefault(s => s.Process.Pid == d.FirstPid && s.Fd.RawDevice == d.First.RawDevice).State
            ?? throw new InvalidDataException($"image: pid {d.FirstPid} fd {d.First.Fd} (terminal {Encoding.UTF8.GetString(d.First.Path)}) has no TTYS item for its terminal");
        return terminals.Open(d.First, state, d.FirstPid, session);
    }

    /// <summary>
    /// Before the process's descriptors are installed (every process of the image exists by then):
    /// a restored session leader whose controlling terminal it was takes the terminal again
    /// (TIOCSCTTY, injected, on a temporary copy of cryo's descriptor), and gives the foreground to
    /// the group of its session that had it (TIOCSPGRP). A terminal that is already another
    /// session's (cryo's own, when the restore runs on it) cannot be taken: a warning says so.
    /// Processes are finished parents first, so a leader takes its terminal before the processes
    /// of its session open /dev/tty.
    /// </summary>
    public static void TakeControl(RestoringProcess process, RestoreSession session)
    {
        var terminals = session.State<TerminalSession>();
        if (terminals.Fd < 0) return;
        if (!terminals.ControlTaken)
        {
            terminals.ControlTaken = true;
            int mySession = Native.GetSession(0);
            if (Native.GetTerminalSession(terminals.Fd) == mySession) terminals.ControlledSessions.Add(mySession);
        }
        if (process.Info.SessionId != process.Pid) return;
        var mine = terminals.Seen.FirstOrDefault(s => s.Process == process && s.State.IsControlling);
        if (mine.Process is null) return;
        string what = $"pid {process.Pid} (terminal {Encoding.UTF8.GetString(mine.Fd.Path)}, now {terminals.Path})";
        var sys = process.Syscalls;
        int temporary = FdTransfer.Of(process).Copy(process, terminals.Fd, what, out _);
        try
        {
            long taken = sys.Invoke(SyscallNumbers.Ioctl, temporary, (long)Native.TIOCSCTTY, 0);
            if (taken == -ErrnoNames.EPERM)
            {
                session.Warn($"{what}: it was the controlling terminal of the session pid {process.Pid} leads, but {terminals.Path} is the controlling " +
                             "terminal of another session (cryo's own, if the restore runs on it); the session has none now: give --tty a terminal no session holds");
                return;
            }
            if (taken < 0) throw new SysCallException("ioctl(TIOCSCTTY) (injected)", (int)-taken, what);
            terminals.ControlledSessions.Add(process.Pid);
            var foreground = terminals.Seen.FirstOrDefault(s => s.State.IsForeground && s.Process.Info.SessionId == process.Pid);
            if (foreground.Process is null) return;
            int group = foreground.Process.Info.ProcessGroupId;
            var scratch = process.ScratchFor("TIOCSPGRP");
            scratch.Write(0, BitConverter.GetBytes(group));
            sys.Checked($"ioctl(TIOCSPGRP {group}) for {what}", SyscallNumbers.Ioctl, temporary, (long)Native.TIOCSPGRP, (long)scratch.Address);
        }
        finally
        {
            sys.Checked($"close (temporary) for {what}", SyscallNumbers.Close, temporary);
        }
    }

    /// <summary>
    /// A /dev/tty descriptor (5:0) opened again by the process itself, where its session's
    /// controlling terminal is the restore's terminal: /dev/tty is a name for "my controlling
    /// terminal", which only a process of that session can open. Returns the temporary number, or
    /// -1 for any other descriptor. Elsewhere (a session without it) the terminal is opened by its
    /// path instead, with a warning.
    /// </summary>
    public static int OpenDevTtyInProcess(RestoringProcess process, FileDescriptor item, RestoreSession session)
    {
        if (item.Kind != FileKind.Terminal || !IsDevTty(item)) return -1;
        var terminals = session.State<TerminalSession>();
        int sessionId = session.Processes.Any(p => p.Pid == process.Info.SessionId) ? process.Info.SessionId : Native.GetSession(0);
        string what = $"pid {process.Pid} fd {item.Fd} (/dev/tty)";
        if (!terminals.ControlledSessions.Contains(sessionId))
        {
            session.Warn($"{what}: its session's controlling terminal is not {terminals.Path} now, so it is {terminals.Path} itself, opened by its path");
            return -1;
        }
        var scratch = process.ScratchFor("openat(/dev/tty)");
        ulong path = scratch.WriteCString(0, "/dev/tty"u8);
        int flags = ((int)item.OpenFlags & ~(Native.O_CREAT | Native.O_TRUNC | Native.O_EXCL)) | Native.O_NOCTTY | Native.O_CLOEXEC;
        const long AtFdcwd = -100;
        return (int)process.Syscalls.Checked($"openat(/dev/tty) for {what}", InjectedCalls.Openat, AtFdcwd, (long)path, flags, 0);
    }

    /// <summary>
    /// Before the release. A group that had the foreground of a terminal whose session is not in the
    /// image (a job of a shell) gets the foreground of cryo's terminal while cryo waits for it, as a
    /// shell gives it to a job (not with --detach, and only if cryo has the foreground itself). A
    /// process whose terminal is not the size it was gets a SIGWINCH, queued while it is still held,
    /// as the kernel sends one when a terminal is resized.
    /// </summary>
    public static void BeforeRelease(RestoreSession session)
    {
        var terminals = session.State<TerminalSession>();
        if (terminals.Fd < 0) return;
        var size = Native.GetWindowSize(terminals.Fd, $"the terminal {terminals.Path}");
        foreach (var process in terminals.Seen.Where(s => s.State.Rows != size.Rows || s.State.Columns != size.Columns).Select(s => s.Process).Distinct())
            if (Native.Kill(process.Pid, Interop.Signals.SIGWINCH) != 0)
                throw new SysCallException("kill(SIGWINCH)", Marshal.GetLastPInvokeError(), $"pid {process.Pid}, whose terminal is {size.Columns}x{size.Rows} now");
        bool sessionInImage(RestoringProcess p) => session.Processes.Any(q => q.Pid == p.Info.SessionId);
        var foreground = terminals.Seen.FirstOrDefault(s => s.State.IsForeground && !sessionInImage(s.Process));
        if (foreground.Process is not null && !session.Options.Detach && Native.GetForegroundGroup(terminals.Fd) == Native.GetProcessGroup())
        {
            int job = Native.GetProcessGroupOf(foreground.Process.Pid), mine = Native.GetProcessGroup();
            if (job > 0 && job != mine)
            {
                Native.SetForegroundGroup(terminals.Fd, job, $"giving the terminal {terminals.Path} to the restored group {job}");
                int fd = terminals.Fd;
                session.UndoOnFailure.Add(() => Native.SetForegroundGroup(fd, mine, $"taking the terminal back from group {job}"));
                terminals.JobGroup = job;
            }
        }
    }

    /// <summary>After the release: the terminal for `cryo restore` to act for the job while it waits (null with --detach or when the image has no terminal).</summary>
    public static TerminalHandover? Hand(RestoreSession session) =>
        session.Options.Detach ? null : session.State<TerminalSession>().Hand();
}

/// <summary>
/// The terminal a restore ran on, handed to `cryo restore` while it waits for the restored root:
/// it acts for the job as a shell would. When the job stops (Ctrl-Z), cryo takes the terminal
/// back, puts back the settings it had, and stops itself, so that the shell that started cryo
/// takes over; continued, it gives the terminal back and continues the job. At the end it takes
/// the terminal and its settings back.
/// </summary>
internal sealed class TerminalHandover(int fd, string path, Native.Termios2 before, int jobGroup) : IDisposable
{
    private Native.Termios2 jobSettings;

    public int JobGroup => jobGroup;

    /// <summary>The job stopped: cryo takes the terminal and its settings back, then stops itself.</summary>
    public void JobStopped()
    {
        jobSettings = Native.GetTerminalSettings(fd, path);
        TakeBack();
        Native.Kill(Environment.ProcessId, Interop.Signals.SIGSTOP);
        // Continued (fg or bg): the job gets the terminal only if cryo has it again (fg).
        if (jobGroup != 0 && Native.GetForegroundGroup(fd) == Native.GetProcessGroup())
        {
            Native.SetTerminalSettings(fd, jobSettings, $"giving {path} its settings for the job back");
            Native.SetForegroundGroup(fd, jobGroup, $"giving {path} back to group {jobGroup}");
        }
    }

    private void TakeBack()
    {
        if (jobGroup != 0 && Native.GetForegroundGroup(fd) == jobGroup)
            Native.SetForegroundGroup(fd, Native.GetProcessGroup(), $"taking {path} back from group {jobGroup}");
        // Whatever the job set since (a program killed in raw mode leaves it so): the shell gets its own.
        Native.SetTerminalSettings(fd, before, $"putting back the settings of {path}");
    }

    public void Dispose()
    {
        try { TakeBack(); }
        catch (SysCallException e) { Console.Error.WriteLine($"cryo: warning: {e.Message}"); }
        Native.Close(fd);
    }
}
