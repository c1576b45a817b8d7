using System.Text;
using Cryo.Check;
using Cryo.Interop;
using Cryo.Restore;
using Cryo.Tracing;

namespace Cryo.Resources;

/// <summary>
/// The one place where a descriptor crosses between cryo and a traced process.
/// <para><see cref="Copy"/> gives a restoring process a copy of one of cryo's descriptors (Files,
/// Memory's file and shared mappings, the exe link). With pidfd_getfd: an injected
/// pidfd_open(cryo), kept per process until <see cref="Release"/>, then pidfd_getfd: the same open
/// file description. Without it (no such call, or a seccomp policy refuses it: ENOSYS or EPERM,
/// learned into <see cref="KernelFeatures"/> the way <see cref="RseqAccess"/> learns; or
/// CRYO_ASSUME_MISSING=pidfd_getfd): an injected openat("/proc/CRYO/fd/N") with the description's
/// flags, then its offset. That is a NEW description of the same file: what it loses is in
/// docs/engine-files.md. Either way the copy is close-on-exec at the lowest free number.</para>
/// <para><see cref="FromProcess"/> is the other direction (a pipe drain at checkpoint).</para>
/// </summary>
internal sealed class FdTransfer
{
    /// <summary>A copy made by the fallback: a new description, opened through <paramref name="Path"/>; its status flags and those of cryo's.</summary>
    internal sealed record Reopening(string Path, int StatusFlags, int OriginalFlags);

    private const long AtFdcwd = -100;

    private int _pidfd = -1;

    /// <summary>The pidfd never stays below this number (Files sets it to a number the image does not use).</summary>
    public int PidfdFloor { get; set; }

    /// <summary>The transfer state of <paramref name="process"/>.</summary>
    public static FdTransfer Of(RestoringProcess process) => process.State<FdTransfer>();

    /// <summary>
    /// A copy of cryo's <paramref name="local"/> inside <paramref name="process"/>; its number.
    /// <paramref name="reopened"/> is null when the copy is the very description, else what the
    /// fallback made (the caller knows whether that matters and warns). <paramref name="what"/>
    /// names pid, fd and file for errors.
    /// </summary>
    public int Copy(RestoringProcess process, int local, string what, out Reopening? reopened, bool reopenable = true)
    {
        int copied = ByPidfd(process, local, what);
        reopened = null;
        if (copied >= 0) return copied;
        if (!reopenable)
            throw new InvalidOperationException($"pid {process.Pid}: {what} can only be handed over by pidfd_getfd (Linux 5.6+), which this kernel lacks or a policy refuses");
        return Reopen(process, local, what, out reopened);
    }

    /// <summary>
    /// Closes the process's pidfd of cryo, if it has one. Unchecked, as it also runs on failure
    /// paths: a pidfd left open would fail Files' final check that the table is exactly the image's.
    /// </summary>
    public void Release(RestoringProcess process)
    {
        if (_pidfd >= 0) process.Syscalls.Invoke(SyscallNumbers.Close, _pidfd);
        _pidfd = -1;
    }

    /// <summary>
    /// A copy in cryo of fd <paramref name="fd"/> of <paramref name="pid"/> with its very open file
    /// description (pidfd_getfd), or -1 when the kernel or a policy does not allow that. There is no
    /// reopen fallback here: the one caller needs the process's O_DIRECT pipe end itself, and a pipe
    /// cannot be reopened with O_DIRECT.
    /// </summary>
    public static int FromProcess(int pid, int fd)
    {
        if (KernelFeatures.Current.PidfdGetfd == false) return -1;
        int handle;
        try { handle = Native.PidfdOpen(pid); }
        catch (SysCallException e) when (LearnMissing(e.Errno)) { return -1; }
        try
        {
            int copy = Native.PidfdGetFd(handle, fd);
            LearnPresent();
            return copy;
        }
        catch (SysCallException e) when (LearnMissing(e.Errno)) { return -1; }
        finally { Native.Close(handle); }
    }

    /// <summary>pidfd_getfd in the process, or -1 when the feature is (now known to be) missing.</summary>
    private int ByPidfd(RestoringProcess process, int local, string what)
    {
        if (KernelFeatures.Current.PidfdGetfd == false) return -1;
        var sys = process.Syscalls;
        if (_pidfd < 0)
        {
            long opened = sys.Invoke(SyscallNumbers.PidfdOpen, Environment.ProcessId, 0);
            if (opened < 0 && LearnMissing((int)-opened)) return -1;
            if (opened < 0) throw new SysCallException("pidfd_open(cryo) (injected)", (int)-opened, $"pid {process.Pid}, for {what}");
            _pidfd = (int)opened;
            if (_pidfd < PidfdFloor)
            {
                _pidfd = (int)sys.Checked($"fcntl(F_DUPFD_CLOEXEC) of the pidfd in pid {process.Pid}", SyscallNumbers.Fcntl, opened, Native.F_DUPFD_CLOEXEC, PidfdFloor);
                sys.Checked($"close in pid {process.Pid}", SyscallNumbers.Close, opened);
            }
        }
        long fd = sys.Invoke(SyscallNumbers.PidfdGetFd, _pidfd, local, 0);
        if (fd < 0 && LearnMissing((int)-fd))
        {
            Release(process);
            return -1;
        }
        if (fd < 0) throw new SysCallException($"pidfd_getfd of cryo's fd {local} (injected)", (int)-fd, $"pid {process.Pid}, for {what}");
        LearnPresent();
        return (int)fd;
    }

