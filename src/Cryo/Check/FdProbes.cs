using System.Runtime.InteropServices;
using Cryo.Interop;

namespace Cryo.Check;

/// <summary>Probes of the descriptor calls: pidfd_open, pidfd_getfd, kcmp, and unix_diag (Unix socket pairs).</summary>
internal static class FdProbes
{
    // What restore does without pidfd_getfd (pidfd_open serves only it): Resources/FdTransfer.cs.
    private const string Fallback = "fallback: restore reopens descriptors through /proc/PID/fd, as new open file descriptions: " +
        "descriptions shared across processes are split (offset and status flags no longer shared), anonymous pipe ends gain " +
        "O_LARGEFILE (and lose O_DIRECT where F_SETFL cannot set it); --pipe-dump drain refuses packet-mode pipes";

    public static ProbeOutcome PidfdOpen()
    {
        using var target = ProbeTarget.Start();
        long fd = Native.Syscall(SyscallNumbers.PidfdOpen, target.Pid, 0);
        if (fd < 0) return ProbeOutcome.Missing($"pidfd_open: {CheckNative.LastError()}; {Fallback}");
        using var holder = new FdHolder((int)fd);
        return ProbeOutcome.Ok($"pidfd_open of a helper: {CheckNative.Readlink($"/proc/self/fd/{fd}")}");
    }

    /// <summary>pidfd_getfd of the helper's stdout (/dev/null): the copy must name the same file.</summary>
    public static ProbeOutcome PidfdGetfd()
    {
        using var target = ProbeTarget.Start();
        long pidfd = Native.Syscall(SyscallNumbers.PidfdOpen, target.Pid, 0);
        if (pidfd < 0) return ProbeOutcome.Missing($"pidfd_open (needed first): {CheckNative.LastError()}; {Fallback}");
        using var pidfdHolder = new FdHolder((int)pidfd);
        long fd = Native.Syscall(SyscallNumbers.PidfdGetFd, pidfd, 1, 0);
        if (fd < 0)
            return ProbeOutcome.Missing($"pidfd_getfd: {CheckNative.LastError()}; {Fallback}");
        using var holder = new FdHolder((int)fd);
        string link = CheckNative.Readlink($"/proc/self/fd/{fd}");
        return link == "/dev/null"
            ? ProbeOutcome.Ok("copied the helper's fd 1 (/dev/null)")
            : ProbeOutcome.Missing($"the copy of the helper's fd 1 links to '{link}', not /dev/null");
    }

    /// <summary>
    /// unix_diag (NETLINK_SOCK_DIAG, CONFIG_UNIX_DIAG) about one end of a socket pair of cryo's own:
    /// it must name the other end as the peer. Without it Unix socket pairs are refused.
    /// </summary>
    public static ProbeOutcome UnixDiag()
    {
        var (a, b) = Native.SocketPair(1 /* SOCK_STREAM */, "the unix_diag probe");
        using var one = new FdHolder(a);
        using var two = new FdHolder(b);
        var first = Native.Fstat(a, "the unix_diag probe");
        var second = Native.Fstat(b, "the unix_diag probe");
        var diag = Native.DiagnoseUnixSocket((uint)first.Inode, "the unix_diag probe");
        if (diag is null)
            return ProbeOutcome.Missing("unix_diag answers ENOENT for a socket of cryo's own: CONFIG_UNIX_DIAG is off or its module is not loaded (modprobe unix_diag)");
        return diag.Peer == (uint)second.Inode
            ? ProbeOutcome.Ok($"a socket pair: socket:[{first.Inode}] has peer socket:[{diag.Peer}]")
            : ProbeOutcome.Missing($"unix_diag names socket:[{diag.Peer}] as the peer of socket:[{first.Inode}], not socket:[{second.Inode}]");
    }

    /// <summary>
    /// inet_diag (NETLINK_SOCK_DIAG, CONFIG_INET_DIAG with tcp_diag) about a listener of cryo's own
    /// on 127.0.0.1: it must show the backlog listen() was given. Without it a listening TCP
    /// socket is saved with its backlog unknown (restored with 4096 and a warning).
    /// </summary>
    public static ProbeOutcome InetDiag()
    {
        const int Backlog = 37;
        using var listener = new FdHolder(Native.Socket(Native.AF_INET, Native.SOCK_STREAM | Native.SOCK_CLOEXEC, Native.IPPROTO_TCP, "the inet_diag probe"));
        Native.BindAndListen(listener.Fd, Native.AF_INET, 0, [127, 0, 0, 1], 0, Backlog, "the inet_diag probe");
        var status = Native.Fstat(listener.Fd, "the inet_diag probe");
        uint? backlog = Native.ListenBacklog(Native.AF_INET, (uint)status.Inode, "the inet_diag probe");
        if (backlog is null)
            return ProbeOutcome.Missing("inet_diag does not list a listener of cryo's own: CONFIG_INET_DIAG is off or its modules are not loaded (modprobe tcp_diag)");
        return backlog == Backlog
            ? ProbeOutcome.Ok($"a listener on 127.0.0.1: backlog {backlog}")
            : ProbeOutcome.Missing($"inet_diag shows backlog {backlog} for a listener given {Backlog}");
    }

    /// <summary>kcmp(KCMP_FILE): the same description compares equal, two opens of one file do not.</summary>
    public static ProbeOutcome Kcmp()
    {
        using var one = new FdHolder(Native.OpenOrThrow("/dev/null", Native.O_RDONLY | Native.O_CLOEXEC));
        using var two = new FdHolder(Native.OpenOrThrow("/dev/null", Native.O_RDONLY | Native.O_CLOEXEC));
        int pid = Environment.ProcessId;
        long same = Native.Syscall(CheckNative.SysKcmp, pid, pid, 0 /* KCMP_FILE */, one.Fd, one.Fd);
        if (same < 0) return ProbeOutcome.Missing($"kcmp: {CheckNative.LastError()} (kernel without CONFIG_KCMP)");
        long different = Native.Syscall(CheckNative.SysKcmp, pid, pid, 0, one.Fd, two.Fd);
        return same == 0 && different > 0
            ? ProbeOutcome.Ok("same description 0, two opens of /dev/null differ")
            : ProbeOutcome.Missing($"kcmp gave {same} for one description and {different} for two");
    }
}
