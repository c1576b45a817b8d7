using System.Runtime.InteropServices;

namespace Cryo.Interop;

/// <summary>
/// The scheduler calls cryo makes on another task by its tid (root may: CAP_SYS_NICE). Raw system
/// calls rather than glibc's wrappers: sched_getaffinity's wrapper hides how many bytes the kernel
/// filled. Each wrapper throws <see cref="SysCallException"/> naming <c>context</c>.
/// </summary>
internal static partial class Native
{
    private const long SysSetpriority = 141, SysSchedSetscheduler = 144, SysSchedGetscheduler = 145,
        SysSchedSetaffinity = 203, SysSchedGetaffinity = 204, SysIoprioSet = 251, SysIoprioGet = 252;

    private const int IOPRIO_WHO_PROCESS = 1;

    /// <summary>ioprio_get(IOPRIO_WHO_PROCESS, tid): the I/O priority of one thread.</summary>
    public static int IoprioGet(int tid, string context)
    {
        long result = Syscall(SysIoprioGet, IOPRIO_WHO_PROCESS, tid);
        if (result < 0) throw new SysCallException("ioprio_get", Marshal.GetLastPInvokeError(), context);
        return (int)result;
    }

    /// <summary>ioprio_set(IOPRIO_WHO_PROCESS, tid, value).</summary>
    public static void IoprioSet(int tid, int value, string context)
    {
        if (Syscall(SysIoprioSet, IOPRIO_WHO_PROCESS, tid, value) < 0)
            throw new SysCallException("ioprio_set", Marshal.GetLastPInvokeError(), context);
    }

    public const int SCHED_DEADLINE = 6, SCHED_RESET_ON_FORK = 0x40000000, PRIO_PROCESS = 0;

    /// <summary>The policy of a task, with <see cref="SCHED_RESET_ON_FORK"/> or-ed in when it is set.</summary>
    public static int SchedGetScheduler(int tid, string context)
    {
        long result = Syscall(SysSchedGetscheduler, tid);
        if (result < 0) throw new SysCallException("sched_getscheduler", Marshal.GetLastPInvokeError(), context);
        return (int)result;
    }

    /// <summary>sched_setscheduler(tid, policy, {priority}); <paramref name="policy"/> may carry SCHED_RESET_ON_FORK.</summary>
    public static unsafe void SchedSetScheduler(int tid, int policy, int priority, string context)
    {
        int param = priority; // struct sched_param { int sched_priority; }
        if (Syscall(SysSchedSetscheduler, tid, policy, (long)&param) < 0)
            throw new SysCallException("sched_setscheduler", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>setpriority(PRIO_PROCESS, tid, nice): the nice value of one thread (of any policy).</summary>
    public static void SetNice(int tid, int nice, string context)
    {
        if (Syscall(SysSetpriority, PRIO_PROCESS, tid, nice) < 0)
            throw new SysCallException("setpriority", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>The CPUs a task may run on, as cpumask words without trailing zero words.</summary>
    public static unsafe ulong[] SchedGetAffinity(int tid, string context)
    {
        // Room for 8192 CPUs, the most x86-64 Linux is built for: the kernel fills cpumask_size() bytes.
        const int Words = 128;
        ulong* mask = stackalloc ulong[Words];
        long bytes = Syscall(SysSchedGetaffinity, tid, Words * sizeof(ulong), (long)mask);
        if (bytes < 0) throw new SysCallException("sched_getaffinity", Marshal.GetLastPInvokeError(), context);
        int used = (int)(bytes / sizeof(ulong));
        while (used > 0 && mask[used - 1] == 0) used--;
        return new ReadOnlySpan<ulong>(mask, used).ToArray();
    }

    /// <summary>Writes a value into a /proc file such as /proc/TID/timerslack_ns (open, one write, close).</summary>
    public static unsafe void WriteProcValue(string path, string value, string context)
    {
        int fd = Open(path, O_WRONLY | O_CLOEXEC, 0);
        if (fd < 0) throw new SysCallException("open", Marshal.GetLastPInvokeError(), $"{path} ({context})");
        try
        {
            byte[] text = System.Text.Encoding.ASCII.GetBytes(value);
            fixed (byte* bytes = text)
                if (Write(fd, bytes, (nuint)text.Length) != text.Length)
                    throw new SysCallException("write", Marshal.GetLastPInvokeError(), $"{path} ({context})");
        }
        finally
        {
            Close(fd);
        }
    }

    public static unsafe void SchedSetAffinity(int tid, ReadOnlySpan<ulong> words, string context)
    {
        fixed (ulong* mask = words)
            if (Syscall(SysSchedSetaffinity, tid, words.Length * sizeof(ulong), (long)mask) < 0)
                throw new SysCallException("sched_setaffinity", Marshal.GetLastPInvokeError(), context);
    }
}
