using System.Runtime.InteropServices;
using Cryo.Check;
using Cryo.Interop;
using Cryo.Resources;
using Cryo.Tracing;

namespace Cryo.Restore;

/// <summary>
/// Puts pages into fresh anonymous private memory of restored processes with UFFDIO_COPY. Each
/// process makes a userfaultfd itself (one injected call, so the fd belongs to its mm); cryo
/// takes a copy (pidfd_getfd) and the process closes its own at once, so its fd table never
/// shows it. An area is registered (missing mode) when it is mapped and unregistered when its
/// pages are in. UFFDIO_COPY allocates each page and copies into it in one step, without the
/// fault, the zeroing and the page-table walk of process_vm_writev: 2 GiB on two threads took
/// 0.6–1.1 s against 1.3–3.0 s here (docs/engine-memory.md). Where the kernel or a policy has no
/// userfaultfd (or CRYO_ASSUME_MISSING=uffd-copy), pages go in with process_vm_writev as before.
/// One instance per restore session (<see cref="RestoreSession.State{T}"/>), which disposes it.
/// </summary>
internal sealed class UffdFill : IDisposable
{
    // Areas with fewer stored bytes are not worth an ioctl pair (and small processes not the three calls of setting up).
    public const long FillAbove = 1 << 20;

    public const long UserfaultfdCall = 323;
    public const long UserfaultfdFlags = 0x80000 | 0x800; // O_CLOEXEC | O_NONBLOCK
    private const ulong UFFD_API = 0xAA;
    private const ulong UFFDIO_API = 0xC018AA3F, UFFDIO_REGISTER = 0xC020AA00, UFFDIO_UNREGISTER = 0x8010AA01, UFFDIO_COPY = 0xC028AA03;
    public const ulong RegisterMissing = 1, RegisterWriteProtect = 2; // UFFDIO_REGISTER_MODE_*
    private const ulong UFFDIO_COPY_MODE_DONTWAKE = 1;

    [StructLayout(LayoutKind.Sequential)]
    private struct UffdioApi { public ulong Api, Features, Ioctls; }

    [StructLayout(LayoutKind.Sequential)]
    private struct UffdioRegister { public ulong Start, Length, Mode, Ioctls; }

    [StructLayout(LayoutKind.Sequential)]
    private struct UffdioRange { public ulong Start, Length; }

    [StructLayout(LayoutKind.Sequential)]
    private struct UffdioCopy { public ulong Destination, Source, Length, Mode; public long Copied; }

    // cryo's copy of each process's userfaultfd; -1: the process has none to be had.
    private readonly Dictionary<int, int> _fds = [];

    /// <summary>
    /// Registers [<paramref name="start"/>, +<paramref name="length"/>) of a freshly mapped
    /// anonymous private area for UFFDIO_COPY; the fd to copy with, or -1 when it cannot be (then
    /// write the pages another way). On the tracer thread (it may inject calls).
    /// </summary>
    public unsafe int Register(RestoringProcess process, ulong start, ulong length)
    {
        if (!_fds.TryGetValue(process.Pid, out int fd)) _fds[process.Pid] = fd = Open(process);
        return fd >= 0 && RegisterRange(fd, start, length) ? fd : -1;
    }

    /// <summary>Ends the filling of a registered range: from now on a fault there is an ordinary fault again.</summary>
    public static unsafe void Unregister(int pid, int fd, ulong start, ulong length)
    {
        var range = new UffdioRange { Start = start, Length = length };
        if (Native.Ioctl(fd, UFFDIO_UNREGISTER, &range) != 0)
            throw new SysCallException("ioctl(UFFDIO_UNREGISTER)", Marshal.GetLastPInvokeError(), $"pid {pid}, {start:x}-{start + length:x}");
    }

    /// <summary>
    /// The UFFDIO_API handshake on a new userfaultfd, asking for <paramref name="features"/> (none
    /// for missing-page copies); the features the kernel grants, or null when it refuses.
    /// </summary>
    public static unsafe ulong? Handshake(int fd, ulong features = 0)
    {
        var api = new UffdioApi { Api = UFFD_API, Features = features };
        return Native.Ioctl(fd, UFFDIO_API, &api) == 0 ? api.Features : null;
    }

    /// <summary>Registers a range of the userfaultfd's process, for missing-page copies unless another <paramref name="mode"/> is given.</summary>
    public static unsafe bool RegisterRange(int fd, ulong start, ulong length, ulong mode = RegisterMissing)
    {
        var register = new UffdioRegister { Start = start, Length = length, Mode = mode };
        return Native.Ioctl(fd, UFFDIO_REGISTER, &register) == 0;
    }

    /// <summary>Closes cryo's copy of the process's userfaultfd (every range unregistered before).</summary>
    public void Release(int pid)
    {
        if (_fds.Remove(pid, out int fd) && fd >= 0) Native.Close(fd);
    }

    /// <summary>
    /// UFFDIO_COPY of <paramref name="length"/> bytes at <paramref name="local"/> to
    /// <paramref name="remote"/>, a registered range; any thread. Returns how many bytes from the
    /// start were copied: less when the kernel refused a page (e.g. one already there), and the
    /// caller writes the rest another way.
    /// </summary>
    public static unsafe long Copy(int fd, nint local, ulong remote, int length)
    {
        long done = 0;
        while (done < length)
        {
            var copy = new UffdioCopy
            {
                Destination = remote + (ulong)done, Source = (ulong)(local + (nint)done), Length = (ulong)(length - done), Mode = UFFDIO_COPY_MODE_DONTWAKE,
            };
            int result = Native.Ioctl(fd, UFFDIO_COPY, &copy);
            if (copy.Copied > 0) done += copy.Copied;
            if (result == 0) continue;
            if (Marshal.GetLastPInvokeError() == ErrnoNames.EAGAIN) continue; // the mappings changed meanwhile: go on from where it stopped
            break;
        }
        return done;
    }

    /// <summary>
    /// The process makes a userfaultfd, cryo takes a copy and the process closes its own; cryo's
    /// copy after the API handshake, or -1 (learned for later processes) when there is none.
    /// </summary>
    private static int Open(RestoringProcess process)
    {
        if (KernelFeatures.Current.UffdCopy == false) return -1;
        long made = process.Syscalls.Invoke(UserfaultfdCall, UserfaultfdFlags);
        if (made < 0)
        {
            if ((int)-made is ErrnoNames.ENOSYS or ErrnoNames.EPERM) Learn(false);
            return -1;
        }
        int fd = FdTransfer.FromProcess(process.Pid, (int)made);
        process.Syscalls.Checked($"close of the userfaultfd in pid {process.Pid}", SyscallNumbers.Close, made);
        if (fd < 0) return -1;
        if (Handshake(fd) is null)
        {
            Native.Close(fd);
            Learn(false);
            return -1;
        }
        return fd;
    }

    private static void Learn(bool works)
    {
        if (KernelFeatures.Current.UffdCopy != works) KernelFeatures.Learn(KernelFeatures.Current with { UffdCopy = works });
    }

    public void Dispose()
    {
        foreach (int fd in _fds.Values)
            if (fd >= 0) Native.Close(fd);
        _fds.Clear();
    }
}
