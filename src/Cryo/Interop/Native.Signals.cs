using System.Runtime.InteropServices;

namespace Cryo.Interop;

internal static partial class Native
{
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "sigfillset", SetLastError = true)]
    public static unsafe partial int SigFillSet(byte* set);

    [LibraryImport("libc", EntryPoint = "sigemptyset", SetLastError = true)]
    public static unsafe partial int SigEmptySet(byte* set);

    /// <summary>Sends a signal to one thread of a thread group.</summary>
    public static int TgKill(int tgid, int tid, int signal) =>
        (int)Syscall(SyscallNumbers.TgKill, tgid, tid, signal);
}

internal static class Signals
{
    public const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6,
        SIGBUS = 7, SIGFPE = 8, SIGKILL = 9, SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12,
        SIGPIPE = 13, SIGALRM = 14, SIGTERM = 15, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19,
        SIGTSTP = 20, SIGTTIN = 21, SIGTTOU = 22, SIGWINCH = 28;

    private static readonly string[] Names =
    [
        "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
        "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
        "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
        "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ];

    public static string Name(int signal) => signal switch
    {
        > 0 and < 32 => Names[signal],
        WaitStatus.SyscallTrapSignal => "SIGTRAP|0x80",
        >= 32 and <= 64 => $"SIGRT{signal - 32}",
        _ => $"signal {signal}",
    };

    /// <summary>Bit of a signal in a 64-bit kernel sigset (signal 1 is bit 0).</summary>
    public static ulong Bit(int signal) => 1UL << (signal - 1);
}
