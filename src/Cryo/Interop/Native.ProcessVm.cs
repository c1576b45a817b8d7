using System.Runtime.InteropServices;

namespace Cryo.Interop;

internal static partial class Native
{
    /// <summary>Most iovecs one process_vm_readv call accepts (UIO_MAXIOV).</summary>
    public const int IovMax = 1024;

    [LibraryImport("libc", EntryPoint = "process_vm_readv", SetLastError = true)]
    public static unsafe partial nint ProcessVmReadv(int pid, IoVec* local, nuint localCount, IoVec* remote, nuint remoteCount, nuint flags);

    [LibraryImport("libc", EntryPoint = "process_vm_writev", SetLastError = true)]
    public static unsafe partial nint ProcessVmWritev(int pid, IoVec* local, nuint localCount, IoVec* remote, nuint remoteCount, nuint flags);
}

/// <summary>struct iovec.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoVec
{
    public ulong Base;
    public ulong Length;

    public IoVec(ulong @base, ulong length)
    {
        Base = @base;
        Length = length;
    }
}
