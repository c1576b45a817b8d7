using Cryo.Proc;

namespace Cryo.Tracing;

/// <summary>
/// Finds a "syscall" instruction (bytes 0f 05) in a tracee's [vdso], the place injected
/// syscalls execute from, so no code is ever written into the tracee. Look it up again
/// whenever the vDSO may have moved (after mremap of the vDSO at restore).
/// </summary>
internal static class SyscallSite
{
    public static ulong FindInVdso(int pid, RemoteMemory memory) => FindInVdso(memory, ProcMaps.Read(pid));

    public static ulong FindInVdso(RemoteMemory memory, IEnumerable<MemoryMapping> mappings)
    {
        var vdso = ProcMaps.Find(mappings, "[vdso]")
            ?? throw new InvalidOperationException($"pid {memory.Pid} has no [vdso] mapping to run injected syscalls from");
        var bytes = new byte[vdso.Length];
        memory.Read(vdso.Start, bytes);
        int index = bytes.AsSpan().IndexOf([(byte)0x0f, (byte)0x05]);
        if (index < 0)
            throw new InvalidOperationException($"no syscall instruction (0f 05) in the [vdso] of pid {memory.Pid} at {vdso.Start:x}");
        return vdso.Start + (ulong)index;
    }
}
