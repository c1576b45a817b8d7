using System.Globalization;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;

namespace Cryo.Resources;

/// <summary>
/// pidfds (PIDF), for <see cref="Files"/>: a descriptor that refers to a process. Go (1.23+)
/// keeps one for every child it started, Python's asyncio and systemd watch children through
/// them. fdinfo shows the pid; only pidfds of processes of the tree are saved, since after a
/// restore no other pid can be trusted to name the same process. A restore opens a pidfd of the
/// process it made with that pid (every process is born before any descriptor is made), with
/// O_NONBLOCK (PIDFD_NONBLOCK) as saved. Refused: a pidfd of a process outside the tree, of one
/// already reaped, in another pid namespace, and a thread's pidfd (PIDFD_THREAD).
/// docs/engine-files.md, "pidfds".
/// </summary>
internal static class PidFds
{
    public const string Link = "anon_inode:[pidfd]";

    /// <summary>PIDFD_THREAD, which shows among the status flags as O_EXCL.</summary>
    private const int PidfdThread = 0x80;

    public static PidFd Dump(FrozenProcess process, int fd, FdInfo info, DumpSession session)
    {
        UnsupportedResourceException Refuse(string why) => new(process.Pid, $"fd {fd} (pidfd)", why);
        string shown = info.Get("Pid") ?? throw new ProcFormatException($"/proc/{process.Pid}/fdinfo/{fd}", "a pidfd without 'Pid'");
        int pid = int.Parse(shown, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        if (pid == -1) throw Refuse("the process it refers to has ended and been reaped, which a restore cannot make again");
        if (pid == 0) throw Refuse("the process it refers to is in a pid namespace cryo does not see");
        if (info.Get("flags") is { } flags && (Convert.ToInt32(flags, 8) & PidfdThread) != 0)
            throw Refuse($"it refers to a thread (PIDFD_THREAD, of tid {pid}), which is not supported yet");
        if (!session.TreePids.Contains(pid) && !session.ZombiePids.Contains(pid))
            throw Refuse($"it refers to pid {pid}, which is not in the checkpointed tree: after a restore that pid may name another process");
        return new PidFd(fd, pid);
    }

    /// <summary>
    /// A pidfd in cryo of the restored process with the saved pid, with O_NONBLOCK as the
    /// description had it. The pid must be one this restore made (a process or a zombie of the
    /// image): any other process with that pid is not the one the pidfd referred to.
    /// </summary>
    public static int Open(PidFd state, FileDescriptor fd, string what, RestoreSession session)
    {
        if (!session.Processes.Any(p => p.Pid == state.Pid) && !session.Zombies.Any(z => z.Pid == state.Pid))
            throw new InvalidDataException($"image: {what} refers to pid {state.Pid}, which the image does not make");
        try { return Native.PidfdOpen(state.Pid, (uint)((int)fd.OpenFlags & Native.O_NONBLOCK)); }
        catch (SysCallException e) { throw new SysCallException("pidfd_open", e.Errno, $"{what}: a pidfd of pid {state.Pid}"); }
    }
}
