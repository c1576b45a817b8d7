using System.Runtime.InteropServices;

namespace Cryo.Interop;

internal static partial class Native
{
    /// <summary>
    /// ptrace(2). Variadic in C, harmless on x86-64. Only call it from the Tracer thread:
    /// the kernel ties a tracee to the tracing thread and answers ESRCH to every other thread.
    /// </summary>
    [LibraryImport("libc", EntryPoint = "ptrace", SetLastError = true)]
    public static partial long Ptrace(int request, int pid, nint addr, nint data);
}

/// <summary>ptrace request numbers (x86-64).</summary>
internal static class PtraceRequest
{
    public const int PeekData = 2, PokeData = 5, Cont = 7, Kill = 8, SingleStep = 9,
        Detach = 17, Syscall = 24,
        SetOptions = 0x4200, GetEventMsg = 0x4201, GetSigInfo = 0x4202, SetSigInfo = 0x4203,
        GetRegSet = 0x4204, SetRegSet = 0x4205, Seize = 0x4206, Interrupt = 0x4207,
        Listen = 0x4208, PeekSigInfo = 0x4209, GetSigMask = 0x420a, SetSigMask = 0x420b,
        SeccompGetFilter = 0x420c, SeccompGetMetadata = 0x420d, GetSyscallInfo = 0x420e, GetRseqConfiguration = 0x420f;

    /// <summary>"ptrace(PTRACE_SEIZE)" etc., for error messages.</summary>
    public static string Describe(int request) => request switch
    {
        PeekData => "ptrace(PTRACE_PEEKDATA)",
        PokeData => "ptrace(PTRACE_POKEDATA)",
        Cont => "ptrace(PTRACE_CONT)",
        Kill => "ptrace(PTRACE_KILL)",
        SingleStep => "ptrace(PTRACE_SINGLESTEP)",
        Detach => "ptrace(PTRACE_DETACH)",
        Syscall => "ptrace(PTRACE_SYSCALL)",
        SetOptions => "ptrace(PTRACE_SETOPTIONS)",
        GetEventMsg => "ptrace(PTRACE_GETEVENTMSG)",
        GetSigInfo => "ptrace(PTRACE_GETSIGINFO)",
        SetSigInfo => "ptrace(PTRACE_SETSIGINFO)",
        GetRegSet => "ptrace(PTRACE_GETREGSET)",
        SetRegSet => "ptrace(PTRACE_SETREGSET)",
        Seize => "ptrace(PTRACE_SEIZE)",
        Interrupt => "ptrace(PTRACE_INTERRUPT)",
        Listen => "ptrace(PTRACE_LISTEN)",
        PeekSigInfo => "ptrace(PTRACE_PEEKSIGINFO)",
        GetSigMask => "ptrace(PTRACE_GETSIGMASK)",
        SetSigMask => "ptrace(PTRACE_SETSIGMASK)",
        SeccompGetFilter => "ptrace(PTRACE_SECCOMP_GET_FILTER)",
        SeccompGetMetadata => "ptrace(PTRACE_SECCOMP_GET_METADATA)",
        GetSyscallInfo => "ptrace(PTRACE_GET_SYSCALL_INFO)",
        GetRseqConfiguration => "ptrace(PTRACE_GET_RSEQ_CONFIGURATION)",
        _ => $"ptrace({request:#x})",
    };
}

/// <summary>PTRACE_O_* options given to PTRACE_SEIZE.</summary>
[Flags]
internal enum PtraceOptions : long
{
    None = 0,
    TraceSysGood = 0x1,
    TraceFork = 0x2,
    TraceVfork = 0x4,
    TraceClone = 0x8,
    TraceExec = 0x10,
    TraceVforkDone = 0x20,
    TraceExit = 0x40,
    TraceSeccomp = 0x80,
    /// <summary>Kernel kills the tracee if the tracer exits: for restores and tests; at checkpoint only during the clone of a snapshot (ForkSnapshot).</summary>
    ExitKill = 0x100000,
}

/// <summary>PTRACE_EVENT_* values found in bits 16..23 of a wait status.</summary>
internal static class PtraceEvent
{
    public const int Fork = 1, Vfork = 2, Clone = 3, Exec = 4, VforkDone = 5, Exit = 6,
        Seccomp = 7, Stop = 128;
}

/// <summary>ELF note types used with PTRACE_GETREGSET / SETREGSET.</summary>
internal static class RegSet
{
    public const int PrStatus = 1, X86XState = 0x202;
}
