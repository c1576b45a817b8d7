using System.Runtime.InteropServices;

namespace Cryo.Interop;

internal static partial class Native
{
    /// <summary>signal(2), used only to put SIGCHLD back to SIG_DFL (0) at start-up.</summary>
    [LibraryImport("libc", EntryPoint = "signal", SetLastError = true)]
    public static partial nint SetSignalHandler(int signal, nint handler);

    public const nint SigDefault = 0;

    [LibraryImport("libc", EntryPoint = "getpid")]
    public static partial int GetPid();

    [LibraryImport("libc", EntryPoint = "isatty")]
    public static partial int IsATty(int fd);

    [LibraryImport("libc", EntryPoint = "personality", SetLastError = true)]
    private static partial int PersonalityRaw(uint persona);

    /// <summary>ADDR_NO_RANDOMIZE, ADDR_COMPAT_LAYOUT: personality flags that decide the address-space layout an exec sets up.</summary>
    public const uint ADDR_NO_RANDOMIZE = 0x0040000, ADDR_COMPAT_LAYOUT = 0x0200000;

    /// <summary>
    /// personality(2) of the calling thread (each thread has its own; 0xffffffff only asks):
    /// the previous value.
    /// </summary>
    public static uint Personality(uint persona, string context)
    {
        int previous = PersonalityRaw(persona);
        return previous != -1 ? (uint)previous : throw new SysCallException($"personality(0x{persona:x})", Marshal.GetLastPInvokeError(), context);
    }

    [LibraryImport("libc", EntryPoint = "uname", SetLastError = true)]
    private static unsafe partial int Uname(byte* buffer);

    /// <summary>The kernel release (uname -r), recorded in every checkpoint header.</summary>
    public static unsafe string KernelRelease()
    {
        // struct utsname: six fields of 65 bytes; release is the third.
        byte* buffer = stackalloc byte[6 * 65];
        if (Uname(buffer) != 0) throw new SysCallException("uname", Marshal.GetLastPInvokeError(), "this process");
        return Marshal.PtrToStringUTF8((nint)(buffer + 2 * 65))!;
    }
}
