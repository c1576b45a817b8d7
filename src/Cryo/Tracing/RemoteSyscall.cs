using Cryo.Interop;

namespace Cryo.Tracing;

/// <summary>
/// Injected syscalls into one stopped thread, bound to its tracer and syscall site, with
/// errno checking. Create it after the thread is stopped; rebuild it when the vDSO moves.
/// </summary>
internal sealed class RemoteSyscall(Tracer tracer, int tid, ulong syscallInstruction)
{
    // Linux returns -4095..-1 for errors; anything else (incl. large addresses) is a result.
    private const long MaxErrno = 4095;

    public const long PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    public const long MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
        MAP_FIXED_NOREPLACE = 0x100000;

    public int Tid => tid;
    public ulong SyscallInstruction => syscallInstruction;

    /// <summary>The raw result (negative errno on failure).</summary>
    public long Invoke(long number, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0) =>
        tracer.InjectSyscall(tid, syscallInstruction, new SyscallRequest(number, a1, a2, a3, a4, a5, a6));

    /// <summary>The result, or a SysCallException naming <paramref name="name"/> and the tid.</summary>
    public long Checked(string name, long number, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0)
    {
        long result = Invoke(number, a1, a2, a3, a4, a5, a6);
        if (result < 0 && result >= -MaxErrno)
            throw new SysCallException($"{name} (injected)", (int)-result, $"pid {tid}");
        return result;
    }

    /// <summary>
    /// Has this process reap its ended child <paramref name="child"/> (wait4 with WNOHANG and
    /// __WALL, which also sees children with an exit signal other than SIGCHLD); the raw result:
    /// the child's pid when it was reaped.
    /// </summary>
    public long Reap(int child) => Invoke(SyscallNumbers.Wait4, child, 0, Native.WNOHANG | Native.WALL, 0);

    public ulong Mmap(ulong address, ulong length, long protection, long flags, int fd = -1, long offset = 0) =>
        (ulong)Checked("mmap", SyscallNumbers.Mmap, (long)address, (long)length, protection, flags, fd, offset);

    public void Munmap(ulong address, ulong length) =>
        Checked("munmap", SyscallNumbers.Munmap, (long)address, (long)length);
}
