using System.Runtime.InteropServices;

namespace Cryo.Interop;

internal static partial class Native
{
    public const int WNOHANG = 1, WUNTRACED = 2, WALL = 0x40000000;

    /// <summary>waitpid(2). Only on the Tracer thread for traced pids, always on a specific pid.</summary>
    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    public static partial int WaitPid(int pid, out int status, int options);
}

/// <summary>A decoded waitpid status of one pid.</summary>
internal readonly record struct WaitStatus(int Pid, int Raw)
{
    public const int SyscallTrapSignal = 5 | 0x80; // SIGTRAP | 0x80 with PTRACE_O_TRACESYSGOOD

    public bool Exited => (Raw & 0x7f) == 0;
    public int ExitCode => (Raw >> 8) & 0xff;
    public bool Signaled => (Raw & 0x7f) != 0 && (Raw & 0x7f) != 0x7f;
    public int TermSignal => Raw & 0x7f;
    public bool Stopped => (Raw & 0xff) == 0x7f;
    public int StopSignal => (Raw >> 8) & 0xff;

    /// <summary>PTRACE_EVENT_* of a ptrace event stop, else 0.</summary>
    public int Event => Stopped ? (Raw >> 16) & 0xff : 0;

    /// <summary>Group-stop or PTRACE_INTERRUPT stop of a seized tracee.</summary>
    public bool IsEventStop => Event == PtraceEvent.Stop;

    /// <summary>
    /// A seized tracee's group-stop (job control: SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU): also what
    /// PTRACE_INTERRUPT reports of a tracee that was already stopped by job control when seized.
    /// </summary>
    public bool IsGroupStop => IsEventStop && StopSignal != Signals.SIGTRAP;

    /// <summary>Interrupt stop (PTRACE_INTERRUPT, or a seized tracee's listen wake-up).</summary>
    public bool IsInterruptStop => IsEventStop && StopSignal == Signals.SIGTRAP;

    /// <summary>A signal-delivery stop: the signal is delivered unless the tracer suppresses it.</summary>
    public bool IsSignalDeliveryStop => Stopped && Event == 0 && StopSignal != SyscallTrapSignal;

    public bool Gone => Exited || Signaled;

    public override string ToString() =>
        Exited ? $"pid {Pid} exited with code {ExitCode}"
        : Signaled ? $"pid {Pid} killed by signal {Signals.Name(TermSignal)}"
        : IsEventStop ? $"pid {Pid} in event stop ({Signals.Name(StopSignal)})"
        : Event != 0 ? $"pid {Pid} in ptrace event {Event} stop"
        : StopSignal == SyscallTrapSignal ? $"pid {Pid} in syscall stop"
        : Stopped ? $"pid {Pid} in signal-delivery stop ({Signals.Name(StopSignal)})"
        : $"pid {Pid} status {Raw:#x}";
}