    /// <summary>
    /// The fallback: the process opens /proc/CRYO/fd/LOCAL itself, with the access mode and status
    /// flags of cryo's description, then seeks to its offset. The path goes to the finish-phase
    /// scratch page, or (while memory is still being restored and there is none) to a page mapped
    /// for this one call and unmapped at once, so no later area of the image can collide with it.
    /// </summary>
    private static int Reopen(RestoringProcess process, int local, string what, out Reopening reopened)
    {
        var sys = process.Syscalls;
        string path = $"/proc/{Environment.ProcessId}/fd/{local}";
        string context = $"{what}: reopening {path} (no pidfd_getfd)";
        int status = Native.FcntlOrThrow(local, Native.F_GETFL, 0, context);
        bool fifo = Native.Fstat(local, context).Type == FileStatus.S_IFIFO;
        // O_NOFOLLOW would refuse the magic link itself; O_ASYNC needs F_SETFL to take effect.
        int flags = status & ~(Native.O_CREAT | Native.O_TRUNC | Native.O_EXCL | Native.O_NOCTTY | Native.O_NOFOLLOW | Native.O_ASYNC);
        // A pipe cannot be opened O_DIRECT (EINVAL), and a FIFO open without O_NONBLOCK would wait
        // for a partner: open non-blocking, F_SETFL below sets what the description had.
        if (fifo) flags = flags & ~Native.O_DIRECT | Native.O_NONBLOCK;

        // A FIFO's write-only open fails (ENXIO) while no reader exists: cryo holds one meanwhile.
        int partner = fifo && (flags & Native.O_ACCMODE) == Native.O_WRONLY
            ? Native.OpenOrThrow($"/proc/self/fd/{local}", Native.O_RDONLY | Native.O_NONBLOCK | Native.O_CLOEXEC)
            : -1;
        ulong temporaryPage = 0;
        int fd;
        try
        {
            ulong address;
            if (process.Scratch is { } scratch) address = scratch.WriteCString(0, Encoding.ASCII.GetBytes(path));
            else
            {
                temporaryPage = sys.Mmap(0, (ulong)Environment.SystemPageSize, RemoteSyscall.PROT_READ | RemoteSyscall.PROT_WRITE,
                    RemoteSyscall.MAP_PRIVATE | RemoteSyscall.MAP_ANONYMOUS);
                process.Memory.Write(temporaryPage, Encoding.ASCII.GetBytes(path + "\0"));
                address = temporaryPage;
            }
            // O_NOCTTY: a terminal reopened by a session leader must not become its controlling terminal by the way.
            fd = (int)sys.Checked($"openat({path}) for {what}", InjectedCalls.Openat, AtFdcwd, (long)address, flags | Native.O_CLOEXEC | Native.O_NOCTTY, 0);
        }
        finally
        {
            if (temporaryPage != 0) sys.Munmap(temporaryPage, (ulong)Environment.SystemPageSize);
            if (partner >= 0) Native.Close(partner);
        }

        string where = $"{what}, reopened as fd {fd} in pid {process.Pid}";
        int now = (int)sys.Checked($"fcntl(F_GETFL) for {where}", SyscallNumbers.Fcntl, fd, Native.F_GETFL);
        if (((now ^ status) & Pipes.SettableFlags) != 0)
        {
            int wanted = (now & ~Pipes.SettableFlags) | (status & Pipes.SettableFlags);
            long set = sys.Invoke(SyscallNumbers.Fcntl, fd, Native.F_SETFL, wanted);
            // A kernel that refuses F_SETFL(O_DIRECT) on a pipe: the end loses packet mode, the caller sees it in the flags.
            if (set == -ErrnoNames.EINVAL && (wanted & Native.O_DIRECT) != 0)
                set = sys.Invoke(SyscallNumbers.Fcntl, fd, Native.F_SETFL, wanted & ~Native.O_DIRECT);
            if (set < 0) throw new SysCallException("fcntl(F_SETFL) (injected)", (int)-set, $"{where}, to 0{Convert.ToString(wanted, 8)}");
            now = (int)sys.Checked($"fcntl(F_GETFL) for {where}", SyscallNumbers.Fcntl, fd, Native.F_GETFL);
        }
        // Can still differ: O_LARGEFILE, which every open() adds on x86-64 but pipe2 does not; O_DIRECT on a pipe end.
        reopened = new Reopening(path, now, status);

        // Pipes, FIFOs and O_PATH descriptors have no offset (ESPIPE, EBADF); a new description starts at 0.
        long offset = Native.Lseek(local, 0, Native.SEEK_CUR);
        if (offset > 0)
        {
            long moved = sys.Checked($"lseek for {where}", InjectedCalls.Lseek, fd, offset, Native.SEEK_SET);
            if (moved != offset) throw new InvalidOperationException($"{where}: lseek to offset {offset} landed at {moved}");
        }
        return fd;
    }

    /// <summary>ENOSYS (no such call) or EPERM (a seccomp filter or an LSM refuses it): records pidfd_getfd as missing.</summary>
    private static bool LearnMissing(int errno)
    {
        if (errno is not (ErrnoNames.ENOSYS or ErrnoNames.EPERM)) return false;
        KernelFeatures.Learn(KernelFeatures.Current with { PidfdGetfd = false });
        return true;
    }

    private static void LearnPresent()
    {
        if (KernelFeatures.Current.PidfdGetfd is null) KernelFeatures.Learn(KernelFeatures.Current with { PidfdGetfd = true });
    }
}
