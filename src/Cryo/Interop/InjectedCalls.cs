namespace Cryo.Interop;

/// <summary>
/// x86-64 numbers of the system calls the file, signal, limit and identity kinds inject, and
/// the constants they pass. Kept apart from <see cref="SyscallNumbers"/> (groundwork) so each
/// kind's additions stay in files it owns.
/// </summary>
internal static class InjectedCalls
{
    public const long Chdir = 80, Chroot = 161, Umask = 95, Setgroups = 116, Setresuid = 117, Setresgid = 119,
        Setfsuid = 122, Setfsgid = 123, Capget = 125, Capset = 126, RtSigqueueinfo = 129,
        Personality = 135, RtTgsigqueueinfo = 297, Prlimit64 = 302, Lseek = 8, Openat = 257;

    /// <summary>POSIX timers (PosixTimers): made, read and set inside the process (they are the process's).</summary>
    public const long TimerCreate = 222, TimerSettime = 223, TimerGettime = 224, TimerDelete = 226, Prctl = 157;

    /// <summary>prctl(PR_TIMER_CREATE_RESTORE_IDS, ON/OFF): timer_create takes the id asked for in its third argument (Linux 6.16+).</summary>
    public const int PR_TIMER_CREATE_RESTORE_IDS = 77, PR_TIMER_CREATE_RESTORE_IDS_OFF = 0, PR_TIMER_CREATE_RESTORE_IDS_ON = 1;

    /// <summary>Per-thread state Threads checks is at its default: the NUMA memory policy and the machine-check kill policy.</summary>
    public const long GetMempolicy = 239;
    public const int PR_MCE_KILL_GET = 34, PR_MCE_KILL_DEFAULT = 2;

    /// <summary>epoll watches (EventPolls), added inside the process through its own numbers, and events already reported taken off its ready list.</summary>
    public const long EpollCtl = 233, EpollWait = 232;

    /// <summary>Memory advice (MemoryAdvice): madvise, mlock2 and their flags.</summary>
    public const long Madvise = 28, Mlock2 = 325, Mlockall = 151;
    public const int MADV_RANDOM = 1, MADV_SEQUENTIAL = 2, MADV_DONTFORK = 10, MADV_MERGEABLE = 12,
        MADV_HUGEPAGE = 14, MADV_NOHUGEPAGE = 15, MADV_DONTDUMP = 16, MADV_WIPEONFORK = 18, MADV_GUARD_INSTALL = 102, MLOCK_ONFAULT = 1,
        PR_SET_THP_DISABLE = 41, MCL_FUTURE = 2, MCL_ONFAULT = 4,
        PR_SET_MDWE = 65, PR_GET_MDWE = 66, PR_MDWE_REFUSE_EXEC_GAIN = 1, PR_MDWE_NO_INHERIT = 2,
        PR_SET_MEMORY_MERGE = 67, PR_GET_MEMORY_MERGE = 68;

    /// <summary>membarrier registrations (MemoryAdvice): the commands and the registrations each needs.</summary>
    public const long Membarrier = 324;
    public const int MEMBARRIER_CMD_GLOBAL_EXPEDITED = 2, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED = 4,
        MEMBARRIER_CMD_PRIVATE_EXPEDITED = 8, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED = 16,
        MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE = 32, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE = 64,
        MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ = 128, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ = 256,
        MEMBARRIER_CMD_GET_REGISTRATIONS = 512;

    public const int PR_SET_PDEATHSIG = 1, PR_GET_PDEATHSIG = 2, PR_GET_DUMPABLE = 3, PR_SET_DUMPABLE = 4,
        PR_GET_KEEPCAPS = 7, PR_SET_KEEPCAPS = 8, PR_SET_NAME = 15, PR_CAPBSET_DROP = 24,
        PR_GET_SECUREBITS = 27, PR_SET_SECUREBITS = 28, PR_SET_CHILD_SUBREAPER = 36,
        PR_GET_CHILD_SUBREAPER = 37, PR_SET_NO_NEW_PRIVS = 38, PR_GET_NO_NEW_PRIVS = 39,
        PR_CAP_AMBIENT = 47, PR_CAP_AMBIENT_RAISE = 2, PR_CAP_AMBIENT_CLEAR_ALL = 4;

    /// <summary>_LINUX_CAPABILITY_VERSION_3: two 32-bit words per set.</summary>
    public const uint CapabilityVersion3 = 0x20080522;

    /// <summary>struct sigaction as the kernel's rt_sigaction reads and writes it (x86-64).</summary>
    public const int KernelSigactionSize = 32, SigsetSize = 8;

    /// <summary>SA_RESTORER: glibc always sets it; the restorer address is part of the image.</summary>
    public const ulong SA_RESTORER = 0x04000000;
}
