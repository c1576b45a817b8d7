using System.Runtime.InteropServices;

namespace Cryo.Interop;

/// <summary>
/// A system call (local, or injected into a tracee) failed. Carries the call name, the errno,
/// its symbolic name and what it was applied to, so a log line alone explains the failure.
/// For a failed P/Invoke pass Marshal.GetLastPInvokeError() directly as the errno argument:
/// arguments evaluate left to right, so errno is captured before the context string is built.
/// Building text first can run runtime P/Invokes (e.g. globalization set-up) that overwrite
/// the thread's last P/Invoke error (seen here: a bogus errno 203).
/// </summary>
internal sealed class SysCallException : Exception
{
    public SysCallException(string call, int errno, string context)
        : base($"{call} failed on {context}: {ErrnoNames.Name(errno)} ({Marshal.GetPInvokeErrorMessage(errno)})")
    {
        Call = call;
        Errno = errno;
        Context = context;
    }

    /// <summary>The call, e.g. "ptrace(PTRACE_SEIZE)" or "mmap (injected)".</summary>
    public string Call { get; }

    public int Errno { get; }

    /// <summary>The symbolic errno name, e.g. "ESRCH".</summary>
    public string ErrnoName => ErrnoNames.Name(Errno);

    /// <summary>What the call was applied to, e.g. "pid 1234" or "fd 7 (/proc/1234/mem)".</summary>
    public string Context { get; }
}
